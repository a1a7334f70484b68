import csv
import random

import pytest

from sharpscore import schema
from sharpscore.errors import SchemaError

# The exact list of the RA2-DREAM challenge's per-joint columns for one side (shared/data README).
HAND_EROSION = ["mcp_E__ip", *[f"pip_E__{d}" for d in range(2, 6)], *[f"mcp_E__{d}" for d in range(1, 6)],
                "wrist_E__mc1", "wrist_E__mul", "wrist_E__nav", "wrist_E__lunate", "wrist_E__radius", "wrist_E__ulna"]
HAND_JSN = [*[f"pip_J__{d}" for d in range(2, 6)], *[f"mcp_J__{d}" for d in range(1, 6)],
            "wrist_J__cmc3", "wrist_J__cmc4", "wrist_J__cmc5", "wrist_J__mna", "wrist_J__capnlun", "wrist_J__radcar"]
FOOT_EROSION = ["mtp_E__ip", *[f"mtp_E__{d}" for d in range(1, 6)]]
FOOT_JSN = ["mtp_J__ip", *[f"mtp_J__{d}" for d in range(1, 6)]]


def test_maxima():
    assert schema.MAX_EROSION == 280
    assert schema.MAX_JSN == 168
    assert schema.MAX_TOTAL == 448
    assert schema.region_max("LH", "erosion") == 80 and schema.region_max("RF", "erosion") == 60
    assert schema.region_max("RH", "jsn") == 60 and schema.region_max("LF", "jsn") == 24


def test_site_counts_and_ranges():
    hand, foot = schema.sites("hand"), schema.sites("foot")
    assert sum(s.scores_erosion for s in hand) == 16 and sum(s.scores_jsn for s in hand) == 15
    assert sum(s.scores_erosion for s in foot) == 6 and sum(s.scores_jsn for s in foot) == 6
    assert {s.erosion_max for s in hand if s.scores_erosion} == {5}
    assert {s.erosion_max for s in foot} == {10}
    assert {s.jsn_max for s in (*hand, *foot) if s.scores_jsn} == {4}
    assert not schema.site("LH", "ip").scores_jsn  # thumb IP: erosion only
    assert all(s.long_name for s in (*hand, *foot))
    assert schema.site("RH", "mna").long_name.startswith("multangular-navicular")


def test_landmarks():
    lh = schema.landmarks("LH")
    assert len(lh) == len(set(lh)) == 26
    assert {f"dip{d}" for d in range(2, 6)} <= set(lh)
    assert {s.name for s in schema.sites("hand")} <= set(lh)
    assert schema.landmarks("RF") == ("ip", "mtp1", "mtp2", "mtp3", "mtp4", "mtp5")


def test_columns_match_challenge_layout():
    expected = set()
    for region in ("LH", "RH"):
        expected |= {f"{region}_{c}" for c in HAND_EROSION + HAND_JSN}
    for region in ("LF", "RF"):
        expected |= {f"{region}_{c}" for c in FOOT_EROSION + FOOT_JSN}
    assert len(schema.RA2_JOINT_COLUMNS) == 86
    assert set(schema.RA2_JOINT_COLUMNS) == expected
    assert len(schema.RA2_COLUMNS) == 90
    assert schema.RA2_COLUMNS[:4] == ("Patient_ID", "Overall_Tol", "Overall_erosion", "Overall_narrowing")
    assert schema.ra2_column("LH", "capnlun", "jsn") == "LH_wrist_J__capnlun"
    assert schema.parse_ra2_column("RF_mtp_J__3") == ("RF", "mtp3", "jsn")
    assert schema.parse_ra2_column("LH_mcp_E__ip") == ("LH", "ip", "erosion")


def _random_records(rng):
    records = []
    for region in schema.REGIONS:
        for s in schema.sites(region):
            records.append(schema.JointRecord(
                region, s.name,
                rng.randint(0, s.erosion_max) if s.scores_erosion else None,
                rng.randint(0, s.jsn_max) if s.scores_jsn else None))
    return records


def test_round_trip_records_row_records():
    rng = random.Random(0)
    for _ in range(20):
        records = _random_records(rng)
        row = schema.records_to_ra2_row("P1", records)
        assert list(row) == list(schema.RA2_COLUMNS)
        assert row["Overall_Tol"] == row["Overall_erosion"] + row["Overall_narrowing"]
        pid, back = schema.ra2_row_to_records(row)
        assert pid == "P1"
        assert back == records


def test_round_trip_csv_is_byte_identical(tmp_path):
    rng = random.Random(1)
    rows = [schema.records_to_ra2_row(f"{i:04d}", _random_records(rng)) for i in range(5)]
    first = schema.write_ra2_csv(tmp_path / "a.csv", rows)
    again = schema.write_ra2_csv(tmp_path / "b.csv", schema.read_ra2_csv(first))
    assert first.read_bytes() == again.read_bytes()


def test_out_of_range_and_unknown_are_named():
    with pytest.raises(SchemaError, match="LH mcp2 erosion.*0-5"):
        schema.JointRecord("LH", "mcp2", erosion=6)
    with pytest.raises(SchemaError, match="does not score jsn"):
        schema.JointRecord("LH", "ip", jsn=1)
    with pytest.raises(SchemaError, match="unknown LH site 'dip2'"):
        schema.JointRecord("LH", "dip2", erosion=0)
    with pytest.raises(SchemaError, match="unknown region"):
        schema.sites("XX")
    row = schema.records_to_ra2_row("P", _random_records(random.Random(2)))
    bad = dict(row, RF_mtp_E__3=11, Overall_erosion=None, Overall_Tol=None)
    with pytest.raises(SchemaError, match="RF_mtp_E__3.*0-10"):
        schema.validate_ra2_row(bad)
    with pytest.raises(SchemaError, match="LH_bogus"):
        schema.validate_ra2_row(dict(row, LH_bogus=1))
    with pytest.raises(SchemaError, match="Overall_Tol"):
        schema.validate_ra2_row(dict(row, Overall_Tol=row["Overall_Tol"] + 1))
    missing = dict(row)
    del missing["LH_wrist_J__radcar"]
    with pytest.raises(SchemaError, match="missing.*LH_wrist_J__radcar"):
        schema.validate_ra2_row(missing)


def test_csv_errors_name_file_line_and_column(tmp_path):
    row = schema.records_to_ra2_row("7", _random_records(random.Random(3)))
    row["LF_mtp_J__ip"] = 9
    row["Overall_narrowing"] = row["Overall_Tol"] = None
    path = schema.write_ra2_csv(tmp_path / "t.csv", [row])
    with pytest.raises(SchemaError, match=r"t\.csv, line 2: .*LF_mtp_J__ip"):
        schema.read_ra2_csv(path)
    with open(tmp_path / "u.csv", "w", newline="") as fh:
        csv.writer(fh).writerow([*schema.RA2_COLUMNS, "sex"])
    with pytest.raises(SchemaError, match="unknown RA2-DREAM column.*sex"):
        schema.read_ra2_csv(tmp_path / "u.csv")
    assert schema.read_ra2_csv(tmp_path / "u.csv", extra_columns=["sex"]) == []


def test_prediction_rows_accept_fractions():
    row = schema.records_to_ra2_row("P", [schema.JointRecord("LH", "mcp2", 1.25, 0.5)])
    clean = schema.validate_ra2_row(row, require_all=True)
    assert clean["LH_mcp_E__2"] == 1.25 and clean["Overall_Tol"] == 1.75



def _table(tmp_path, edit):
    rows = [schema.records_to_ra2_row(f"P{i}", [schema.JointRecord("LH", "mcp2", i % 3, 1)]) for i in range(3)]
    path = schema.write_ra2_csv(tmp_path / "t.csv", [{c: (0 if v is None else v) for c, v in r.items()} for r in rows])
    lines = path.read_text().splitlines()
    cells = lines[2].split(",")
    edit(cells)
    lines[2] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_blank_total_of_fully_scored_joints_is_their_sum(tmp_path):
    """Found by `python bench/fuzz.py --target tables`: a blank Overall_Tol crashed evaluate."""
    def blank_totals(cells):
        cells[1] = cells[2] = cells[3] = ""

    rows = schema.read_ra2_csv(_table(tmp_path, blank_totals))
    assert rows[1]["Overall_Tol"] == rows[1]["Overall_erosion"] + rows[1]["Overall_narrowing"] == 2.0


def test_malformed_rows_give_one_short_line(tmp_path):
    def extra_field(cells):
        cells[10] = "1,2"

    with pytest.raises(SchemaError, match="more fields than the header"):
        schema.read_ra2_csv(_table(tmp_path, extra_field))

    def long_garbage(cells):
        cells[10] = "x" * 5000

    with pytest.raises(SchemaError) as err:
        schema.read_ra2_csv(_table(tmp_path, long_garbage))
    assert len(str(err.value)) < 200 and "5000 characters" in str(err.value)


def test_hand_as_foot_relabels_homologous_joints_on_the_same_side():
    lm = {"mcp1": (1, 2), "ip": (3, 4), "mcp5": (5, 6), "pip2": (7, 8), "radius": (9, 9)}
    foot, region = schema.hand_as_foot(lm, "RH")
    assert region == "RF"
    assert foot == {"mtp1": (1, 2), "ip": (3, 4), "mtp5": (5, 6)}
    assert set(schema.FOOT_HOMOLOGUES) == set(schema.FOOT_LANDMARKS)
    with pytest.raises(SchemaError, match="hand region"):
        schema.hand_as_foot(lm, "LF")
