"""``python main.py evaluate``: the decoder evaluation table and curves (docs/evaluation.md).

Models evaluated: the default ``models/s2d_decoder.safetensors`` (``python main.py
train-decoder --linear-skip --steps 1200``) and the ablations in ``models/ablations/``
(``bash docs/scripts/train_ablations.sh``). Missing models are skipped with a note. Baselines
are fitted on the same training frames.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from core.paths import MODELS

__all__ = ["run_evaluation", "EVALUATED_MODELS", "BASELINE_NAMES"]

ABL = MODELS / "ablations"
#: Decoders evaluated per split: (row name, weights file).
EVALUATED_MODELS = {
    "identity": [
        (
            "S2D-Dec+ (default: S3 loss, linear shortcut, 1200 steps)",
            MODELS / "s2d_decoder.safetensors",
        ),
        ("ablation S1: L_dr only (300 steps)", ABL / "id_S1.safetensors"),
        ("ablation S2: L_dr + unweighted L_pr (300 steps)", ABL / "id_S2.safetensors"),
        ("ablation S3: L_dr + weighted L_pr (300 steps)", ABL / "id_S3.safetensors"),
        ("paper S2D-Dec, no shortcut, S3 loss (300 steps)", ABL / "id_plain_S3.safetensors"),
        ("S3 + shortcut, no normalisation (metres, 300 steps)", ABL / "id_norm_none.safetensors"),
    ],
    "expression": [
        (
            "S2D-Dec+ trained without the held-out expressions (500 steps)",
            ABL / "expr_S3.safetensors",
        ),
    ],
}
BASELINE_NAMES = {
    "pca38": "PCA-38 fit to landmarks",
    "pca220": "PCA-220 fit to landmarks",
    "rbf_tps": "RBF thin-plate spline",
    "rbf_gauss": "RBF Gaussian falloff (2 cm)",
    "ridge": "Ridge regression (linear map)",
}


def _subset(split, n, seed=0):
    from core.train.s2d_train import DecoderSplit

    if len(split) <= n:
        return split
    idx = np.sort(np.random.default_rng(seed).choice(len(split), n, replace=False))
    return DecoderSplit(
        split.neutral_lm[idx],
        split.target_lm[idx],
        split.disp[idx],
        split.identity[idx],
        split.label[idx],
    )


def run_evaluation(data, out: Path, max_test_frames: int = 1500) -> int:
    """Evaluate the decoders of :data:`EVALUATED_MODELS` and the baselines on ``data``.

    data : core.data.synth.SynthData; writes ``out/evaluation.{json,md}`` and
    ``out/figures/cumulative_error_{split}.png``; evaluates on a seeded subset of at most
    ``max_test_frames`` test frames per split.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from core.assets import load_face, load_landmarks
    from core.eval.decoder_eval import (
        predict_baselines,
        predict_decoder,
        ridge_nonlinearity,
        summarize,
        vertex_errors_mm,
    )
    from core.models.loaders import load_decoder
    from core.train.s2d_train import make_split

    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    face, lm = load_face(), load_landmarks()
    results = {"data": data.config.__dict__, "splits": {}}
    for split in ("identity", "expression"):
        print(f"== {split} split")
        train = make_split(data, split, "train")
        test = _subset(make_split(data, split, "test"), max_test_frames)
        target = test.disp.astype(np.float32)
        rows, curves = {}, {}
        for name, path in EVALUATED_MODELS[split]:
            if not path.is_file():
                print(f"  (skipped {name}: {path.name} not trained)")
                continue
            model, meta = load_decoder(path)
            norm = meta.get("train_config", {}).get("normalization", "scale")
            t = time.time()
            err = vertex_errors_mm(predict_decoder(model, test, norm), target)
            rows[name] = {
                **summarize(err, face.face_mask),
                "model": path.name,
                "seconds": round(time.time() - t, 1),
            }
            curves[name] = err
        print("  baselines…")
        base = predict_baselines(train, test, data.neutral, lm.indices)
        lambdas = base.pop("_lambdas")
        for key, pred in base.items():
            err = vertex_errors_mm(pred, target)
            rows[BASELINE_NAMES[key]] = summarize(err, face.face_mask)
            curves[BASELINE_NAMES[key]] = err
        motion = np.linalg.norm(target, axis=-1) * 1000
        results["splits"][split] = {
            "n_train_frames": len(train),
            "n_test_frames": len(test),
            "mean_motion_mm": {
                "all": float(motion.mean()),
                "face": float(motion[:, face.face_mask].mean()),
            },
            "nonlinearity": ridge_nonlinearity(train, _subset(test, 600)),
            "rows": rows,
            "baseline_lambdas": lambdas,
        }
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = np.logspace(-3, 1, 200)  # 1 µm … 10 mm: the best methods differ below 0.1 mm
        for name, err in curves.items():
            flat = np.sort(err.ravel())
            ax.plot(
                xs,
                np.searchsorted(flat, xs) / flat.size,
                label=name,
                lw=2.2 if name.startswith("S2D-Dec+") else 1.2,
            )
        ax.set_xscale("log")
        ax.set_xlabel("per-vertex error (mm, log scale)")
        ax.set_ylabel("fraction of vertices")
        ax.set_title(f"Cumulative error, {split} split")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "figures" / f"cumulative_error_{split}.png", dpi=110)
        plt.close(fig)
    (out / "evaluation.json").write_text(json.dumps(results, indent=1))
    (out / "evaluation.md").write_text(_markdown(results))
    print((out / "evaluation.md").read_text())
    return 0


def _markdown(res: dict) -> str:
    lines = [
        "# S2D-Dec evaluation",
        "",
        "Generated by `python main.py evaluate` (per-vertex Euclidean error, mm, mean ± std "
        "over every vertex of every test frame; *face* = the face region of "
        "`resources/face.npz`). Data: anny synthesis "
        f"`{json.dumps(res['data'])}`.",
        "",
    ]
    for split, r in res["splits"].items():
        nl = r["nonlinearity"]
        lines += [
            f"## {split.capitalize()} split",
            "",
            f"{r['n_train_frames']} training frames, {r['n_test_frames']} test frames; mean "
            f"ground-truth motion {r['mean_motion_mm']['all']:.2f} mm (all vertices), "
            f"{r['mean_motion_mm']['face']:.2f} mm (face). Distance from linear: a ridge "
            f"regression leaves {nl['train_residual_pct']:.1f} % (train) / "
            f"{nl['test_residual_pct']:.1f} % (test) of the motion unexplained.",
            "",
            "| method | all vertices (mm) | face region (mm) |",
            "|---|---|---|",
        ]
        for name, row in sorted(r["rows"].items(), key=lambda kv: kv[1]["all_mean"]):
            lines.append(
                f"| {name} | {row['all_mean']:.3f} ± {row['all_std']:.3f} | "
                f"{row['face_mean']:.3f} ± {row['face_std']:.3f} |"
            )
        lam = ", ".join(f"{k} {v:g}" for k, v in r.get("baseline_lambdas", {}).items())
        lines += [
            "",
            f"Baseline regularisation (validated on held-out training identities): {lam}.",
            "",
            f"![cumulative error](figures/cumulative_error_{split}.png)",
            "",
        ]
    lines += [
        "## Reading the table",
        "",
        "- **The synthesised data is almost linear.** A ridge map from the 204 landmark "
        "displacement values explains ~97 % of the dense motion of unseen identities. anny's "
        "facial actions are identity-independent linear blendshapes; only the skinned bone "
        "poses and the identity variation add non-linearity (see `docs/data.md`). On such data "
        "a well-regularised linear map is close to optimal, and it is a much stronger baseline "
        "than on the real CoMA scans of the paper.",
        "- **The paper's S2D-Dec** (no shortcut) cannot rebuild that linear map precisely "
        "through its 17-vertex bottleneck within our CPU budget (a few epochs instead of the "
        "paper's 300); it is far behind.",
        "- **S2D-Dec+** (our shortcut, initialised with the validated ridge solution) starts "
        "exactly at the ridge baseline; its spiral branch lowers the training loss, but on "
        "held-out identities and held-out expressions it stays within a few percent of ridge / "
        "PCA-220 rather than the targeted 0.6x. We report this as it is (no target was tuned).",
        "- **Loss ablation (Table 2):** with the shortcut the three losses give the same error "
        "within noise; the paper's ordering is not reproduced on this data.",
        "- **Normalisation:** dividing displacements by the face's landmark scale (default) "
        "clearly beats metres (`no normalisation` row): faces from toddlers to adults share one "
        "model.",
        "- **Unseen expressions** are where the methods separate: every method's error grows "
        "(33 % of the motion is non-linear w.r.t. the training expressions' span); PCA-220 "
        "generalises best there.",
        "",
    ]
    return "\n".join(lines) + "\n"
