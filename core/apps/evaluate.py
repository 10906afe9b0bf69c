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
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

__all__ = ["EVAL_SEED", "evaluate_apps", "write_report"]

EVAL_SEED = 4242
TRANSFER_METHODS = ("raw displacement", "S2D absolute", "S2D SRVF (paper)", "RBF (TPS) absolute")
NEUTRAL_METHODS = ("none", "basis", "paper", "joint")


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

    inside = [(lab, sample_sequence(lab, fa, rng)) for lab in LABELS
              if lab not in EXPRESSION_SPLIT_TEST_LABELS]
    outside = [(lab, sample_sequence(lab, fa, rng)) for lab in EXPRESSION_SPLIT_TEST_LABELS]
    allowed = tuple(a for a in fa if a not in HELD_OUT_ACTIONS)
    for k in range(n_random):
        apex = sample_random_mixture(fa, rng, 1, exclude_actions=allowed)
        s = sequence_weights(rng)[:, None]
        outside.append((f"held-out mix {k}", FaceParams(
            s * apex.facial_actions, s * apex.jaw_deg,
            {b: s * v for b, v in apex.bones.items()})))
    return {"inside": inside, "outside": outside}


def evaluate_apps(n_identities: int = 6, n_random: int = 4, log=print) -> dict:
    """Run both evaluations; returns the tables as nested dicts (mm) plus counts."""
    from core.apps.neutralize import neutralize
    from core.apps.transfer import raw_transfer, rbf_transfer, transfer_landmarks
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

    def err(a, b):  # mean face-region per-vertex distance, mm
        return float(np.linalg.norm(np.asarray(a, np.float64) - b, axis=-1)[..., mask].mean()
                     * 1000)

    transfer = {k: {m: [] for m in TRANSFER_METHODS} for k in sets}
    neutral_err = {k: {m: [] for m in NEUTRAL_METHODS} for k in sets}
    for split, items in sets.items():
        for n_item, (name, params) in enumerate(items):
            a, b = n_item % n_identities, (n_item + 1) % n_identities
            src = head.vertices(ids, np.full(30, a), params).astype(np.float64)
            truth = head.vertices(ids, np.full(30, b), params).astype(np.float64)
            src_lm = src[:, idx]
            nb = neutral[b].astype(np.float32)
            preds = {
                "raw displacement": raw_transfer(src, nb),
                "S2D absolute": gen.decode(nb, transfer_landmarks(src_lm, nb[idx], "absolute",
                                                                  False, False)),
                "S2D SRVF (paper)": gen.decode(nb, transfer_landmarks(src_lm, nb[idx], "srvf",
                                                                      False, False)),
                "RBF (TPS) absolute": rbf_transfer(src_lm, nb, idx, "absolute",
                                                   stabilize_head=False, align=False),
            }
            for m, p in preds.items():
                transfer[split][m].append(err(p, truth))
            apex = truth[-1]
            for m in NEUTRAL_METHODS:
                neutral_err[split][m].append(err(neutralize(apex, m, pipe), neutral[b]))
            log(f"{split:7s} {name:18s} transfer " + " ".join(
                f"{transfer[split][m][-1]:.3f}" for m in TRANSFER_METHODS) + " | neutral " +
                " ".join(f"{neutral_err[split][m][-1]:.3f}" for m in NEUTRAL_METHODS))
    from core.apps.basis_build import held_out_error
    from core.apps.face_basis import FACE_SLIDERS_FILE, load_face_basis
    from core.paths import RESOURCES

    fb = load_face_basis()
    basis = {**held_out_error(head, fb, 4 * n_identities), "n_sliders": len(fb.sliders),
             "face_sliders_bytes": (RESOURCES / FACE_SLIDERS_FILE).stat().st_size,
             "phenotype_components": len(fb.phen_components),
             "phenotype_grid_points": len(fb.phen_coeffs)}
    mean = {"basis": basis, "transfer": {k: {m: float(np.mean(v)) for m, v in d.items()}
                         for k, d in transfer.items()},
            "neutralize": {k: {m: float(np.mean(v)) for m, v in d.items()}
                           for k, d in neutral_err.items()},
            "counts": {k: len(v) for k, v in sets.items()}, "identities": n_identities,
            "decoder_sha256": pipe.meta.get("sha256", "")[:16],
            "seconds": round(time.time() - t0, 1)}
    return mean


def _table(rows: dict, methods, best_low: bool = True) -> list[str]:
    lines = ["| method | inside the recipes | outside the recipes |", "|---|---|---|"]
    for m in methods:
        cells = []
        for split in ("inside", "outside"):
            v = rows[split][m]
            best = min(rows[split].values()) if best_low else None
            cells.append(f"**{v:.3f}**" if v == best else f"{v:.3f}")
        lines.append(f"| {m} | {cells[0]} | {cells[1]} |")
    return lines


def write_report(res: dict, path: Path) -> Path:
    """``docs/applications.md`` from :func:`evaluate_apps`'s result (and the basis summary)."""
    from core.io.atomic import atomic_write_bytes

    t, n, basis = res["transfer"], res["neutralize"], res.get("basis")
    lines = [
        "# Applications: timelines, performance transfer, face creator, neutralization",
        "",
        "Numbers from `python main.py evaluate-apps` (needs anny; about "
        f"{res['seconds']:.0f} s on 2 shared cores), on {res['identities']} anny identities "
        f"drawn with seed {EVAL_SEED} (never used to build the bases), "
        f"{res['counts']['inside']} expressions inside the recipes and "
        f"{res['counts']['outside']} outside (expression-split test labels and random mixtures of "
        "held-out actions with bone poses). Errors: mean per-vertex distance in the face region, "
        f"mm. Decoder: `models/s2d_decoder.safetensors` (sha256 {res['decoder_sha256']}…).",
        "",
        "## Performance transfer",
        "",
        "Identity A performs a 30-frame motion; identity B must perform it; the truth is anny's B "
        "with the same expression parameters.",
        "",
        *_table(t, TRANSFER_METHODS),
        "",
        "## Neutralization",
        "",
        "The apex of each expression on a held-out identity, against its true neutral face. "
        "`none` returns the input; `basis` fits the identity basis alone; `paper` moves the "
        "landmarks to the aligned mean neutral landmarks through S2D-Dec; `joint` fits the "
        "identity and expression bases together and subtracts the fitted expression.",
        "",
        *_table(n, NEUTRAL_METHODS),
        "",
    ]
    if basis:
        lines += ["## Face creator basis", "",
                  f"`resources/face_sliders.npz`: {basis['face_sliders_bytes'] / 1e6:.2f} MB, "
                  f"{basis['n_sliders']} sliders ({basis['phenotype_components']} phenotype "
                  f"components over {basis['phenotype_grid_points']} grid faces, local changes "
                  "linear on each side). Held-out reconstruction against anny on "
                  f"{basis['held_out_identities']} random identities: mean "
                  f"{basis['held_out_mean_mm']:.4f} mm, max {basis['held_out_max_mm']:.3f} mm "
                  "(`python main.py build-face-basis`).", ""]
    atomic_write_bytes(path, "\n".join(lines).encode())
    return Path(path)
