"""The ``evaluate-motion`` run: Table 3 (accuracy, FID, diversity) into ``docs/motion3dgan.md``.

Metrics come from :mod:`core.eval.motion_eval`; this module builds the sets (GT, Motion3DGAN,
LSTM baseline; Gen-LM and Det-LM), the per-label table and the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.eval.motion_eval import (
    confusion_matrix,
    diversity,
    evaluate_sets,
    labelled_sequences,
    metrics_markdown,
    write_report,
)

__all__ = ["MotionEvalConfig", "run_motion_evaluation"]


@dataclass(frozen=True)
class MotionEvalConfig:
    """What ``evaluate-motion`` reads and where it writes.

    weights, classifier, baseline, decoder_weights : safetensors files (Motion3DGAN, the LSTM
    classifier, the LSTM baseline, S2D-Dec; a missing decoder skips Det-LM); docs : folder of
    ``motion3dgan.md``; repeats : GAN seed sets for the spread of the metrics.
    """

    weights: Path
    classifier: Path
    baseline: Path
    decoder_weights: Path
    docs: Path
    repeats: int = 5
    device: str = "auto"


def _per_label_seeds(labels: np.ndarray) -> np.ndarray:
    """Seed of each test sequence: its rank among the sequences of its label (0, 1, ...)."""
    seeds = np.zeros(len(labels), np.int64)
    for k in np.unique(labels):
        idx = np.nonzero(labels == k)[0]
        seeds[idx] = np.arange(len(idx))
    return seeds


def _decoded_landmarks(
    gen, neutral: np.ndarray, identity: np.ndarray, seqs: np.ndarray
) -> np.ndarray:
    """Det-LM: decode every sequence (N, T, K, 3) on its identity's neutral, re-gather landmarks."""
    from core.assets import load_landmarks

    idx = load_landmarks().indices
    return np.stack(
        [gen.decode(neutral[i], s)[:, idx] for i, s in zip(identity, seqs, strict=True)]
    )


def run_motion_evaluation(data, cfg: MotionEvalConfig) -> int:
    """Table 3 + diversity of ``data``'s test sequences into ``cfg.docs / "motion3dgan.md"``.

    data : core.data.synth.SynthData (its test identities' sequences are the GT set).
    """
    import time

    from core.data.recipes import LABELS
    from core.generate import MotionGenerator
    from core.models.classifier import BASELINE_KIND, CLASSIFIER_KIND
    from core.models.loaders import load_sequence_model

    t0 = time.time()
    docs = Path(cfg.docs)
    fig_dir = docs / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    lm_te, lab_te, id_te = labelled_sequences(data, "test")
    lm_tr, lab_tr, _ = labelled_sequences(data, "train")
    clf, clf_meta = load_sequence_model(cfg.classifier, CLASSIFIER_KIND)
    base, base_meta = load_sequence_model(cfg.baseline, BASELINE_KIND)
    gen = MotionGenerator.load(cfg.weights, cfg.device, cfg.decoder_weights)
    from core.models.loaders import load_gan

    _, gan_meta = load_gan(cfg.weights)
    seeds = _per_label_seeds(lab_te)
    q, length = gen.sample_srvf([LABELS[k] for k in lab_te], seeds.tolist())
    gan_lm = np.stack([gen.landmark_motion(q[i], length[i], lm_te[i, 0]) for i in range(len(q))])
    lstm_lm = base.generate(lab_te, lm_te[:, 0])
    sets = {"GT": (lm_te, lab_te), "Motion3DGAN": (gan_lm, lab_te), "LSTM": (lstm_lm, lab_te)}
    res = {"Gen-LM": evaluate_sets(clf, sets, "GT")}
    reps = [res["Gen-LM"]["Motion3DGAN"]]
    for r in range(1, cfg.repeats):  # other seed sets: spread of the GAN metrics
        qr, lr_ = gen.sample_srvf([LABELS[k] for k in lab_te], (seeds + 1000 * r).tolist())
        lm_r = np.stack([gen.landmark_motion(qr[i], lr_[i], lm_te[i, 0]) for i in range(len(qr))])
        reps.append(evaluate_sets(clf, {"GT": (lm_te, lab_te), "GAN": (lm_r, lab_te)}, "GT")["GAN"])
    res["seed_sets"] = {
        m: {
            "mean": float(np.mean([x[m] for x in reps])),
            "std": float(np.std([x[m] for x in reps])),
            "n_sets": len(reps),
        }
        for m in ("accuracy", "fid", "diversity_mm")
    }
    res["train_real"] = {
        "GT train (real)": {"n": int(len(lab_tr)), "diversity_mm": diversity(lm_tr, lab_tr)["mean"]}
    }
    dec_path = Path(cfg.decoder_weights)
    if dec_path.is_file():
        det = {
            name: (_decoded_landmarks(gen, data.neutral, id_te, lm), lab)
            for name, (lm, lab) in sets.items()
        }
        res["Det-LM"] = evaluate_sets(clf, det, lm_te)
        res["det_landmark_error_um"] = {
            name: float(np.linalg.norm(det[name][0] - sets[name][0], axis=-1).mean() * 1e6)
            for name in sets
        }
    per_label = _per_label_table(
        res, sets, LABELS, gan_lm, lm_te, lstm_lm, length, lab_te, lm_tr, lab_tr
    )
    _figures(fig_dir, res, LABELS, per_label, gan_meta)
    body = _report_body(
        res, per_label, LABELS, gan_meta, clf_meta, base_meta, dec_path.is_file(), time.time() - t0
    )
    slim = {
        k: (
            {
                n: {m: v for m, v in r.items() if m not in ("predictions", "labels")}
                for n, r in rows.items()
            }
            if k in ("Gen-LM", "Det-LM", "train_real")
            else rows
        )
        for k, rows in res.items()
    }
    write_report(
        docs / "motion3dgan.md",
        docs / "motion3dgan_metrics.json",
        "motion-eval",
        body,
        {
            "tables": slim,
            "per_label": per_label,
            "models": {
                "motion3dgan": gan_meta.get("sha256"),
                "classifier": clf_meta.get("sha256"),
                "lstm_baseline": base_meta.get("sha256"),
            },
        },
    )
    print(body)
    return 0


def _per_label_table(
    res, sets, labels, gan_lm, lm_te, lstm_lm, gan_len, lab_te, lm_tr, lab_tr
) -> dict:
    from core.models.normalization import landmark_scale

    gen = res["Gen-LM"]
    div = {name: diversity(lm, lab)["per_label"] for name, (lm, lab) in sets.items()}
    div_tr = diversity(lm_tr, lab_tr)["per_label"]

    def _len(lm):
        rel = (lm - lm[:, :1]) / landmark_scale(lm[:, 0])[:, None, None, None]
        return np.linalg.norm(np.diff(rel.reshape(len(lm), lm.shape[1], -1), axis=1), axis=-1).sum(
            1
        )

    len_real, len_gan = _len(lm_te.astype(np.float64)), np.asarray(gan_len)

    def _apex(lm):  # mean landmark displacement of the last frame, mm
        return np.linalg.norm(lm[:, -1] - lm[:, 0], axis=-1).mean(-1) * 1000

    apex = {"real": _apex(lm_te), "gan": _apex(gan_lm), "lstm": _apex(lstm_lm)}
    out = {}
    for k, name in enumerate(labels):
        m = lab_te == k
        row = {"n_test": int(m.sum())}
        for set_name in sets:
            pred = np.asarray(gen[set_name]["predictions"])
            row[f"acc_{set_name}"] = float((pred[m] == k).mean()) if m.any() else None
            row[f"div_{set_name}"] = div[set_name].get(k)
        row["div_train"] = div_tr.get(k)
        row["length_real"] = float(len_real[m].mean()) if m.any() else None
        row["length_gan"] = float(len_gan[m].mean()) if m.any() else None
        for key, a in apex.items():
            row[f"apex_mm_{key}"] = float(a[m].mean()) if m.any() else None
        out[name] = row
    return out


def _report_body(
    res, per_label, labels, gan_meta, clf_meta, base_meta, has_decoder, seconds
) -> str:
    import datetime

    gen = res["Gen-LM"]
    ss = res["seed_sets"]
    acc_gt, acc_lstm = gen["GT"]["accuracy"], gen["LSTM"]["accuracy"]
    acc_gan, fid_gan, d_gan = (ss[m]["mean"] for m in ("accuracy", "fid", "diversity_mm"))
    fid_lstm, d_gt = gen["LSTM"]["fid"], gen["GT"]["diversity_mm"]
    checks = [
        (
            "GAN accuracy >= 0.9 x GT accuracy",
            acc_gan >= 0.9 * acc_gt,
            f"{100 * acc_gan:.1f} % vs 0.9 x {100 * acc_gt:.1f} % = {90 * acc_gt:.1f} %",
        ),
        (
            "GAN accuracy > LSTM accuracy",
            acc_gan > acc_lstm,
            f"{100 * acc_gan:.1f} % vs {100 * acc_lstm:.1f} %",
        ),
        ("GAN FID < LSTM FID", fid_gan < fid_lstm, f"{fid_gan:.2f} vs {fid_lstm:.2f}"),
        (
            "GAN diversity >= 0.5 x real (GT test)",
            d_gan >= 0.5 * d_gt,
            f"{d_gan:.2f} mm vs 0.5 x {d_gt:.2f} mm = {0.5 * d_gt:.2f} mm",
        ),
    ]
    lines = [
        f"Measured by `python main.py evaluate-motion` on {datetime.date.today().isoformat()} "
        f"in {seconds:.0f} s. Test set: {gen['GT']['n']} ground-truth sequences of the "
        "test identities; Motion3DGAN: one sample per test sequence (same label, seed set 0 = "
        "seeds 0..n-1 per label, replayed on that sequence's neutral landmarks); LSTM: the "
        "baseline's "
        "single motion per label on the same neutrals. FID against the GT test features.",
        "",
        f"Models: motion3dgan `{gan_meta.get('sha256')}`, classifier `{clf_meta.get('sha256')}`,"
        f" lstm_baseline `{base_meta.get('sha256')}`.",
        "",
        metrics_markdown(res),
        "",
    ]
    if not has_decoder:
        lines += [
            "Det-LM: not measured (no S2D-Dec weights at models/s2d_decoder.safetensors "
            "when this ran; rerun the command once they exist).",
            "",
        ]
    lines += [
        f"Motion3DGAN over {ss['accuracy']['n_sets']} seed sets (seeds + 1000 r): accuracy "
        f"{100 * ss['accuracy']['mean']:.1f} ± {100 * ss['accuracy']['std']:.1f} %, FID "
        f"{ss['fid']['mean']:.2f} ± {ss['fid']['std']:.2f}, diversity "
        f"{ss['diversity_mm']['mean']:.2f} ± {ss['diversity_mm']['std']:.2f} mm (Gen-LM).",
        "",
    ]
    if "det_landmark_error_um" in res:
        err = res["det_landmark_error_um"]
        lines += [
            "Det-LM landmarks differ from the decoded input landmarks by "
            + ", ".join(f"{k} {v:.1f} µm" for k, v in err.items())
            + " on average (S2D-Dec reproduces its landmark vertices closely, and "
            "re-extraction gathers vertices, without a detector's noise).",
            "",
        ]
    lines += [
        "Targets, with the Motion3DGAN numbers averaged over the seed sets:",
        "",
        "| Target | met | measured |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {'yes' if ok else '**no**'} | {txt} |" for name, ok, txt in checks]
    lines += [
        "",
        "Per label (Gen-LM accuracy %; diversity mm; mean curve length L in face-scale "
        "units; apex = mean landmark displacement of the last frame, mm):",
        "",
        "| label | n | acc GT | acc GAN | acc LSTM | div GT | div GAN | div train | "
        "L real | L GAN | apex real | apex GAN | apex LSTM |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in labels:
        r = per_label[name]

        def f(x, pct=False):
            return "–" if x is None else (f"{100 * x:.0f}" if pct else f"{x:.2f}")

        lines.append(
            f"| {name} | {r['n_test']} | {f(r['acc_GT'], 1)} | {f(r['acc_Motion3DGAN'], 1)} | "
            f"{f(r['acc_LSTM'], 1)} | {f(r['div_GT'])} | {f(r['div_Motion3DGAN'])} | "
            f"{f(r['div_train'])} | {f(r['length_real'])} | {f(r['length_gan'])} | "
            f"{f(r['apex_mm_real'])} | {f(r['apex_mm_gan'])} | {f(r['apex_mm_lstm'])} |"
        )
    lines += [
        "",
        "![confusion](figures/motion_confusion.png)",
        "![diversity and length](figures/motion_diversity.png)",
        "![training](figures/motion_training.png)",
    ]
    return "\n".join(lines)


def _figures(fig_dir: Path, res, labels, per_label, gan_meta) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gen = res["Gen-LM"]
    n = len(labels)
    fig, axes = plt.subplots(1, 2, figsize=(15, 7))
    for ax, name in zip(axes, ("GT", "Motion3DGAN"), strict=True):
        cm = confusion_matrix(gen[name]["predictions"], gen[name]["labels"], n)
        ax.imshow(cm / np.maximum(cm.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(n), labels, fontsize=7)
        ax.set_title(f"{name}: accuracy {100 * gen[name]['accuracy']:.1f} %")
        ax.set_xlabel("predicted")
    axes[0].set_ylabel("true label")
    fig.tight_layout()
    fig.savefig(fig_dir / "motion_confusion.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(3, 1, figsize=(12, 11), sharex=True)
    x = np.arange(n)
    for off, key, lab in (
        (-0.3, "div_GT", "GT test"),
        (-0.1, "div_train", "GT train"),
        (0.1, "div_Motion3DGAN", "Motion3DGAN"),
        (0.3, "div_LSTM", "LSTM"),
    ):
        axes[0].bar(x + off, [per_label[k][key] or 0 for k in labels], 0.2, label=lab)
    axes[0].set_ylabel("diversity (mm)")
    axes[0].legend()
    for off, key, lab in ((-0.15, "length_real", "GT test"), (0.15, "length_gan", "Motion3DGAN")):
        axes[1].bar(x + off, [per_label[k][key] or 0 for k in labels], 0.3, label=lab)
    axes[1].set_ylabel("mean curve length L")
    axes[1].legend()
    for off, key, lab in (
        (-0.25, "apex_mm_real", "GT test"),
        (0.0, "apex_mm_gan", "Motion3DGAN"),
        (0.25, "apex_mm_lstm", "LSTM"),
    ):
        axes[2].bar(x + off, [per_label[k][key] or 0 for k in labels], 0.25, label=lab)
    axes[2].set_ylabel("apex displacement (mm)")
    axes[2].set_xticks(x, labels, rotation=60, fontsize=8)
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(fig_dir / "motion_diversity.png", dpi=110)
    plt.close(fig)

    hist = gan_meta.get("history") or []
    if hist:
        fig, ax = plt.subplots(1, 2, figsize=(12, 4))
        st = [h["step"] for h in hist]
        ax[0].plot(st, [h["wasserstein"] for h in hist], label="critic W estimate")
        ax[0].plot(st, [h["gp"] for h in hist], label="gradient penalty")
        ax[0].set_xlabel("generator step")
        ax[0].legend()
        ax[1].plot(st, [h["rec"] for h in hist], label="L_r (nearest real, L1)")
        ax[1].set_xlabel("generator step")
        ax[1].legend()
        fig.tight_layout()
        fig.savefig(fig_dir / "motion_training.png", dpi=110)
        plt.close(fig)
