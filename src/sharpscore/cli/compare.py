"""``sharpscore compare``: an adjudication list of a reader against the model, or two readers."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="where a reader's grades fall outside the model's prediction sets",
                       description="Compare a reader's scores (RA2-DREAM layout) with the per-joint prediction "
                                   "sets of a `sharpscore score` results folder (--pred), or with a second "
                                   "reader (--reader2). Writes adjudication.csv (the disagreements), summary.json "
                                   "and adjudication.png into --out.")
    p.add_argument("--reader", required=True, help="the reader's scores (training.csv layout)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--pred", metavar="RESULTS_DIR", help="the --out folder of `sharpscore score`")
    g.add_argument("--reader2", metavar="CSV", help="a second reader's scores")
    p.add_argument("--tolerance", type=int, default=1, help="reader vs reader: grades further apart are listed")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=run)


def _figure(rows: list[dict], path, title: str) -> None:
    from collections import Counter

    from matplotlib.figure import Figure

    counts = Counter(f"{r['site']}:{r['measure'][0].upper()}" for r in rows)
    names = [n for n, _ in counts.most_common(25)]
    fig = Figure(figsize=(max(6, 0.35 * len(names) + 2), 3.6))
    ax = fig.subplots()
    ax.bar(range(len(names)), [counts[n] for n in names], color="tab:red")
    ax.set_xticks(range(len(names)), names, rotation=70, fontsize=7)
    ax.set_ylabel("disagreements")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def run(args: argparse.Namespace) -> int:
    import csv
    import io
    import json
    from pathlib import Path

    from .. import schema
    from .._fsutil import atomic_write_text
    from ..evaluation.adjudication import adjudication_list, load_results, reader_vs_reader

    reader = schema.read_ra2_csv(args.reader, require_all=False, check_totals=False)
    if args.pred:
        res = adjudication_list(reader, load_results(args.pred))
        rows = [r for r in res["rows"] if r["outside_set"]]
        s = res["summary"]
        line = (f"{s['grades_compared']} reader grades: {100 * (s['inside_model_set'] or 0):.1f}% inside the model's "
                f"prediction sets; {s['outside_model_set']} outside, in {s['patients_with_outside']} patients")
        title = "reader grades outside the model's prediction set (research use)"
    else:
        res = reader_vs_reader(reader, schema.read_ra2_csv(args.reader2, require_all=False, check_totals=False),
                               tolerance=args.tolerance)
        rows, s = res["rows"], res["summary"]
        line = f"{s['disagreements']} joint grades more than {s['tolerance']} apart; QWK {s['qwk']}"
        title = f"reader disagreements > {args.tolerance} grade"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow({k: schema.csv_text(";".join(map(str, v)) if isinstance(v, list) else str(v))
                        for k, v in r.items()})
    atomic_write_text(out / "adjudication.csv", buf.getvalue())
    atomic_write_text(out / "summary.json", json.dumps(s, indent=1) + "\n")
    _figure(rows, out / "adjudication.png", title)
    print(line)
    print(f"wrote {out}/adjudication.csv, summary.json, adjudication.png")
    return 0
