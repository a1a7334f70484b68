import numpy as np

from sharpscore.synth.anatomy import build_anatomy, full_grades


def _offset(seed, jsn):
    grades = {k: {m: v or 0 for m, v in g.items()} for k, g in full_grades("hand", {"mcp2": (0, jsn)}).items()}
    a = build_anatomy("hand", grades, np.random.default_rng(seed))
    p1 = a.named["p1_2"]
    axis = a.joint_axes["mcp2"]
    rel = p1.base - a.landmarks["mcp2"]
    return abs(rel @ np.array([-axis[1], axis[0]]))


def test_jsn4_can_subluxate_and_lower_grades_do_not():
    assert all(_offset(s, 3) < 1e-6 for s in range(10))
    shifted = [_offset(s, 4) for s in range(10)]
    assert any(o > 1.0 for o in shifted) and any(o < 1e-6 for o in shifted)


def test_full_grades_accepts_both_spellings():
    a = full_grades("foot", {"mtp1": (10, 4), "ip": {"erosion": 2}})
    assert a["mtp1"] == {"erosion": 10, "jsn": 4} and a["ip"] == {"erosion": 2, "jsn": 0}
    assert a["mtp5"] == {"erosion": 0, "jsn": 0}
    h = full_grades("hand", None)
    assert h["ip"]["jsn"] is None and h["radcar"]["erosion"] is None
