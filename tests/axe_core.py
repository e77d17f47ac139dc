"""axe-core, Deque's accessibility rules engine from the npm registry, for the browser tests only:
pinned by version and checksum, fetched with ``npm pack`` into ``build/axe-core/`` by the
Makefile's development install (``python -m tests.axe_core``) or by the first test that needs
it. The box never serves it; the tests put it into the pages they audit."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from appliance.paths import REPO_ROOT

VERSION = "4.14.1"
SHA256 = "e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745"  # the .tgz
FOLDER = REPO_ROOT / "build" / "axe-core" / VERSION


def install() -> Path:
    """The path of ``axe.min.js``, fetched and checked first if it is not there yet."""
    target = FOLDER / "axe.min.js"
    if target.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is missing: `make install-dev` installs it (Debian's npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [npm, "pack", f"axe-core@{VERSION}", "--silent"],
            cwd=tmp, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        archive = Path(tmp) / f"axe-core-{VERSION}.tgz"
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != SHA256:
            raise RuntimeError(f"axe-core {VERSION} has checksum {digest}, expected {SHA256}")
        with tarfile.open(archive) as tar:
            member = tar.extractfile("package/axe.min.js")
            if member is None:
                raise RuntimeError(f"axe-core {VERSION} has no axe.min.js")
            source = member.read()
    FOLDER.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(source)
    partial.replace(target)
    return target


if __name__ == "__main__":
    print(install())
