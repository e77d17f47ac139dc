"""Unpack the shared training archives into the cache, once, after checking their checksums."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

from rich.progress import Progress

from appliance.errors import ApplianceError
from appliance.paths import cache_dir, file_sha256, shared_data_dir

ARCHIVES = ("asap.tar.xz", "batik.tar.xz")


def expected_checksums(shared: Path) -> dict[str, str]:
    sums = shared / "SHA256SUMS"
    if not sums.exists():
        raise ApplianceError(f"{sums} is missing: is {shared} the shared data folder?")
    out = {}
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[1].lstrip("*")] = parts[0]
    return out


def extract(shared: Path | None = None, cache: Path | None = None, quiet: bool = False) -> Path:
    """Return the folder holding ``asap/`` and ``batik/``, extracting it if needed."""
    shared = shared or shared_data_dir()
    sums = expected_checksums(shared)
    missing = [a for a in ARCHIVES if a not in sums]
    if missing:
        raise ApplianceError(f"{shared / 'SHA256SUMS'} lists no checksum for {', '.join(missing)}")
    tag = hashlib.sha1("".join(sums[a] for a in ARCHIVES).encode()).hexdigest()[:12]
    target = (cache or cache_dir()) / "data" / tag
    marker = target / ".complete"
    if marker.exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in ARCHIVES:
        archive = shared / name
        if not archive.exists():
            raise ApplianceError(f"{archive} is missing")
        if file_sha256(archive) != sums[name]:
            raise ApplianceError(f"{archive} does not match its checksum in SHA256SUMS")
        with tarfile.open(archive, "r:xz") as tar, Progress(disable=quiet) as progress:
            members = tar.getmembers()
            task = progress.add_task(f"unpacking {name}", total=len(members))
            for member in members:
                tar.extract(member, target, filter="data")
                progress.advance(task)
    marker.write_text(tag + "\n")
    return target
