"""``python main.py evaluate-apps``: performance transfer and neutralization measured on anny
ground truth, written to ``docs/applications.md`` (needs anny).

Identities are drawn with seed :data:`EVAL_SEED` (never used to build the bases). Expressions
*inside* the recipes are the labels the decoder and the expression basis were trained on;
*outside* are the expression-split test labels (mouth_side, cheeks_in, lips_up) and random
mixtures of the held-out actions with face-rig bone poses (:mod:`core.data.recipes`).

- transfer: identity A performs a motion, identity B must perform it; truth is anny's B with
  the same parameters. Errors are the mean per-vertex distance (mm) over all frames in the face
  region (``resources/face.npz`` ``face_mask``).
- neutralization: the apex of each expression on a held-out identity; truth is its neutral.
  The first :data:`ANY_TOPOLOGY_ITEMS` apexes of each split are also re-meshed into another
  topology (:func:`core.fit.remesh.remesh_template`: subdivided, shuffled, in centimetres,
  y up), fitted from their 68 landmarks and neutralized in that topology.
- diagnosis of the transfer: S2D-Dec given B's *true* landmarks (the floor of every
  landmark-driven method) and the error of the landmarks copied from A or carried by the
  learned multilinear model (:mod:`core.apps.motion_model`, fitted on other identities).
"""

from __future__ import annotations

import time

import numpy as np

__all__ = [
    "EVAL_SEED",
    "SCALED_PERFORMER",
    "TRANSFER_METHODS",
    "NEUTRAL_METHODS",
    "ANY_TOPOLOGY_METHODS",
    "ANY_TOPOLOGY_ITEMS",
    "evaluate_apps",
]

EVAL_SEED = 4242
#: The "scaled performer" transfer case: the source performance (face and motion) shrunk by
#: this factor about its centre, i.e. a smaller performer whose expressions scale with the face.
SCALED_PERFORMER = 0.8
TRANSFER_METHODS = (
    "raw displacement",
    "S2D absolute",
    "S2D SRVF (paper)",
    "S2D multilinear (learned)",
    "RBF (TPS) absolute",
)
NEUTRAL_METHODS = ("none", "basis", "paper", "joint")
ANY_TOPOLOGY_METHODS = ("none", "joint on the fitted template", "joint ICP on the mesh")
#: Apexes per split neutralized in another topology (each needs a fit, ~5 s).
ANY_TOPOLOGY_ITEMS = 4


def _expression_sets(fa: list[str], rng: np.random.Generator, n_random: int):
    """{"inside": [(name, FaceParams sequence)], "outside": [...]} of 30-frame sequences."""
    from core.data.anny_source import FaceParams
    from core.data.recipes import (
        EXPRESSION_SPLIT_TEST_LABELS,
        HELD_OUT_ACTIONS,
        LABELS,
        sample_random_mixture,
        sample_sequence,
        sequence_weights,
    )

    inside = [
        (lab, sample_sequence(lab, fa, rng))
        for lab in LABELS
        if lab not in EXPRESSION_SPLIT_TEST_LABELS
    ]
    outside = [(lab, sample_sequence(lab, fa, rng)) for lab in EXPRESSION_SPLIT_TEST_LABELS]
    allowed = tuple(a for a in fa if a not in HELD_OUT_ACTIONS)
    for k in range(n_random):
        apex = sample_random_mixture(fa, rng, 1, exclude_actions=allowed)
        s = sequence_weights(rng)[:, None]
        outside.append(
            (
                f"held-out mix {k}",
                FaceParams(
                    s * apex.facial_actions,
                    s * apex.jaw_deg,
                    {b: s * v for b, v in apex.bones.items()},
                ),
            )
        )
    return {"inside": inside, "outside": outside}


def evaluate_apps(
    n_identities: int = 6,
    n_random: int = 4,
    log=print,
    max_items: int | None = None,
    any_items: int = ANY_TOPOLOGY_ITEMS,
) -> dict:
    """Run both evaluations; returns the tables as nested dicts (mm) plus counts.

    ``max_items`` keeps only the first expressions of each split (quick checks); ``any_items``
    apexes per split are neutralized in another topology."""
    from core.apps.neutralize import neutralize
    from core.assets import load_face, load_landmarks
    from core.data.anny_source import AnnyHead
    from core.generate import MotionGenerator

    t0 = time.time()
    head = AnnyHead()
    gen = MotionGenerator.load(device="cpu")
    pipe = gen.pipeline
    mask = load_face().face_mask
    idx = load_landmarks().indices
    rng = np.random.default_rng(EVAL_SEED)
    ids = head.sample_identities(rng, n_identities)
    neutral = head.vertices(ids, np.arange(n_identities)).astype(np.float64)
    sets = _expression_sets(head.facial_action_labels, rng, n_random)
    sets = {k: v[:max_items] for k, v in sets.items()}

    def err(a, b):  # mean face-region per-vertex distance, mm
        return float(
            np.linalg.norm(np.asarray(a, np.float64) - b, axis=-1)[..., mask].mean() * 1000
        )

    transfer = {k: {m: [] for m in TRANSFER_METHODS} for k in (*sets, "scaled")}
    neutral_err = {k: {m: [] for m in NEUTRAL_METHODS} for k in sets}
    any_err = {k: {m: [] for m in ANY_TOPOLOGY_METHODS} for k in sets}
    diag = {k: {"oracle": [], "landmarks": [], "multilinear landmarks": []} for k in sets}
    from core.apps.motion_model import load_motion_model

    motion_model = load_motion_model()
    for split, items in sets.items():
        for n_item, (name, params) in enumerate(items):
            a, b = n_item % n_identities, (n_item + 1) % n_identities
            src = head.vertices(ids, np.full(30, a), params).astype(np.float64)
            truth = head.vertices(ids, np.full(30, b), params).astype(np.float64)
            nb = neutral[b].astype(np.float32)
            centre = src[0].mean(0)
            for key, sc in ((split, 1.0), ("scaled", SCALED_PERFORMER)):
                preds = _transfers(gen, centre + sc * (src - centre), nb, idx)
                for m, p in preds.items():
                    transfer[key][m].append(err(p, truth))
            diag[split]["oracle"].append(
                err(gen.decode(nb, truth[:, idx].astype(np.float32)), truth)
            )
            copied = (src[:, idx] - src[:1, idx]) + truth[:1, idx]
            diag[split]["landmarks"].append(
                float(np.linalg.norm(copied - truth[:, idx], axis=-1).mean() * 1000)
            )
            carried = motion_model.carry(src[:, idx] - src[:1, idx], src[0, idx], nb[idx])
            diag[split]["multilinear landmarks"].append(
                float(np.linalg.norm(carried + nb[idx] - truth[:, idx], axis=-1).mean() * 1000)
            )
            apex = truth[-1]
            for m in NEUTRAL_METHODS:
                neutral_err[split][m].append(err(neutralize(apex, m, pipe), neutral[b]))
            if n_item < any_items:
                for m, e in _any_topology(apex, neutral[b], mask, n_item).items():
                    any_err[split][m].append(e)
            log(
                f"{split:7s} {name:18s} transfer "
                + " ".join(f"{transfer[split][m][-1]:.3f}" for m in TRANSFER_METHODS)
                + " | neutral "
                + " ".join(f"{neutral_err[split][m][-1]:.3f}" for m in NEUTRAL_METHODS)
            )
    from core.apps.basis_build import held_out_error
    from core.apps.face_basis import FACE_SLIDERS_FILE, load_face_basis
    from core.paths import RESOURCES

    fb = load_face_basis()
    basis = {
        **held_out_error(head, fb, 4 * n_identities),
        "n_sliders": len(fb.sliders),
        "face_sliders_bytes": (RESOURCES / FACE_SLIDERS_FILE).stat().st_size,
        "phenotype_components": len(fb.phen_components),
        "phenotype_grid_points": len(fb.phen_coeffs),
    }
    mean = {
        "basis": basis,
        "transfer": {k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in transfer.items()},
        "neutralize": {
            k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in neutral_err.items()
        },
        "any_topology": {
            k: {m: float(np.mean(v)) if v else float("nan") for m, v in d.items()}
            for k, d in any_err.items()
        },
        "transfer_diagnosis": {
            k: {m: float(np.mean(v)) for m, v in d.items()} for k, d in diag.items()
        },
        "counts": {k: len(v) for k, v in sets.items()},
        "any_topology_counts": {k: len(d["none"]) for k, d in any_err.items()},
        "identities": n_identities,
        "srvf_wins": {k: _srvf_wins(sets[k], transfer[k]) for k in sets},
        "decoder_sha256": pipe.meta.get("sha256", "")[:16],
        "seconds": round(time.time() - t0, 1),
    }
    return mean


def _srvf_wins(items: list, errors: dict) -> list[str]:
    """Names of the expressions on which the SRVF mode beats the absolute mode."""
    pairs = zip(errors["S2D SRVF (paper)"], errors["S2D absolute"], strict=True)
    return [name for (name, _), (q, a) in zip(items, pairs, strict=True) if q < a]


def _transfers(gen, src: np.ndarray, nb: np.ndarray, idx: np.ndarray) -> dict:
    """Each transfer method's frames (T, V, 3) of source frames src (T, V, 3) onto nb (V, 3)."""
    from core.apps.transfer import raw_transfer, rbf_transfer, transfer_landmarks

    src_lm = src[:, idx]
    return {
        "raw displacement": raw_transfer(src, nb),
        "S2D absolute": gen.decode(
            nb, transfer_landmarks(src_lm, nb[idx], "absolute", False, False)
        ),
        "S2D SRVF (paper)": gen.decode(
            nb, transfer_landmarks(src_lm, nb[idx], "srvf", False, False)
        ),
        "S2D multilinear (learned)": gen.decode(
            nb, transfer_landmarks(src_lm, nb[idx], "multilinear", False, False)
        ),
        "RBF (TPS) absolute": rbf_transfer(
            src_lm, nb, idx, "absolute", stabilize_head=False, align=False
        ),
    }


def _any_topology(apex: np.ndarray, truth: np.ndarray, mask: np.ndarray, seed: int) -> dict:
    """Neutralization errors (mm, face region) of ``apex`` (V, 3) re-meshed into another
    topology, fitted from its 68 landmarks; truth (V, 3) is its neutral."""
    import tempfile
    from pathlib import Path

    from core.apps.neutralize import neutralize
    from core.apps.neutralize_any import neutralize_fitted
    from core.assets import load_face, load_landmarks
    from core.fit.any_face import open_face
    from core.fit.remesh import remesh_template
    from core.io.landmarks_io import write_landmarks
    from core.io.mesh_io import save_mesh
    from core.motion import Motion

    face, idx = load_face(), load_landmarks().indices
    r = remesh_template(apex, face.faces, np.ones(face.n_vertices, bool), seed=seed)
    region = np.einsum("vk,vk->v", r.src_bary, mask[r.src_tri].astype(float)) > 0.5
    want = r.on_template(truth)

    def mm(user_vertices):
        got = r.to_template.apply(user_vertices)
        return float(np.linalg.norm(got - want, axis=1)[region].mean() * 1000)

    with tempfile.TemporaryDirectory() as tmp:
        save_mesh(Path(tmp) / "face.obj", r.vertices, r.faces)
        write_landmarks(Path(tmp) / "face.pts", r.to_template.inverse(apex[idx]))
        anyf = open_face(Path(tmp) / "face.obj", landmarks=Path(tmp) / "face.pts")
    frames = np.stack([anyf.neutral, neutralize(anyf.neutral, align=True)])
    return {
        "none": mm(r.vertices),
        "joint on the fitted template": mm(
            anyf.carry_motion(Motion(frames[:, idx], frames)).vertices[1]
        ),
        "joint ICP on the mesh": mm(
            neutralize_fitted(anyf.fit, anyf.mesh.vertices, anyf.mesh.faces)
        ),
    }
