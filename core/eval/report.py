"""``python main.py evaluate``: the decoder evaluation table and curves (docs/evaluation.md).

Models evaluated: the default ``models/s2d_decoder.safetensors`` and the ablations in
``models/ablations/`` (``bash docs/scripts/train_ablations.sh``). Missing models, and models
trained on another data set than the one evaluated (stale: e.g. the ablations trained before
the iBUG-68 landmark fix), are skipped with a note. On the expression split the shipped
architecture (linear shortcut, biharmonic residual, gate) is also fitted in-process without the
held-out expressions at its ridge initialisation (``expression_steps`` training steps, default
0), since the shipped decoder has seen every expression. Baselines are fitted on a seeded subset
of at most ``max_train_frames`` training frames.
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
    "biharmonic": "Biharmonic interpolation of the landmarks (the decoder's fallback)",
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


def _row_name(name: str, meta: dict) -> str:
    """The shipped decoder's row name from its metadata (steps and architecture)."""
    if not name.startswith("S2D-Dec+ (default"):
        return name
    tc = meta.get("train_config", {})
    parts = ["S3 loss"] + (["linear shortcut"] if tc.get("linear_skip") else [])
    if tc.get("landmark_residual"):
        parts.append("biharmonic residual" + (" + gate" if "gate_config" in meta else ""))
    return f"S2D-Dec+ (default: {', '.join(parts)}, {tc.get('steps', '?')} steps)"


def _stale(meta: dict, data) -> bool:
    """True when the weights were trained on another data configuration than ``data``'s."""
    return meta.get("data") != dict(data.config.__dict__)


def _expression_decoder(train, steps: int):
    """The shipped architecture fitted on the expression split's training frames."""
    from core.assets import load_face, resource_path
    from core.mesh.hierarchy import MeshHierarchy
    from core.train.s2d_train import S2DTrainConfig, train_decoder

    cfg = S2DTrainConfig(
        steps=steps,
        linear_skip=True,
        landmark_residual=True,
        gate=True,
        split="expression",
        log_every=max(50, steps // 4),
    )
    hier = MeshHierarchy.load(resource_path("hierarchy.npz"))
    model, _ = train_decoder(train, hier, load_face().loss_weights, cfg)
    return model.eval()


def run_evaluation(
    data,
    out: Path,
    max_test_frames: int = 1500,
    max_train_frames: int = 6000,
    expression_steps: int = 0,
) -> int:
    """Evaluate the decoders of :data:`EVALUATED_MODELS` and the baselines on ``data``.

    data : core.data.synth.SynthData; writes ``out/evaluation.{json,md}`` and
    ``out/figures/cumulative_error_{split}.png``; evaluates on a seeded subset of at most
    ``max_test_frames`` test frames per split; baselines are fitted on at most
    ``max_train_frames`` training frames; ``expression_steps``: training steps of the
    in-process expression-split decoder (negative: none).
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
    t_all = time.time()
    for split in ("identity", "expression"):
        print(f"== {split} split", flush=True)
        train_all = make_split(data, split, "train")
        train = _subset(train_all, max_train_frames)
        test = _subset(make_split(data, split, "test"), max_test_frames)
        target = test.disp.astype(np.float32)
        rows, curves, skipped = {}, {}, []
        models = [(n, p, None) for n, p in EVALUATED_MODELS[split]]
        if split == "expression" and expression_steps >= 0:
            name = f"S2D-Dec+ × gate + residual, no held-out expressions ({expression_steps} steps)"
            models.append(
                (name, None, lambda t=train_all: _expression_decoder(t, expression_steps))
            )
        for name, path, build in models:
            t = time.time()
            if build is not None:
                model, meta = build(), {}
            elif not path.is_file():
                print(f"  (skipped {name}: {path.name} not trained)")
                skipped.append(f"{name} (`{path.name}`: not trained)")
                continue
            else:
                model, meta = load_decoder(path)
                if _stale(meta, data):
                    print(f"  (skipped {name}: {path.name} trained on another data set)")
                    skipped.append(f"{name} (`{path.name}`: stale, trained on older data)")
                    continue
                name = _row_name(name, meta)
            norm = meta.get("train_config", {}).get("normalization", "scale")
            err = vertex_errors_mm(predict_decoder(model, test, norm), target)
            rows[name] = {
                **summarize(err, face.face_mask),
                "model": path.name if path is not None else "fitted in-process",
                "seconds": round(time.time() - t, 1),
            }
            curves[name] = err
        print("  baselines…", flush=True)
        base = predict_baselines(train, test, data.neutral, lm.indices)
        lambdas = base.pop("_lambdas")
        for key, pred in base.items():
            err = vertex_errors_mm(pred, target)
            rows[BASELINE_NAMES[key]] = summarize(err, face.face_mask)
            curves[BASELINE_NAMES[key]] = err
        motion = np.linalg.norm(target, axis=-1) * 1000
        results["splits"][split] = {
            "n_train_frames": len(train_all),
            "n_baseline_train_frames": len(train),
            "n_test_frames": len(test),
            "mean_motion_mm": {
                "all": float(motion.mean()),
                "face": float(motion[:, face.face_mask].mean()),
            },
            "nonlinearity": ridge_nonlinearity(train, _subset(test, 600)),
            "rows": rows,
            "skipped": skipped,
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
        ax.legend(fontsize=6, loc="upper left")
        fig.tight_layout()
        fig.savefig(out / "figures" / f"cumulative_error_{split}.png", dpi=110)
        plt.close(fig)
    results["seconds"] = round(time.time() - t_all, 1)
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
        f"`{json.dumps(res['data'])}`. Run time: {res.get('seconds', 0) / 60:.0f} min "
        "(one torch thread, shared 2-core machine).",
        "",
        "Drag robustness and leave-one-family-out generalisation (issue 10) are in "
        "[generalization.md](generalization.md).",
        "",
    ]
    for split, r in res["splits"].items():
        nl = r["nonlinearity"]
        lines += [
            f"## {split.capitalize()} split",
            "",
            f"{r['n_train_frames']} training frames (baselines fitted on a seeded subset of "
            f"{r.get('n_baseline_train_frames', r['n_train_frames'])}), "
            f"{r['n_test_frames']} test frames; mean "
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
        if r.get("skipped"):
            lines += ["", "Not evaluated: " + "; ".join(r["skipped"]) + "."]
        lines += [
            "",
            f"Baseline regularisation (validated on held-out training identities): {lam}.",
            "",
            f"![cumulative error](figures/cumulative_error_{split}.png)",
            "",
        ]
    lines += ["## Reading the table", "", *_reading(res), ""]
    return "\n".join(lines) + "\n"


def _face(res: dict, split: str, prefix: str) -> float | None:
    """Face-region error (mm) of the first row of ``split`` whose name starts with ``prefix``."""
    for name, row in res["splits"].get(split, {}).get("rows", {}).items():
        if name.startswith(prefix):
            return row["face_mean"]
    return None


def _ablation_reading(res: dict) -> str:
    """The ablation finding, from the ablation rows of the identity split (or why they are
    missing)."""
    s1, s2, s3 = (_face(res, "identity", f"ablation S{k}") for k in (1, 2, 3))
    plain = _face(res, "identity", "paper S2D-Dec, no shortcut")
    metres = _face(res, "identity", "S3 + shortcut, no normalisation")
    if None in (s1, s2, s3, plain, metres):
        return (
            "- **Ablations (loss S1/S2/S3, no shortcut, no normalisation)** are missing from "
            "the tables (models absent or stale, listed under the table): retrain them with "
            "`bash docs/scripts/train_ablations.sh` (six runs of 300-500 steps)."
        )
    lo, hi = min(s1, s2, s3), max(s1, s2, s3)
    return (
        "- **Ablations** (identical short schedules, 300 steps at batch 16: "
        "`docs/scripts/train_ablations.sh`): with the shortcut the three losses end within "
        f"{1000 * (hi - lo):.1f} µm of each other on the face region (S1 {s1:.3f}, S2 {s2:.3f}, "
        f"S3 {s3:.3f} mm), so the weighted projection loss is not what makes the decoder; "
        f"training in metres instead of the scale normalisation gives {metres:.3f} mm "
        f"({metres / s3:.2f}x S3); the paper's decoder without the shortcut, trained as long, "
        f"is far behind at {plain:.3f} mm ({plain / s3:.0f}x): on this data the ridge-"
        "initialised shortcut carries the map and the spiral branch learns a small correction."
    )


def _reading(res: dict) -> list[str]:
    """The findings under the tables, with the figures of ``res``."""
    ident, expr = res["splits"].get("identity", {}), res["splits"].get("expression", {})
    out = []
    if ident:
        nl = ident["nonlinearity"]
        out.append(
            "- **The synthesised data is mostly linear.** A ridge map from the 204 landmark "
            f"displacement values leaves {nl['test_residual_pct']:.0f} % of the dense motion of "
            "unseen identities unexplained (anny's facial actions are linear blendshapes; the "
            "skinned face-rig bones, the local shape changes and the identity variation add the "
            "rest, `docs/data.md`). On such data a well-regularised linear map is a very strong "
            "baseline, much stronger than on the real CoMA scans of the paper."
        )
        dec, pca = _face(res, "identity", "S2D-Dec+ (default"), _face(res, "identity", "PCA-220")
        ridge = _face(res, "identity", "Ridge")
        if dec and pca and ridge:
            out.append(
                f"- **The shipped S2D-Dec+** (ridge-initialised shortcut, biharmonic landmark "
                f"residual, gate; trained 450 steps) is the best method on held-out identities "
                f"but only just: {dec:.3f} mm on the face region against {ridge:.3f} mm for "
                f"ridge and {pca:.3f} mm for PCA-220 ({dec / pca:.2f}x PCA-220; the paper's "
                "0.68x was on real scans). Its landmarks land exactly (the residual), which "
                "neither baseline guarantees."
            )
    if expr:
        nl = expr["nonlinearity"]
        pca, ridge = _face(res, "expression", "PCA-220"), _face(res, "expression", "Ridge")
        fitted = _face(res, "expression", "S2D-Dec+ × gate")  # in-process, ridge initialisation
        trained = _face(res, "expression", "S2D-Dec+ trained")  # models/ablations/expr_S3
        parts = []
        if fitted and pca and ridge:
            parts.append(
                f" The shipped architecture, fitted in-process without the held-out expressions "
                f"at its ridge initialisation, reaches {fitted:.3f} mm on the face region "
                f"(ridge {ridge:.3f}, PCA-220 {pca:.3f} mm)"
            )
        if trained:
            parts.append(
                f"{';' if parts else ' S2D-Dec+'} trained 500 steps without them "
                f"(`models/ablations/expr_S3.safetensors`), {trained:.3f} mm"
            )
        out.append(
            "- **Unseen expressions** are where the methods separate: "
            f"{nl['test_residual_pct']:.0f} % of their motion is non-linear w.r.t. the "
            "training expressions' span and every method's error grows; PCA-220 generalises "
            "best there." + ("".join(parts) + "." if parts else "")
        )
    out.append(_ablation_reading(res))
    out += [
        "- **Interpolation alone** (RBFs on each identity's mesh, the biharmonic interpolation "
        "on the template) explains far less of in-distribution motion than the learned maps; "
        "the biharmonic interpolation is the decoder's own fallback for inputs unlike its "
        "training data, where it is the best method measured (`docs/generalization.md`).",
    ]
    return out
