"""Layering checks from the source (every import counted, also those inside functions)."""

import ast
import collections
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "sharpscore"


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "sharpscore"


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = collections.defaultdict(set)
    for f in ROOT.rglob("*.py"):
        rel = f.relative_to(ROOT.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        package = module if f.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(f.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    stem = ".".join(base + ([node.module] if node.module else []))
                    targets = [stem] if node.module else [f"{stem}.{a.name}" for a in node.names]
                else:
                    targets = [node.module or ""]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                if t.startswith("sharpscore.") and _unit(t) != _unit(module):
                    edges[_unit(module)].add(_unit(t))
    return edges


def test_named_edges_are_gone():
    edges = _edges()
    assert "localize" not in edges["scoring"], "scoring reaches into the localiser (use sharpscore.resample)"
    assert "synth" not in edges["localize"], "the localiser imports the phantom generator"


def test_no_import_cycles_between_subpackages():
    edges = _edges()
    nodes = set(edges) | {m for targets in edges.values() for m in targets}

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for m in edges.get(todo.pop(), ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        return seen

    cycles = sorted(n for n in nodes if n in reachable(n))
    assert not cycles, f"subpackages in an import cycle: {cycles}"


def test_networks_do_not_import_the_workflows_that_train_them():
    edges = _edges()
    for low in ("localize", "scoring", "calibration"):
        assert not edges.get(low, set()) & {"training", "models", "api", "cli"}, (low, edges.get(low))


def test_leaf_modules_stay_leaves():
    edges = _edges()
    allowed = {"spatial": {"schema"}, "resample": {"spatial"}, "jsw": {"schema", "spatial"},
               "shape_model": set(), "_threads": {"errors"}, "flags": {"schema"}}
    for leaf, ok in allowed.items():
        assert edges.get(leaf, set()) <= ok, (leaf, edges.get(leaf))


def test_spacing_is_indexed_only_in_the_spatial_layer():
    bad = []
    for f in ROOT.rglob("*.py"):
        if f.name == "spatial.py":
            continue
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if "spacing[0]" in line or "spacing[1]" in line or "spacing_mm[0]" in line or "spacing_mm[1]" in line:
                bad.append(f"{f.relative_to(ROOT)}:{i}")
    assert not bad, bad
