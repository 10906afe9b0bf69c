"""Deformation families for decoder training: bit masks, disjoint leave-one-family-out splits and
the guard that keeps anny's expression units out (no anny needed: a stand-in head)."""

from types import SimpleNamespace

import numpy as np
import pytest

from core.data.families import (
    RIG_BONES,
    SOURCE_BITS,
    family_mask,
    refuse_expression_units,
    sample_family,
)
from core.errors import S2DError


@pytest.fixture(scope="module")
def head():
    return SimpleNamespace(
        facial_action_labels=[f"act{i}" for i in range(50)] + ["eyeLookUpLeft", "tongueOut"],
        bone_labels=["root", "jaw", "eye.L", "tongue00", *RIG_BONES],
        face_local_changes=[
            "nose-hump-incr",
            "mouth-trans-up",
            "l-ear-lobe-incr",
            "head-fat-incr",
            "chin-width-incr",
        ],
    )


@pytest.mark.parametrize("family", ["actions", "bones", "local"])
def test_a_source_family_uses_only_its_own_source(head, family):
    rng = np.random.default_rng(0)
    base = np.zeros(5)
    p, local, src = sample_family(family, head, rng, 40, base)
    assert (src == SOURCE_BITS[family]).all()
    acts = np.abs(p.facial_actions).sum(1) > 0
    bones = np.abs(p.jaw_deg).sum(1) + sum(np.abs(v).sum(1) for v in p.bones.values()) > 0
    moved = np.abs(local - base).sum(1) > 0
    assert acts.any() == (family == "actions") and not (acts & (family != "actions")).any()
    assert bones.any() == (family == "bones")
    assert moved.any() == (family == "local")
    if family == "actions":  # no gaze or tongue; up to 1.3 (beyond the usual range)
        assert (p.facial_actions[:, 50:] == 0).all() and p.facial_actions.max() <= 1.3
    if family == "bones":  # the whole face rig but not the eyes, tongue or root
        assert set(p.bones) == set(RIG_BONES) and "eye.L" not in p.bones
        deg = {k: np.linalg.norm(v, axis=1).max() for k, v in p.bones.items()}
        assert all(deg[k] <= RIG_BONES[k] * 1.4 + 1e-9 for k in deg)
    if family == "local":  # face sources only: never the ears or the whole head
        assert (local[:, [2, 3]] == 0).all() and np.abs(local).max() <= 1.0


def test_sums_combine_only_allowed_families(head):
    rng = np.random.default_rng(1)
    _, _, src = sample_family(
        "sums", head, rng, 60, np.zeros(5), allowed_sources=("actions", "local")
    )
    assert set(np.unique(src)) == {SOURCE_BITS["actions"] | SOURCE_BITS["local"]}
    _, _, src = sample_family("sums", head, rng, 200, np.zeros(5))
    assert all(bin(int(s)).count("1") >= 2 for s in src) and len(np.unique(src)) == 4
    with pytest.raises(S2DError, match="at least two"):
        sample_family("sums", head, rng, 2, np.zeros(5), allowed_sources=("bones",))


def test_leave_one_family_out_split_is_disjoint():
    from core.train.s2d_train import make_split

    rng = np.random.default_rng(2)
    n, ident = 300, rng.integers(0, 10, 300)
    src = rng.choice([1, 2, 3, 4, 5, 6, 7], size=n).astype(np.uint8)
    data = SimpleNamespace(
        id_test=np.arange(10) >= 8,
        frame_identity=ident,
        frame_sources=src,
        neutral_landmarks=np.zeros((10, 68, 3), np.float32),
        frame_landmarks=np.zeros((n, 68, 3), np.float32),
        frame_disp=np.zeros((n, 5, 3), np.float16),
        frame_label=np.full(n, -1),
    )
    for fam, bit in SOURCE_BITS.items():
        tr, te = (
            make_split(data, f"family:{fam}", "train"),
            make_split(data, f"family:{fam}", "test"),
        )
        tr_src = src[(~data.id_test[ident]) & ((src & bit) == 0)]
        assert len(tr) == len(tr_src) and len(te) > 0
        assert set(tr.identity).isdisjoint(te.identity)  # unseen identities too
        assert (data.frame_sources[np.isin(ident, te.identity) & (src == bit)] == bit).all()
    with pytest.raises(S2DError, match="unknown source family"):
        make_split(data, "family:gaze", "train")
    assert family_mask("bones") == 2


def test_expression_units_are_refused(head):
    refuse_expression_units(head.face_local_changes + head.facial_action_labels)
    for bad in ("expression-units-smile", "data/mpfb2/targets/expression/units/x.target"):
        with pytest.raises(S2DError, match="reserved for an independent evaluation"):
            refuse_expression_units([bad])
    head2 = SimpleNamespace(**{**vars(head), "face_local_changes": ["nose-x", "expression-a"]})
    with pytest.raises(S2DError, match="expression units"):
        sample_family("local", head2, np.random.default_rng(0), 2, np.zeros(2))
