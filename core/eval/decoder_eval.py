"""``python main.py evaluate``: S2D-Dec, its ablations and baselines on both splits.

Metric (as the paper): per-vertex Euclidean error in millimetres, mean ± std over every vertex
of every test frame, over all vertices and over the face region; plus the cumulative error
curve (fraction of vertices under each error). Writes ``docs/evaluation.md``, a JSON file and
PNG curves.
"""

from __future__ import annotations

import numpy as np
import torch

from core.eval.baselines import PCAFit, rbf_displacement
from core.models.normalization import landmark_scale, normalize_input, output_factor
from core.models.ridge import RidgeMap, validated_lambda

__all__ = [
    "vertex_errors_mm",
    "summarize",
    "predict_decoder",
    "predict_baselines",
    "ridge_nonlinearity",
]


def vertex_errors_mm(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N, V, 3) metres → (N, V) Euclidean error in mm."""
    return np.linalg.norm(pred.astype(np.float64) - target.astype(np.float64), axis=-1) * 1000.0


def summarize(err: np.ndarray, face_mask: np.ndarray) -> dict:
    """Mean/std (mm) over all vertices and over the face region of (N, V) errors."""
    return {
        "all_mean": float(err.mean()),
        "all_std": float(err.std()),
        "face_mean": float(err[:, face_mask].mean()),
        "face_std": float(err[:, face_mask].std()),
    }


@torch.inference_mode()
def predict_decoder(model, split, normalization: str, batch: int = 64) -> np.ndarray:
    """Dense displacement (N, V, 3) metres predicted for every frame of a split."""
    out = []
    dev = next(model.parameters()).device
    for s in range(0, len(split), batch):
        nl = torch.as_tensor(split.neutral_lm[s : s + batch], device=dev)
        tl = torch.as_tensor(split.target_lm[s : s + batch], device=dev)
        x = normalize_input(normalization, nl, tl)
        pred = model(x) * output_factor(normalization, nl)[:, None, None]
        out.append(pred.cpu().numpy())
    return np.concatenate(out)


def _xy(split):
    s = landmark_scale(split.neutral_lm)[:, None, None]
    x = ((split.target_lm - split.neutral_lm) / s).reshape(len(split), -1)
    return x, s


def predict_baselines(
    train,
    test,
    neutral_faces,
    landmark_idx,
    pca_ks=(38, 220),
    log=print,
    max_rbf_frames: int | None = None,
) -> dict[str, np.ndarray]:
    """Every baseline's dense displacement (N, V, 3) metres on ``test``.

    neutral_faces : (I, V, 3) neutral meshes indexed by ``split.identity`` (for the RBFs).
    """
    out = {}
    xtr, str_ = _xy(train)
    ytr = train.disp.astype(np.float32) / str_
    xte, ste = _xy(test)
    lambdas = {}
    sub = np.random.default_rng(0).choice(len(train), min(6000, len(train)), replace=False)
    log("  ridge regression (lambda validated on held-out training identities)…")
    lam, _ = validated_lambda(RidgeMap, xtr[sub], ytr[sub], train.identity[sub])
    lambdas["ridge"] = lam
    ridge = RidgeMap(lam=lam).fit(xtr, ytr.reshape(len(train), -1))
    out["ridge"] = ridge.predict(xte).reshape(len(test), -1, 3) * ste
    for k in pca_ks:
        log(f"  PCA-{k} fitting…")
        lam, _ = validated_lambda(
            lambda lam, k=k: PCAFit(k, lam),
            xtr[sub],
            ytr[sub],
            train.identity[sub],
            landmark_idx=landmark_idx,
        )
        lambdas[f"pca{k}"] = lam
        pca = PCAFit(k, lam).fit(ytr, landmark_idx)
        out[f"pca{k}"] = pca.predict(xte.reshape(len(test), -1, 3)) * ste
    out["_lambdas"] = lambdas
    from core.assets import load_face
    from core.models.landmark_residual import LandmarkResidual

    face = load_face()
    interp = LandmarkResidual.from_face(face.vertices, face.faces, landmark_idx)
    out["biharmonic"] = interp.apply_numpy(xte.reshape(len(test), -1, 3)) * ste
    for kernel, name in (("thin_plate_spline", "rbf_tps"), ("gaussian", "rbf_gauss")):
        log(f"  RBF {kernel}…")
        pred = np.zeros((len(test),) + test.disp.shape[1:], np.float64)
        for ident in np.unique(test.identity):
            rows = np.flatnonzero(test.identity == ident)
            dl = test.target_lm[rows] - test.neutral_lm[rows]
            pred[rows] = rbf_displacement(neutral_faces[ident], landmark_idx, dl, kernel=kernel)
        out[name] = pred
    return out


def ridge_nonlinearity(train, test) -> dict:
    """How far from linear the landmark → dense map is: ridge residual as % of the motion."""
    xtr, str_ = _xy(train)
    ytr = (train.disp.astype(np.float32) / str_).reshape(len(train), -1)
    xte, ste = _xy(test)
    yte = (test.disp.astype(np.float32) / ste).reshape(len(test), -1)
    r = RidgeMap(lam=1e-6).fit(xtr, ytr)
    res_tr = np.linalg.norm(ytr - r.predict(xtr)) / np.linalg.norm(ytr)
    res_te = np.linalg.norm(yte - r.predict(xte)) / np.linalg.norm(yte)
    return {"train_residual_pct": float(100 * res_tr), "test_residual_pct": float(100 * res_te)}
