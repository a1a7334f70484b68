"""Hand and foot skeletons in millimetres, built from a shape-model sample and per-joint grades.

The frame is that of a *right* region seen PA (hand) or dorsoplantar (foot): medial digit on the
left, digits pointing up (towards -y). Left regions are the mirror image, applied at render time.

Disease is geometry: a JSN grade narrows the joint gap (grade 4: ankylosis, the bones meet),
an erosion grade cuts marginal defects into the bone ends whose total extent grows with the grade
(fraction of the articular surface, as in the SvdH definitions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import schema
from .primitives import BlobBone, Defect, LongBone
from ..shape_model import load_shape_model

__all__ = ["Anatomy", "build_anatomy", "JSN_GAP_FACTOR", "EROSION_FRACTION", "normal_gap_mm"]

# Joint gap as a fraction of normal per JSN grade (SvdH: 1 focal/doubtful, 2 < 50% loss,
# 3 > 50% loss, 4 ankylosis or complete luxation). Grade 4: the bones meet.
JSN_GAP_FACTOR = {0: 1.0, 1: 0.72, 2: 0.47, 3: 0.22, 4: 0.0}
# Fraction of the articular surface eroded per erosion grade of one bone side (0-5).
EROSION_FRACTION = {0: 0.0, 1: 0.12, 2: 0.25, 3: 0.42, 4: 0.62, 5: 0.85}
_N_DEFECTS = {0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 5: 4}

# Normal adult joint-space width in mm by joint type.
_NORMAL_GAP = {"mcp": 1.7, "pip": 1.1, "dip": 0.9, "ip": 1.0, "mtp": 1.7, "cmc": 1.2, "carpal": 1.3,
               "radcar": 1.9}


def normal_gap_mm(site: str) -> float:
    for prefix in ("mcp", "pip", "dip", "mtp", "cmc"):
        if site.startswith(prefix):
            return _NORMAL_GAP[prefix]
    return _NORMAL_GAP.get(site, _NORMAL_GAP["carpal"])


@dataclass
class Anatomy:
    """A region's skeleton: bones, joint landmarks (mm), and soft-tissue outline shapes."""

    kind: str
    bones: list = field(default_factory=list)
    landmarks: dict[str, np.ndarray] = field(default_factory=dict)
    joint_axes: dict[str, np.ndarray] = field(default_factory=dict)  # unit vector proximal -> distal
    capsules: list[tuple[np.ndarray, np.ndarray, float, float]] = field(default_factory=list)
    polygons: list[tuple[np.ndarray, float, float]] = field(default_factory=list)
    named: dict[str, object] = field(default_factory=dict)

    def joint_space_mm(self) -> dict[str, float]:
        """The rendered joint-space width at each digit joint's centre (mm along its axis): from the
        proximal bone's head surface to the distal bone's base surface (the base's shallow cup
        leaves its centre slightly distal of the nominal gap)."""
        longs = [b for b in self.bones if isinstance(b, LongBone)]
        out = {}
        for site, d in self.joint_axes.items():
            p = self.landmarks[site]
            prox = min(longs, key=lambda b: float(np.linalg.norm(b.head - p)))
            dist = min(longs, key=lambda b: float(np.linalg.norm(b.base - p)))
            if prox is dist or np.linalg.norm(prox.head - p) > 5 or np.linalg.norm(dist.base - p) > 5:
                continue
            start = dist.to_mm(float(dist.base_surface(np.zeros(1))[0]), 0.0)
            out[site] = float(np.dot(start - prox.head, d))
        return out


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    c, s = np.cos(t), np.sin(t)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def _gap(site: str, jsn: float) -> float:
    return normal_gap_mm(site) * JSN_GAP_FACTOR[int(round(jsn))]


class _Builder:
    def __init__(self, kind: str, rng: np.random.Generator, grades: dict[str, dict[str, int]],
                 tex_rng: np.random.Generator, osteopenia: float):
        self.a = Anatomy(kind=kind)
        self.rng = rng
        self.grades = grades
        self.tex_rng = tex_rng
        self.osteopenia = osteopenia

    def jsn(self, site: str) -> int:
        return int(self.grades.get(site, {}).get("jsn") or 0)

    def erosion(self, site: str) -> int:
        return int(self.grades.get(site, {}).get("erosion") or 0)

    def bone(self, b, name: str | None = None):
        b.texture_seed = int(self.tex_rng.integers(2**31))
        self.a.bones.append(b)
        if name:
            self.a.named[name] = b
        return b

    def long_bone(self, name: str, base, head, r_base, r_shaft, r_head, **kw) -> LongBone:
        return self.bone(LongBone(base=np.asarray(base, float), head=np.asarray(head, float), r_base=r_base,
                                  r_shaft=r_shaft, r_head=r_head, **kw), name)

    def chain(self, site: str, joint: np.ndarray, direction_in: np.ndarray, gap: float) -> tuple[np.ndarray, np.ndarray]:
        """End of the proximal bone and start of the distal bone around a joint landmark."""
        d = _unit(direction_in)
        self.a.landmarks[site] = joint.copy()
        self.a.joint_axes[site] = d
        distal = joint + d * gap / 2
        # JSN 4 is ankylosis or complete (sub)luxation: half the time the distal bone is displaced.
        # Drawn from a per-site stream so that the person's other random draws do not move.
        sub = np.random.default_rng([self.a_seed, *site.encode(), 7])
        shift, side = sub.uniform(1.5, 3.5), sub.choice([-1.0, 1.0])
        if self.jsn(site) >= 4 and sub.random() < 0.5:
            distal = distal + side * shift * np.array([-d[1], d[0]])
        return joint - d * gap / 2, distal

    # -- erosions -------------------------------------------------------------------------------
    def erode_end(self, bone: LongBone, end: str, grade: int, slot_rng: np.random.Generator) -> None:
        """Cut defects into a long bone's ``'head'`` or ``'base'`` at the articular margin.

        Slots (which side, where along the surface) are drawn for the worst grade first, so that
        the same joint at a higher grade has a superset of larger defects."""
        slots = [(slot_rng.choice([-1.0, 1.0]), slot_rng.uniform(0.55, 0.95), slot_rng.uniform(0.3, 0.8))
                 for _ in range(_N_DEFECTS[5])]
        if grade <= 0:
            return
        r_end = bone.r_head if end == "head" else bone.r_base
        frac = EROSION_FRACTION[int(grade)]
        n = _N_DEFECTS[int(grade)]
        radius = max(0.65, frac * 2 * r_end / (n * 1.45))
        for k, (side, lateral, depth_in) in enumerate(slots[:n]):
            # Alternate sides so that several defects spread over the surface.
            side = side if k % 2 == 0 else -side
            v = side * min(lateral * r_end, r_end - 0.25 * radius)
            if end == "head":
                u = float(bone.head_surface(np.array(v))) - depth_in * radius
            else:
                u = float(bone.base_surface(np.array(v))) + depth_in * radius
            bone.defects.append(Defect(u=u, v=v, radius=radius, depth=0.92))
        if grade >= 5:  # collapse: a large central subchondral defect as well
            u = (float(bone.head_surface(np.array(0.0))) - 0.45 * r_end) if end == "head" \
                else (float(bone.base_surface(np.array(0.0))) + 0.45 * r_end)
            bone.defects.append(Defect(u=u, v=0.0, radius=0.55 * r_end, depth=0.8))

    def erode_blob(self, bone: BlobBone, grade: int, slot_rng: np.random.Generator) -> None:
        slots = [slot_rng.uniform(0, 2 * np.pi) for _ in range(_N_DEFECTS[5])]
        if grade <= 0:
            return
        frac = EROSION_FRACTION[int(grade)]
        n = _N_DEFECTS[int(grade)]
        perimeter = np.pi * (bone.a + bone.b)
        radius = max(0.65, frac * perimeter * 0.35 / (n * 1.45))
        for theta in slots[:n]:
            x, y = np.cos(theta) * bone.a, np.sin(theta) * bone.b
            shrink = max(0.0, 1.0 - 0.35 * radius / max(np.hypot(x, y), 1e-6))
            bone.defects.append(Defect(u=x * shrink, v=y * shrink, radius=radius, depth=0.9))

    def slot_rng(self, key: str) -> np.random.Generator:
        # Independent of the grades: the same joint erodes at the same places at every grade.
        return np.random.default_rng([self.a_seed, *key.encode()])


def _boundary_point(blob: BlobBone, direction: np.ndarray) -> float:
    """Distance from a blob's centre to its outline along a world direction."""
    x, y = blob.local(blob.centre + _unit(direction))
    return 1.0 / np.sqrt((x / blob.a) ** 2 + (y / blob.b) ** 2)


def _snap(blob: BlobBone, towards: np.ndarray, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """Point at ``gap`` mm beyond a blob's outline towards ``towards``, and the gap's centre."""
    d = _unit(towards - blob.centre)
    r = _boundary_point(blob, d)
    return blob.centre + d * (r + gap), blob.centre + d * (r + gap / 2)


def build_anatomy(kind: str, grades: dict[str, dict[str, int]], rng: np.random.Generator,
                  *, shape_spread: float = 1.0, osteopenia: float = 0.0) -> Anatomy:
    """A random adult hand or foot carrying the given per-site grades (``{site: {'erosion': g,
    'jsn': g}}``; missing = 0). ``rng`` fixes the person; grades change only the disease."""
    person_seed = int(rng.integers(2**31))
    person = np.random.default_rng(person_seed)
    builder = _Builder(kind, person, grades, np.random.default_rng(person_seed + 1), osteopenia)
    builder.a_seed = person_seed
    shape = load_shape_model(kind).sample(person, spread=shape_spread)
    scale = float(np.clip(person.normal(1.0, 0.06), 0.85, 1.18))
    centre = np.mean(list(shape.values()), axis=0)
    shape = {k: (v - centre) * scale for k, v in shape.items()}
    if kind == "hand":
        _build_hand(builder, shape, scale)
    else:
        _build_foot(builder, shape, scale)
    for b in builder.a.bones:
        b.osteopenia = osteopenia
    return builder.a


# ----------------------------------------------------------------------------------------------
# Hand
# ----------------------------------------------------------------------------------------------

_P2_RATIO = {2: 0.58, 3: 0.62, 4: 0.61, 5: 0.56}
_P3_RATIO = {2: 0.43, 3: 0.42, 4: 0.43, 5: 0.47}
_MC_WIDTH = {1: (7.5, 5.0, 7.0), 2: (7.4, 4.5, 6.6), 3: (7.0, 4.4, 6.6), 4: (5.9, 3.8, 5.8), 5: (6.0, 3.8, 5.6)}


def _build_hand(b: _Builder, s: dict[str, np.ndarray], k: float) -> None:
    a = b.a
    rng = b.rng
    down = _unit(s["w2"] - s["mcp3"])  # proximal direction along the hand
    up = -down
    ulnar = np.array([-down[1], down[0]])
    if np.dot(ulnar, s["mcp5"] - s["mcp2"]) < 0:
        ulnar = -ulnar
    heads = np.mean([s[f"mcp{d}"] for d in range(2, 6)], axis=0)
    converge = heads + down * 118.0 * k
    ulnar_dev = rng.normal(0.0, 4.0)  # degrees of ulnar deviation of the fingers (RA)
    sign_ulnar = 1.0 if ulnar[0] > 0 else -1.0

    # Fingers 2-5: proximal, middle and distal phalanges.
    mc_heads: dict[int, np.ndarray] = {}
    for d in range(2, 6):
        mcp, pip = s[f"mcp{d}"], s[f"pip{d}"]
        d1 = _unit(pip - mcp)
        l1 = float(np.linalg.norm(pip - mcp))
        mc_dir = _unit(mcp - converge)
        mc_end, p1_base = b.chain(f"mcp{d}", mcp, mc_dir, _gap(f"mcp{d}", b.jsn(f"mcp{d}")))
        mc_heads[d] = mc_end
        d1 = _unit(pip - p1_base)
        p1_head, p2_base = b.chain(f"pip{d}", pip, d1, _gap(f"pip{d}", b.jsn(f"pip{d}")))
        d2 = _rot(d1, rng.normal(0, 3.0) + sign_ulnar * ulnar_dev * 0.5)
        # Flexion at the PIP/DIP foreshortens the middle and distal phalanges in a PA view.
        flex = np.cos(np.deg2rad(abs(rng.normal(0.0, 14.0))))
        dip = pip + d2 * l1 * _P2_RATIO[d] * rng.normal(1.0, 0.04) * flex
        p2_head, p3_base = b.chain(f"dip{d}", dip, d2, _NORMAL_GAP["dip"] * rng.uniform(0.8, 1.1))
        d3 = _rot(d2, rng.normal(0, 3.0))
        tip = p3_base + d3 * l1 * _P3_RATIO[d] * rng.normal(1.0, 0.04) * flex
        w = 0.92 + 0.08 * (d == 3) - 0.06 * (d == 5)
        p1 = b.long_bone(f"p1_{d}", p1_base, p1_head, 6.0 * k * w, 4.0 * k * w, 5.0 * k * w,
                         head_dome=1.8 * k, base_cup=1.3 * k)
        p2 = b.long_bone(f"p2_{d}", p2_base, p2_head, 5.0 * k * w, 3.4 * k * w, 4.2 * k * w,
                         head_dome=1.5 * k, base_cup=1.1 * k)
        b.long_bone(f"p3_{d}", p3_base, tip, 4.3 * k * w, 2.4 * k * w, 3.2 * k * w,
                    head_dome=2.2 * k, base_cup=0.9 * k, cortex_mid=0.3)
        _erode_joint(b, f"mcp{d}", None, p1, head_share=0.6)
        _erode_joint(b, f"pip{d}", p1, p2, head_share=0.5)
        a.capsules.append((mc_end - d1 * 10 * k, tip, 8.8 * k * w, 0.9))

    # Carpus, anchored below the metacarpal bases.
    mc_len = {2: 68.0, 3: 64.0, 4: 57.0, 5: 53.0}
    nominal_base = {d: mc_heads[d] - _unit(mc_heads[d] - converge) * mc_len[d] * k * rng.normal(1.0, 0.03)
                    for d in range(2, 6)}
    cap = b.bone(BlobBone(centre=nominal_base[3] + down * (1.2 + 12.0) * k, a=7.6 * k, b=12.0 * k,
                          depth=8.0 * k, angle=float(np.arctan2(up[1], up[0]) - np.pi / 2)), "capitate")
    ham = b.bone(BlobBone(centre=0.5 * (nominal_base[4] + nominal_base[5]) + down * 9.0 * k - ulnar * 0.5 * k,
                          a=8.6 * k, b=10.5 * k, depth=7.5 * k,
                          angle=float(np.arctan2(up[1], up[0]) - np.pi / 2) + sign_ulnar * 0.25), "hamate")
    tzd = b.bone(BlobBone(centre=nominal_base[2] + down * (1.2 + 7.8) * k, a=6.6 * k, b=7.8 * k, depth=6.5 * k,
                          angle=float(np.arctan2(up[1], up[0]) - np.pi / 2)), "trapezoid")
    tzm = b.bone(BlobBone(centre=tzd.centre - ulnar * 11.5 * k + down * 2.5 * k, a=8.0 * k, b=9.0 * k,
                          depth=7.0 * k, angle=float(np.arctan2(up[1], up[0]) - np.pi / 2) - sign_ulnar * 0.5),
                 "trapezium")
    # Metacarpal bases snapped to the distal carpal row with their CMC gaps.
    base3, a.landmarks["cmc3"] = _snap(cap, nominal_base[3] + up * 5, _gap("cmc3", b.jsn("cmc3")))
    base4, a.landmarks["cmc4"] = _snap(ham, nominal_base[4] + up * 5, _gap("cmc4", b.jsn("cmc4")))
    base5, a.landmarks["cmc5"] = _snap(ham, nominal_base[5] + up * 5, _gap("cmc5", b.jsn("cmc5")))
    base2, _ = _snap(tzd, nominal_base[2] + up * 5, _NORMAL_GAP["cmc"])
    for site, bb, blob in (("cmc3", base3, cap), ("cmc4", base4, ham), ("cmc5", base5, ham)):
        a.joint_axes[site] = _unit(bb - blob.centre)
    for d, base in ((2, base2), (3, base3), (4, base4), (5, base5)):
        rb, rs, rh = (v * k for v in _MC_WIDTH[d])
        mc = b.long_bone(f"mc{d}", base, mc_heads[d], rb, rs, rh, head_dome=2.6 * k, base_cup=0.6 * k)
        _erode_joint(b, f"mcp{d}", mc, None, head_share=0.6)

    # Thumb: metacarpal from the trapezium, proximal and distal phalanges.
    mcp1, ip = s["mcp1"], s["ip"]
    mc1_dir = _unit(mcp1 - tzm.centre)
    mc1_end, t1_base = b.chain("mcp1", mcp1, mc1_dir, _gap("mcp1", b.jsn("mcp1")))
    mc1_base, _ = _snap(tzm, mc1_end, _NORMAL_GAP["cmc"] * 1.1)
    a.landmarks["mc1"] = mc1_base + mc1_dir * 3.0 * k
    rb, rs, rh = (v * k for v in _MC_WIDTH[1])
    mc1 = b.long_bone("mc1", mc1_base, mc1_end, rb, rs, rh, head_dome=2.4 * k, base_cup=1.6 * k)
    t1_dir = _unit(ip - t1_base)
    t1_head, t2_base = b.chain("ip", ip, t1_dir, _gap("ip", 0))
    t2_dir = _rot(t1_dir, rng.normal(0, 5.0))
    t_tip = t2_base + t2_dir * float(np.linalg.norm(ip - mcp1)) * 0.72
    t1 = b.long_bone("t1", t1_base, t1_head, 6.6 * k, 4.5 * k, 5.6 * k, head_dome=1.8 * k, base_cup=1.4 * k)
    t2 = b.long_bone("t2", t2_base, t_tip, 5.6 * k, 3.4 * k, 4.2 * k, head_dome=2.2 * k, base_cup=1.1 * k)
    _erode_joint(b, "mcp1", mc1, t1, head_share=0.6)
    _erode_joint(b, "ip", t1, t2, head_share=0.5)
    b.erode_end(mc1, "base", b.erosion("mc1"), b.slot_rng("mc1"))
    a.capsules.append((mc1_end - mc1_dir * 15 * k, t_tip, 9.5 * k, 1.0))
    a.capsules.append((mc1_base, mc1_end, 12.0 * k, 0.9))

    # Proximal carpal row, radius and ulna.
    lun = b.bone(BlobBone(centre=cap.centre + down * (cap.b + _gap("capnlun", b.jsn("capnlun")) + 8.2 * k)
                          + ulnar * 1.5 * k, a=9.0 * k, b=8.2 * k, depth=7.5 * k), "lunate")
    a.landmarks["capnlun"] = cap.centre + down * (cap.b + _gap("capnlun", b.jsn("capnlun")) / 2) + ulnar * 0.8 * k
    a.joint_axes["capnlun"] = up.copy()
    sca_nominal = tzm.centre + down * 13.0 * k + ulnar * 4.5 * k
    sca = BlobBone(centre=sca_nominal, a=7.0 * k, b=13.0 * k, depth=7.0 * k,
                   angle=float(np.arctan2(up[1], up[0]) - np.pi / 2) - sign_ulnar * 0.75)
    # Place the scaphoid so its distal pole sits the MNA gap below the trapezium/trapezoid.
    d_ts = _unit(sca_nominal - 0.5 * (tzm.centre + tzd.centre))
    r_t = _boundary_point(tzm, d_ts)
    r_s = _boundary_point(sca, -d_ts)
    g_mna = _gap("mna", b.jsn("mna"))
    sca.centre = tzm.centre + d_ts * (r_t + g_mna + r_s)
    b.bone(sca, "scaphoid")
    a.landmarks["mna"] = tzm.centre + d_ts * (r_t + g_mna / 2)
    a.joint_axes["mna"] = -d_ts
    tri = b.bone(BlobBone(centre=lun.centre + ulnar * 14.0 * k + up * 2.0 * k, a=6.8 * k, b=7.6 * k, depth=6.5 * k,
                          angle=sign_ulnar * 0.3), "triquetrum")
    b.bone(BlobBone(centre=tri.centre + ulnar * 1.5 * k + up * 2.5 * k, a=4.2 * k, b=4.6 * k, depth=4.0 * k),
           "pisiform")
    g_rc = _gap("radcar", b.jsn("radcar"))
    # The radiolunate joint, where readers judge radiocarpal narrowing, anchors the radius.
    row_bottom = lun.centre + down * _boundary_point(lun, down)
    rad_base = row_bottom + down * g_rc - ulnar * 3.0 * k
    a.landmarks["radcar"] = row_bottom + down * g_rc / 2
    a.joint_axes["radcar"] = up.copy()
    radius = b.long_bone("radius", rad_base, rad_base + down * 220 * k, 14.0 * k, 6.8 * k, 7.0 * k,
                         head_dome=0.0, base_cup=2.2 * k, cortex_mid=0.4)
    a.landmarks["radius"] = rad_base + down * 4.5 * k - ulnar * 4.0 * k
    ulna_base = lun.centre + ulnar * 14.5 * k + down * (lun.b + 4.5 * k + g_rc)
    ulna = b.long_bone("ulna", ulna_base, ulna_base + down * 220 * k - ulnar * 14 * k, 7.5 * k, 5.0 * k, 5.2 * k,
                       head_dome=0.0, base_cup=0.4 * k, cortex_mid=0.42)
    a.landmarks["ulna"] = ulna_base + down * 4.0 * k
    a.landmarks["mul"] = tzm.centre.copy()
    a.landmarks["nav"] = sca.centre.copy()
    a.landmarks["lunate"] = lun.centre.copy()
    b.erode_end(radius, "base", b.erosion("radius"), b.slot_rng("radius"))
    b.erode_end(ulna, "base", b.erosion("ulna"), b.slot_rng("ulna"))
    b.erode_blob(tzm, b.erosion("mul"), b.slot_rng("mul"))
    b.erode_blob(sca, b.erosion("nav"), b.slot_rng("nav"))
    b.erode_blob(lun, b.erosion("lunate"), b.slot_rng("lunate"))

    # Soft tissue: palm and forearm.
    palm = np.array([mc_heads[2] - ulnar * 4 * k, mc_heads[5] + ulnar * 3 * k, base5 + ulnar * 3 * k,
                     ulna_base + ulnar * 4 * k, rad_base - ulnar * 14 * k, mc1_base - ulnar * 4 * k,
                     mc1_end])
    a.polygons.append((palm, 7.0 * k, 20.0 * k))
    fore_mid = 0.5 * (rad_base + ulna_base)
    a.capsules.append((fore_mid, fore_mid + down * 260 * k, 29.0 * k, 0.62))
    a.named["up"] = up
    a.named["ulnar"] = ulnar


def _erode_joint(b: _Builder, site: str, proximal: LongBone | None, distal: LongBone | None,
                 head_share: float) -> None:
    """Split a hand joint's erosion grade (0-5) between the proximal head and the distal base.

    Called once per bone as bones are created; the split depends only on the site."""
    g = b.erosion(site)
    g_head = int(np.ceil(g * head_share)) if g else 0
    g_base = g - g_head if g >= 2 else 0
    if proximal is not None:
        b.erode_end(proximal, "head", g_head, b.slot_rng(site + "/head"))
    if distal is not None:
        b.erode_end(distal, "base", g_base, b.slot_rng(site + "/base"))


# ----------------------------------------------------------------------------------------------
# Foot (dorsoplantar)
# ----------------------------------------------------------------------------------------------

_MT_LEN = {1: 63.0, 2: 75.0, 3: 70.0, 4: 67.0, 5: 66.0}
_TOE = {2: (27.0, 10.0, 8.0), 3: (23.0, 8.5, 7.5), 4: (21.0, 7.5, 7.0), 5: (18.0, 6.0, 6.5)}


def _build_foot(b: _Builder, s: dict[str, np.ndarray], k: float) -> None:
    a = b.a
    rng = b.rng
    heads = np.mean([s[f"mtp{d}"] for d in range(1, 6)], axis=0)
    across = _unit(s["mtp5"] - s["mtp1"])
    up = np.array([across[1], -across[0]])
    if up[1] > 0:
        up = -up
    down = -up
    lateral = across
    converge = heads + down * 215.0 * k
    mt_heads: dict[int, np.ndarray] = {}
    mt_bones: dict[int, LongBone] = {}
    for d in range(1, 6):
        mtp = s[f"mtp{d}"]
        mt_dir = _unit(mtp - converge + (lateral * -12.0 * k if d == 1 else 0))
        gap = _gap(f"mtp{d}", b.jsn(f"mtp{d}"))
        if d == 1:
            p1_dir = _unit(s["ip"] - mtp)
            mt_end, p1_base = b.chain("mtp1", mtp, 0.5 * (mt_dir + p1_dir), gap)
            ip_head, p2_base = b.chain("ip", s["ip"], p1_dir, _gap("ip", b.jsn("ip")))
            p1 = b.long_bone("t1_p1", p1_base, ip_head, 8.6 * k, 5.4 * k, 7.0 * k, head_dome=2.0 * k, base_cup=1.8 * k)
            p2_dir = _rot(p1_dir, rng.normal(0, 5.0))
            tip = p2_base + p2_dir * float(np.linalg.norm(s["ip"] - mtp)) * 0.72
            p2 = b.long_bone("t1_p2", p2_base, tip, 7.6 * k, 4.6 * k, 5.6 * k, head_dome=2.6 * k, base_cup=1.5 * k)
            _erode_foot_joint(b, "ip", p1, p2)
            first_p1 = p1
            a.capsules.append((mt_end, tip, 11.0 * k, 1.0))
            widths = (10.5 * k, 5.6 * k, 9.0 * k)
        else:
            toe_dir = _rot(mt_dir, rng.normal(0, 6.0) + 4.0)
            mt_end, p1_base = b.chain(f"mtp{d}", mtp, 0.5 * (mt_dir + toe_dir), gap)
            l1, l2, l3 = (v * k * rng.normal(1.0, 0.05) for v in _TOE[d])
            p1_head = p1_base + toe_dir * l1
            p1 = b.long_bone(f"t{d}_p1", p1_base, p1_head, 4.6 * k, 2.6 * k, 3.6 * k, head_dome=1.3 * k, base_cup=1.2 * k)
            d2 = _rot(toe_dir, rng.normal(0, 6.0))
            p2_base = p1_head + d2 * 0.9
            p2_head = p2_base + d2 * l2
            b.long_bone(f"t{d}_p2", p2_base, p2_head, 3.6 * k, 2.6 * k, 3.0 * k, head_dome=1.0 * k, base_cup=0.9 * k)
            d3 = _rot(d2, rng.normal(0, 6.0))
            p3_base = p2_head + d3 * 0.8
            tip = p3_base + d3 * l3
            b.long_bone(f"t{d}_p3", p3_base, tip, 3.2 * k, 2.0 * k, 2.8 * k, head_dome=1.6 * k, base_cup=0.8 * k)
            a.capsules.append((mt_end, tip + d3 * 2.0, 7.0 * k, 1.0))
            widths = (6.2 * k, 3.3 * k, 5.2 * k)
            first_p1 = p1
        base = mt_end - mt_dir * _MT_LEN[d] * k * rng.normal(1.0, 0.03)
        mt = b.long_bone(f"mt{d}", base, mt_end, *widths, head_dome=2.8 * k, base_cup=0.5 * k)
        mt_heads[d], mt_bones[d] = mt_end, mt
        _erode_foot_joint(b, f"mtp{d}", mt, first_p1)

    # Sesamoids under the first metatarsal head.
    mt1 = mt_bones[1]
    for side in (-1.0, 1.0):
        b.bone(BlobBone(centre=mt1.to_mm(mt1.length - 7.0 * k, side * 4.2 * k), a=3.4 * k, b=4.8 * k,
                        depth=4.0 * k, angle=float(np.arctan2(mt1.axis[1], mt1.axis[0]))), None)
    # Tarsal bones in view.
    ang = float(np.arctan2(up[1], up[0]) - np.pi / 2)
    cune = []
    for d, (ra, rb_) in zip((1, 2, 3), ((8.5, 11.0), (6.0, 7.5), (6.5, 8.5))):
        mt = mt_bones[d]
        c = mt.base - mt.axis * (1.3 * k + rb_ * k)
        cune.append(b.bone(BlobBone(centre=c, a=ra * k, b=rb_ * k, depth=5.5 * k, angle=ang, cortex=0.6), f"cuneiform{d}"))
    cub_c = 0.5 * (mt_bones[4].base + mt_bones[5].base) + down * 12.5 * k - lateral * 1.0 * k
    cub = b.bone(BlobBone(centre=cub_c, a=10.0 * k, b=12.0 * k, depth=6.0 * k, angle=ang + 0.25, cortex=0.6), "cuboid")
    nav_c = np.mean([c.centre for c in cune], axis=0) + down * 16.0 * k - lateral * 2.0 * k
    nav = b.bone(BlobBone(centre=nav_c, a=15.0 * k, b=6.5 * k, depth=5.5 * k, angle=ang - 0.15, cortex=0.6), "navicular")
    for name, centre, (ra, rb_) in (("talus", nav.centre + down * 19.0 * k - lateral * 3.0 * k, (12.0, 13.0)),
                                    ("calcaneus", cub.centre + down * 26.0 * k + lateral * 3.0 * k, (13.0, 18.0))):
        hind = b.bone(BlobBone(centre=centre, a=ra * k, b=rb_ * k, depth=5.0 * k, angle=ang + 0.1, cortex=0.6), name)
        hind.partly_in_view = True  # the layout keeps only their distal part in the image
    fore = np.array([mt_heads[1] - lateral * 9 * k, mt_heads[5] + lateral * 6 * k, mt_bones[5].base + lateral * 8 * k,
                     cub.centre + lateral * 10 * k + down * 40 * k, nav.centre - lateral * 18 * k + down * 40 * k,
                     mt_bones[1].base - lateral * 10 * k])
    a.polygons.append((fore, 6.0 * k, 32.0 * k))
    a.named["up"] = up
    a.named["ulnar"] = lateral


def _erode_foot_joint(b: _Builder, site: str, proximal: LongBone, distal: LongBone) -> None:
    """Feet are scored 0-10 per joint: both sides (0-5 each) summed."""
    g = b.erosion(site)
    b.erode_end(proximal, "head", (g + 1) // 2, b.slot_rng(site + "/head"))
    b.erode_end(distal, "base", g // 2, b.slot_rng(site + "/base"))


def full_grades(kind: str, grades: dict | None) -> dict[str, dict[str, int | None]]:
    """Every scoring site of ``kind`` with ``erosion`` and ``jsn`` (``None`` where not scored);
    accepts ``{site: (erosion, jsn)}`` or ``{site: {'erosion': .., 'jsn': ..}}``."""
    grades = grades or {}
    known = {s.name for s in schema.sites(kind)}
    unknown = set(grades) - known
    if unknown:
        raise schema.SchemaError(f"unknown {kind} site(s): {', '.join(sorted(unknown))}")
    out: dict[str, dict[str, int | None]] = {}
    for s in schema.sites(kind):
        given = grades.get(s.name, {})
        if isinstance(given, (tuple, list)):
            given = {"erosion": given[0], "jsn": given[1]}
        entry: dict[str, int | None] = {}
        for measure in ("erosion", "jsn"):
            top = s.max_for(measure)
            value = given.get(measure)
            if top == 0:
                if value not in (None, 0):
                    raise schema.SchemaError(f"{kind} {s.name}: the SvdH method does not score {measure} here")
                entry[measure] = None
                continue
            value = 0 if value is None else value
            if int(value) != value or not 0 <= value <= top:
                raise schema.SchemaError(f"{kind} {s.name} {measure}: {value} is not a grade 0-{top}")
            entry[measure] = int(value)
        out[s.name] = entry
    return out
