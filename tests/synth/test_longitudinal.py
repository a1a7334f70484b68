"""Longitudinal phantoms: damage only grows, some patients stay stable, visits are new acquisitions."""

import numpy as np

from sharpscore import schema
from sharpscore.evaluation.progression import (joint_change_kappa, progression_agreement, sdc_of_change,
                                               standardised_response_mean)
from sharpscore.synth.longitudinal import longitudinal_patient, progress_grades, total_of


def test_grades_never_fall_and_stay_within_the_scale():
    for seed in range(40):
        lp = longitudinal_patient(seed, visits=3)
        for a, b in zip(lp.visits, lp.visits[1:]):
            for region, sites in b.items():
                kind = schema.region_kind(region)
                for name, g in sites.items():
                    for m, v in g.items():
                        if v is not None:
                            assert a[region][name][m] <= v <= schema.site(kind, name).max_for(m)
        assert lp.change() >= 0


def test_a_mix_of_stable_and_progressing_patients():
    changes = [longitudinal_patient(seed).change() for seed in range(60)]
    stable = sum(c == 0 for c in changes)
    assert 10 <= stable <= 35 and max(changes) >= 3


def test_steps_land_where_real_patients_have_damage():
    rng = np.random.default_rng(0)
    healthy = {"RH": {s.name: {"erosion": 0 if s.erosion_max else None, "jsn": 0 if s.jsn_max else None}
                      for s in schema.HAND_SITES}}
    hits: dict[str, int] = {}
    for _ in range(300):
        g = progress_grades(healthy, rng, 1)
        for name, v in g["RH"].items():
            if (v["erosion"] or 0) + (v["jsn"] or 0):
                hits[name] = hits.get(name, 0) + 1
    assert total_of(progress_grades(healthy, rng, 4)) == 4
    # in the RA2-DREAM cohort the ulnar styloid and MCP/PIP joints are damaged far more often than the thumb IP
    assert hits.get("ulna", 0) + hits.get("mcp2", 0) > 3 * hits.get("ip", 0)


def test_same_person_new_acquisition():
    lp = longitudinal_patient(7)
    a, b = lp.render(0, "RH", spacing_mm=0.12), lp.render(1, "RH", spacing_mm=0.12)
    assert a.radiograph.source != b.radiograph.source
    dist = np.linalg.norm(np.array(a.landmarks["mcp2"]) - np.array(a.landmarks["mcp5"]))
    dist_b = np.linalg.norm(np.array(b.landmarks["mcp2"]) - np.array(b.landmarks["mcp5"]))
    assert abs(dist - dist_b) < 0.05 * dist  # the same hand


def test_progression_metrics():
    assert sdc_of_change([1, 2, 3, 4], [1, 2, 3, 4]) == 0
    assert sdc_of_change([0, 0, 0, 0], [1, -1, 1, -1]) == np.float64(1.96) * np.std([1, -1, 1, -1], ddof=1)
    agree = progression_agreement([0, 0, 2, 3, 0.5], [False, True, True, True, True])
    assert agree["sensitivity"] == 1.0 and agree["specificity"] == 0.5 and agree["stable"] == 2
    assert standardised_response_mean([1, 2, 3]) == 2.0
    assert joint_change_kappa([0, 1, 2], [0.1, 1.2, 1.9]) == 1.0
