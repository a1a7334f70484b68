"""Build the localiser's hand template from phantom anatomy (regeneration only).

    python -m sharpscore.synth.hand_template [--n 400] [--seed 0]

writes ``sharpscore/localize/hand_template.json``: the mean phantom hand landmarks (mm) aligned on the
finger joints, and a ridge regression of the wrist landmarks on the finger joints
(:mod:`sharpscore.localize.template` loads and applies them).
"""

from __future__ import annotations

import json

import numpy as np

from ..localize.template import ANCHORS, TEMPLATE_JSON, WRIST, similarity_fit

__all__ = ["build_template", "build_regression"]

_PATH = TEMPLATE_JSON


def build_template(n: int = 400, seed: int = 0, anchors: tuple[str, ...] | None = None) -> dict[str, list[float]]:
    """Mean landmark positions (mm) of ``n`` phantom hands after aligning them on ``anchors``
    (default :data:`ANCHORS`)."""
    anchors = anchors or ANCHORS
    from .anatomy import build_anatomy

    rng = np.random.default_rng(seed)
    shapes = []
    for _ in range(n):
        a = build_anatomy("hand", {}, np.random.default_rng(int(rng.integers(2**31))))
        shapes.append({k: np.asarray(v, float)[:2] for k, v in a.landmarks.items()})
    names = sorted(set.intersection(*(set(s) for s in shapes)))
    ref = np.array([shapes[0][k] for k in anchors])
    for _ in range(3):  # generalised Procrustes on the anchors
        aligned = []
        for s in shapes:
            sc, r, t = similarity_fit(np.array([s[k] for k in anchors]), ref, allow_reflection=False)
            aligned.append({k: sc * s[k] @ r.T + t for k in names})
        ref = np.array([np.mean([al[k] for al in aligned], 0) for k in anchors])
        ref = ref - ref.mean(0)
    return {k: [round(float(v), 3) for v in np.mean([al[k] for al in aligned], 0)] for k in names}


def build_regression(n: int = 1500, seed: int = 0, alpha: float = 300.0) -> dict:
    """Ridge regression of the wrist landmarks on the finger joints (:data:`ANCHORS`), both in the
    frame where the fingers are aligned to their mean (similarity transform), over ``n`` phantom hands.
    It captures how the wrist sits relative to the fingers better than the mean shape alone."""
    from sklearn.linear_model import Ridge

    from .anatomy import build_anatomy

    rng = np.random.default_rng(seed)
    shapes = []
    for _ in range(n):
        a = build_anatomy("hand", {}, np.random.default_rng(int(rng.integers(2**31))))
        shapes.append({k: np.asarray(v, float)[:2] for k, v in a.landmarks.items()})
    ref = np.array([shapes[0][k] for k in ANCHORS])
    for _ in range(3):
        aligned = []
        for sh in shapes:
            sc, r, t = similarity_fit(np.array([sh[k] for k in ANCHORS]), ref, allow_reflection=False)
            aligned.append({k: sc * v @ r.T + t for k, v in sh.items()})
        ref = np.mean([[al[k] for k in ANCHORS] for al in aligned], 0)
        ref = ref - ref.mean(0)
    x = np.array([np.concatenate([al[k] for k in ANCHORS]) for al in aligned])
    y = np.array([np.concatenate([al[k] for k in WRIST]) for al in aligned])
    model = Ridge(alpha=alpha).fit(x, y)
    return {"alpha": alpha, "n": n, "reference": ref.round(4).tolist(), "coef": model.coef_.round(6).tolist(),
            "intercept": model.intercept_.round(4).tolist()}


def main() -> None:  # pragma: no cover - regeneration script
    import argparse

    p = argparse.ArgumentParser(description="Rebuild the hand template from phantom anatomy.")
    p.add_argument("--n", type=int, default=400)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    doc = {"about": "mean phantom hand landmarks (mm), aligned on the finger joints, and a ridge regression "
                    "of the wrist landmarks on the finger joints; "
                    f"python -m sharpscore.synth.hand_template --n {a.n} --seed {a.seed}",
           "anchors": list(ANCHORS), "landmarks_mm": build_template(a.n, a.seed),
           "regression": build_regression(seed=a.seed)}
    _PATH.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {_PATH}")


if __name__ == "__main__":  # pragma: no cover
    main()
