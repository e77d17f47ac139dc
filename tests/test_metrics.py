import numpy as np
import pytest

from appliance.render.expression import EXPRESSION_DTYPE
from export.metrics import average, compare, mae, pearson, shared_notes


def test_known_answers():
    assert mae(np.array([1, 2, 3]), np.array([2, 2, 5])) == pytest.approx(1.0)
    assert pearson(np.array([1, 2, 3, 4]), np.array([2, 4, 6, 8])) == pytest.approx(1.0)
    assert pearson(np.array([1, 2, 3, 4]), np.array([8, 6, 4, 2])) == pytest.approx(-1.0)
    assert pearson(np.array([1, 2, 3, 4]), np.array([5, 5, 5, 5])) == 0.0
    x = np.array([1.0, 2.0, 4.0, 3.0, 0.0])
    y = np.array([0.5, 2.5, 3.0, 3.5, 1.0])
    assert pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])


def test_compare_and_average():
    a = np.zeros(4, EXPRESSION_DTYPE)
    b = np.zeros(4, EXPRESSION_DTYPE)
    a["velocity"] = [10, 20, 30, 40]
    b["velocity"] = [12, 22, 32, 42]
    m = compare(a, b)
    assert m["velocity"] == {"mae": 2.0, "r": pytest.approx(1.0)}
    assert m["timing"]["r"] == 0.0
    avg = average([m, compare(a, a)])
    assert avg["velocity"]["mae"] == pytest.approx(1.0)


def test_shared_notes_match_by_id():
    ia, ib = shared_notes(np.array(["a", "b", "c"]), np.array(["c", "x", "a"]))
    assert list(ia) == [0, 2] and list(ib) == [2, 0]
