"""Rows to SQLite columns and back: JSON fields as text, arrays as a BLOB plus its shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from appliance.store import arrays
from appliance.store.rows import Row

R = TypeVar("R", bound=Row)


def columns_of(cls: type[Row]) -> list[str]:
    """The table's columns for ``cls``, in field order (an array adds ``<name>_shape``)."""
    out = []
    for f in fields(cls):  # type: ignore[arg-type]
        out.append(f.name)
        if f.name in cls.ARRAYS:
            out.append(f"{f.name}_shape")
    return out


def to_columns(row: Row) -> dict[str, Any]:
    """The column values that store ``row``."""
    out: dict[str, Any] = {}
    for f in fields(row):  # type: ignore[arg-type]
        value = getattr(row, f.name)
        if f.name in row.ARRAYS:
            blob, shape = (None, None) if value is None else arrays.encode(value)
            out[f.name], out[f"{f.name}_shape"] = blob, shape
        elif f.name in row.JSON:
            out[f.name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        elif isinstance(value, bool):
            out[f.name] = int(value)
        else:
            out[f.name] = value
    return out


def from_columns(cls: type[R], values: Mapping[str, Any]) -> R:
    """The row stored as ``values`` (checked as any new row is: ``ValueError`` if bad)."""
    kwargs: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        value = values[f.name]
        if f.name in cls.ARRAYS:
            if value is not None:
                value = arrays.decode(bytes(value), values[f"{f.name}_shape"])
        elif f.name in cls.JSON:
            value = json.loads(value)
        elif f.type in ("bool", bool):
            value = bool(value)
        kwargs[f.name] = value
    return cls(**kwargs)
