"""A listener's taste learnt from feedback (pure logic)."""

import math

import pytest

from appliance.learn.taste import (
    MAX_LEVEL,
    Taste,
    directions_of,
    from_dict,
    in_force_levels,
    learn,
    to_dict,
)


def test_each_complaint_moves_its_axis_one_step_and_no_further_than_the_limit():
    taste = Taste()
    for _ in range(2):
        taste = learn(taste, "too_fast")
    taste = learn(taste, "too_loud")
    taste = learn(taste, "too_staccato")
    assert (taste.tempo, taste.dynamics, taste.articulation, taste.feedback) == (-2, -1, -1, 4)
    assert dict(directions_of(taste)) == {"allegro": -1.0, "p": 0.5, "legato": 0.5}
    for _ in range(20):
        taste = learn(taste, "too_slow")
    assert taste.tempo == MAX_LEVEL


def test_like_follows_and_dislike_leaves_what_was_in_force():
    doing = [("adagio", 0.5), ("p", 0.5)]
    assert in_force_levels(doing) == {"tempo": -1.5, "dynamics": -1.0, "articulation": 0.0}
    liked = Taste()
    for _ in range(10):
        liked = learn(liked, "like", doing)
    assert math.isclose(liked.tempo, -1.5, rel_tol=0.05) and liked.articulation == 0
    disliked = learn(Taste(), "dislike", doing)
    assert disliked.tempo > 0 and disliked.dynamics > 0
    assert learn(Taste(), "dislike").neutral  # nothing in force: nothing to learn
    assert learn(Taste(), "what?") == Taste()


def test_a_neutral_taste_plays_nothing_and_stored_tastes_are_read_safely():
    assert directions_of(Taste()) == () and Taste().neutral
    taste = learn(learn(Taste(), "too_soft"), "too_legato")
    assert from_dict(to_dict(taste)) == taste
    assert from_dict("junk") == Taste()
    assert from_dict({"tempo": "fast"}) == Taste()
    odd = from_dict({"tempo": float("nan"), "dynamics": 1e9, "feedback": -3})
    assert (odd.tempo, odd.dynamics, odd.feedback) == (0.0, MAX_LEVEL, 0)


def test_a_complaint_the_other_way_halves_the_step_so_the_taste_settles():
    taste = learn(Taste(), "too_fast")  # −1
    taste = learn(taste, "too_slow")  # overshot: +0.5
    taste = learn(taste, "too_fast")  # −0.25
    taste = learn(taste, "too_fast")  # same way: still 0.25 a step
    assert taste.tempo == -1.0 + 0.5 - 0.25 - 0.25 and taste.steps[0] == 0.25
    assert from_dict(to_dict(taste)) == taste
    for _ in range(10):
        taste = learn(learn(taste, "too_slow"), "too_fast")
    assert taste.steps[0] == 0.25 and abs(taste.tempo) <= 1.0  # never swings wider
    assert taste.steps[1:] == (1.0, 1.0)  # the other axes keep their step


def test_a_like_moves_the_style_towards_what_played_and_a_dislike_away():
    from appliance.learn.taste import LIKE_RATE, MAX_STYLE

    playing = [1.0, -0.5, 0.0, 0.25]
    liked = learn(Taste(), "like", (), playing)  # nothing in force: the style still learns
    assert liked.style == pytest.approx([LIKE_RATE * v for v in playing])
    assert liked.has_style and not liked.neutral and liked.levels() == Taste().levels()
    again = learn(liked, "like", (), playing)
    assert abs(again.style[0] - 1.0) < abs(liked.style[0] - 1.0)  # closer each time
    away = learn(Taste(), "dislike", (), playing)
    assert away.style == pytest.approx([-LIKE_RATE * v for v in playing])
    assert learn(Taste(), "too_fast", (), playing).style == ()  # complaints move the axes only
    big = Taste(style=(0.0,) * 4)
    for _ in range(50):
        big = learn(big, "like", (), [100.0, 100.0, 0.0, 0.0])
    assert math.hypot(*big.style) <= MAX_STYLE + 1e-9  # bounded
    assert from_dict(to_dict(again)).style == pytest.approx(again.style, abs=1e-4)
    assert from_dict({**to_dict(again), "style": ["x"]}) == Taste()  # damaged: neutral
    assert from_dict({**to_dict(again), "style": [1e9, 0.0]}).style == ()  # too long: dropped
    assert learn(Taste(), "like", (), [float("nan"), 1.0]).style == (0.0, LIKE_RATE)
