"""The box's memory (SQLite): what it played, and what people said, showed and asked for.

- :mod:`.rows`: the row types (frozen dataclasses, checked when made); :mod:`.codec` maps them
  to columns, :mod:`.arrays` stores float32 arrays;
- :mod:`.schema`: the tables as numbered migrations (``PRAGMA user_version``);
- :mod:`.connection`: opening the file (WAL, synchronous=FULL, foreign keys), the checks on
  opening, setting a damaged file aside;
- :mod:`.writer`: the one writer thread and its bounded queue; :mod:`.store`: the API;
- :mod:`.retention`, :mod:`.forget`, :mod:`.archive`, :mod:`.merge`: keeping it within limits,
  erasing people, exporting and importing; :mod:`.cli`: ``appliance data``.

The store is the lowest layer: it imports nothing of the engine, the phones' server or the
renderer.
"""

from appliance.store.errors import DamagedStore, NewerStore, StoreError
from appliance.store.rows import (
    ROOM,
    AudioClipRow,
    DirectionRow,
    FaceReadingRow,
    FeedbackRow,
    ModelVersionRow,
    PerformanceRow,
    PieceRow,
    ProfileRow,
    Row,
    SessionRow,
    TasteRow,
    UtteranceRow,
    new_id,
)
from appliance.store.settings import StoreSettings, store_path
from appliance.store.store import Opening, Store, open_store

__all__ = [
    "ROOM",
    "AudioClipRow",
    "DamagedStore",
    "DirectionRow",
    "FaceReadingRow",
    "FeedbackRow",
    "ModelVersionRow",
    "NewerStore",
    "Opening",
    "PerformanceRow",
    "PieceRow",
    "ProfileRow",
    "Row",
    "SessionRow",
    "Store",
    "StoreError",
    "StoreSettings",
    "TasteRow",
    "UtteranceRow",
    "new_id",
    "open_store",
    "store_path",
]
