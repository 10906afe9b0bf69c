"""Evaluation of generated landmark motions (paper Sec. 4.3, Table 3) plus diversity.

Metrics, all on landmark sequences ``(N, T, K, 3)`` in metres:

- :func:`accuracy`: fraction of sequences the LSTM expression classifier
  (:class:`core.models.classifier.ExpressionClassifier`) assigns to their label;
- :func:`frechet_distance`: FID between the classifier features (last LSTM hidden state, 512-d)
  of two sets, here a generated set against the ground-truth test sequences;
- :func:`diversity`: mean over labels of the mean pairwise distance between the sequences of one
  label, a distance being the mean over frames and landmarks of the L2 distance between the
  displacements from frame 0 (so it measures motion, not face shape), in millimetres.

:func:`evaluate_sets` computes them for named sets; the ``evaluate-motion`` command
(:func:`core.eval.motion_report.run_motion_evaluation`) builds the sets (GT, Motion3DGAN, LSTM
baseline; Gen-LM and Det-LM) and :func:`write_report` puts the tables into ``docs/motion3dgan.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError

__all__ = [
    "accuracy", "frechet_distance", "diversity", "evaluate_sets", "confusion_matrix",
    "labelled_sequences", "metrics_markdown", "replace_section", "write_report",
]  # fmt: skip


def accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``pred == labels`` for (N,) int arrays."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    if pred.shape != labels.shape or pred.ndim != 1 or len(pred) == 0:
        raise InvalidInputError(
            f"expected two non-empty (N,) arrays, found {pred.shape} and {labels.shape}"
        )
    return float((pred == labels).mean())


def confusion_matrix(pred: np.ndarray, labels: np.ndarray, n_labels: int) -> np.ndarray:
    """(n_labels, n_labels) int64 counts, rows = true label, columns = prediction."""
    cm = np.zeros((n_labels, n_labels), np.int64)
    np.add.at(cm, (np.asarray(labels), np.asarray(pred)), 1)
    return cm


def _sqrtm_psd(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((c + c.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(f1: np.ndarray, f2: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to features (N1, F) and (N2, F).

    ``|mu1 - mu2|^2 + tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2)``, with the matrix square roots
    by symmetric eigen-decomposition (stable for the rank-deficient covariances of N < F sets,
    where ``scipy.linalg.sqrtm(C1 C2)`` returns complex noise). Float64 throughout.
    """
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    if f1.ndim != 2 or f2.ndim != 2 or f1.shape[1] != f2.shape[1] or min(len(f1), len(f2)) < 2:
        raise InvalidInputError(
            f"expected feature sets (N1, F) and (N2, F) with N >= 2, found {f1.shape}, {f2.shape}"
        )
    mu1, mu2 = f1.mean(0), f2.mean(0)
    c1, c2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    s1 = _sqrtm_psd(c1)
    cross = np.linalg.eigvalsh(s1 @ c2 @ s1)
    tr_cross = np.sqrt(np.clip(cross, 0, None)).sum()
    fid = float(((mu1 - mu2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * tr_cross)
    return max(fid, 0.0)  # rounding can leave -1e-5 for identical sets


def diversity(landmarks: np.ndarray, labels: np.ndarray) -> dict:
    """Mean pairwise motion distance (mm) within each label.

    Parameters
    ----------
    landmarks : (N, T, K, 3) float, metres
    labels : (N,) int

    Returns
    -------
    dict
        ``mean`` (float, mean over the labels with >= 2 sequences) and ``per_label``
        ({label index: mm}).
    """
    lm = np.asarray(landmarks, np.float64)
    disp = (lm - lm[:, :1]) * 1000.0  # (N, T, K, 3) mm
    labels = np.asarray(labels)
    per = {}
    for k in np.unique(labels):
        d = disp[labels == k]
        if len(d) < 2:
            continue
        i, j = np.triu_indices(len(d), 1)
        per[int(k)] = float(np.linalg.norm(d[i] - d[j], axis=-1).mean())
    if not per:
        raise InvalidInputError("diversity: expected a label with at least 2 sequences")
    return {"mean": float(np.mean(list(per.values()))), "per_label": per}


def evaluate_sets(classifier, sets: Mapping[str, tuple[np.ndarray, np.ndarray]], reference) -> dict:
    """Accuracy, FID (against the reference set) and diversity of named sequence sets.

    Parameters
    ----------
    classifier : ExpressionClassifier
    sets : {name: (landmarks (N, T, K, 3) metres, labels (N,) int)}
    reference : str or (N, T, K, 3) array
        Name of the ground-truth set the FIDs are measured against, or its landmarks.

    Returns
    -------
    {name: {"accuracy", "fid", "diversity_mm", "n", "predictions", "labels"}}
    """
    if isinstance(reference, str):
        if reference not in sets:
            raise InvalidInputError(f"reference set {reference!r} not among {sorted(sets)}")
        ref_feats = None
    else:
        ref_feats = classifier.predict(reference)[1]
    feats, out = {}, {}
    for name, (lm, lab) in sets.items():
        pred, f = classifier.predict(lm)
        feats[name] = f
        out[name] = {
            "accuracy": accuracy(pred, lab),
            "n": int(len(lab)),
            "diversity_mm": diversity(lm, lab)["mean"],
            "predictions": pred.tolist(),
            "labels": np.asarray(lab).tolist(),
        }
    ref_feats = feats[reference] if ref_feats is None else ref_feats
    for name in sets:
        out[name]["fid"] = frechet_distance(feats[name], ref_feats)
    return out


def labelled_sequences(data, part: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labelled sequences of a SynthData identity split, static ones dropped.

    Returns landmarks (N, T, K, 3) float32 metres, labels (N,) int64, identities (N,) int64.
    """
    import torch

    from core.geometry.srvf import is_static

    if part not in ("train", "test"):
        raise InvalidInputError(f"part: expected 'train' or 'test', found {part!r}")
    test = data.id_test[data.seq_identity]
    sel = test if part == "test" else ~test
    lm, lab, ident = data.seq_landmarks[sel], data.seq_label[sel], data.seq_identity[sel]
    moving = ~is_static(torch.as_tensor(lm).flatten(2)).numpy()
    return lm[moving], lab[moving].astype(np.int64), ident[moving].astype(np.int64)


def _fmt(x, pct: bool = False) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.2f}" if pct else f"{x:.2f}"


def metrics_markdown(res: dict) -> str:
    """Markdown tables (Table-3 layout + diversity) of :func:`evaluate_sets`-style results.

    ``res`` maps ``"Gen-LM"`` / ``"Det-LM"`` to ``{"GT": ..., "Motion3DGAN": ..., "LSTM": ...}``
    entries (missing rows or columns print as ``–``), plus ``"train_real"`` for the real-data
    reference rows.
    """
    methods = ("GT", "Motion3DGAN", "LSTM")
    lines = [
        "| Landmarks | Acc. GT (%) | Acc. Motion3DGAN (%) | Acc. LSTM (%) | "
        "FID GT | FID Motion3DGAN | FID LSTM |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in ("Gen-LM", "Det-LM"):
        r = res.get(row) or {}
        if not r:
            continue
        acc = [_fmt((r.get(m) or {}).get("accuracy"), True) for m in methods]
        fid = [_fmt((r.get(m) or {}).get("fid")) for m in methods]
        lines.append(f"| {row} | " + " | ".join(acc + fid) + " |")
    lines += ["", "| Set (Gen-LM) | n | diversity (mm) | ratio to GT test |", "|---|---|---|---|"]
    gen = res.get("Gen-LM") or {}
    ref = (gen.get("GT") or {}).get("diversity_mm")
    for name, r in list(gen.items()) + list((res.get("train_real") or {}).items()):
        if not isinstance(r, dict) or "diversity_mm" not in r:
            continue
        ratio = r["diversity_mm"] / ref if ref else None
        lines.append(f"| {name} | {r['n']} | {r['diversity_mm']:.2f} | {_fmt(ratio)} |")
    return "\n".join(lines)


def replace_section(text: str, name: str, body: str) -> str:
    """Replace ``<!-- BEGIN name -->...<!-- END name -->`` in ``text`` (append when absent)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        return head + block + rest.split(end, 1)[1]
    return text.rstrip() + "\n\n" + block + "\n"


def write_report(md_path: Path, json_path: Path, section: str, body: str, data: dict) -> None:
    """Put ``body`` into section ``section`` of ``md_path`` and ``data`` into ``json_path``.

    Both writes are atomic; the rest of the markdown file is kept as it is.
    """
    from core.io.atomic import atomic_file

    md_path, json_path = Path(md_path), Path(json_path)
    text = md_path.read_text() if md_path.is_file() else "# Motion3DGAN\n"
    new = replace_section(text, section, body)
    with atomic_file(md_path) as tmp:
        Path(tmp).write_text(new)
    old = json.loads(json_path.read_text()) if json_path.is_file() else {}
    old[section] = data
    with atomic_file(json_path) as tmp:
        Path(tmp).write_text(json.dumps(old, indent=1, sort_keys=True) + "\n")
