"""Metrics of speech animation (pure numpy; millimetres and milliseconds).

* **LVE**: per frame the largest lip-vertex distance to the reference, mean over frames (mm).
  (CodeTalker/LG-LDM square the distance; we report the distance, the easier unit to read.)
* **FDD**: per upper-face vertex the standard deviation over time of its distance to the neutral
  face, averaged over vertices; the absolute difference between reference and prediction (mm).
* **Closure rate**: the fraction of bilabials (p, b, m) whose frame, ±1 frame, has the inner
  lips closer than :data:`CLOSED_MM`.
* **Audio–lip offset**: the lag (ms) that maximises the correlation of mouth opening with the
  speech envelope within ±:data:`MAX_LAG` frames; negative = the lips lead the sound.
* **Diversity**: mean pairwise distance (mm) between performances of several seeds.

Shapes: T frames, V vertices, N mel frames, M mel bands.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "lve",
    "fdd_per_sequence",
    "closure_rate",
    "audio_lip_offset",
    "diversity",
    "CLOSED_MM",
    "MAX_LAG",
]

#: Inner-lip gap (mm) that counts as closed (the neutral face's gap is 0.2 mm).
CLOSED_MM = 1.5
#: Largest lag (frames) searched by the offset measure.
MAX_LAG = 8


def lve(pred: np.ndarray, ref: np.ndarray, lip: np.ndarray) -> float:
    """pred, ref (T, V, 3) metres; lip (L,) indices → mm."""
    T = min(len(pred), len(ref))
    d = np.linalg.norm(pred[:T, lip] - ref[:T, lip], axis=-1)  # (T, L)
    return float(d.max(1).mean() * 1000)


def fdd_per_sequence(verts: np.ndarray, neutral: np.ndarray, upper: np.ndarray) -> float:
    """Upper-face dynamics of one sequence (T, V, 3) → mm (compare two with abs difference)."""
    d = np.linalg.norm(verts[:, upper] - neutral[None, upper], axis=-1) * 1000  # (T, U)
    return float(d.std(0).mean())


def closure_rate(gap_mm: np.ndarray, times: np.ndarray, fps: float) -> tuple[int, int]:
    """(closed, total) over bilabial times (s) for the inner-lip gap (T,) in mm."""
    closed = 0
    for t in times:
        f = int(round(t * fps))
        w = gap_mm[max(f - 1, 0) : f + 2]
        closed += bool(len(w) and w.min() < CLOSED_MM)
    return closed, len(times)


def audio_lip_offset(
    gap_mm: np.ndarray, mel: np.ndarray, fps: float, mel_rate: float = 100.0
) -> float | None:
    """Lag in ms (negative: lips lead) of mouth opening (T,) against the log-energy envelope of
    mel (N, M); None when either signal is flat."""
    T = len(gap_mm)
    idx = np.clip(np.round(np.arange(T) * mel_rate / fps).astype(int), 0, len(mel) - 1)
    env = np.log(np.exp(mel[idx].astype(np.float64)).mean(1) + 1e-12)  # (T,)
    a = gap_mm - gap_mm.mean()
    b = env - env.mean()
    if a.std() < 1e-6 or b.std() < 1e-6:
        return None
    best, best_lag = -np.inf, 0
    for lag in range(-MAX_LAG, MAX_LAG + 1):
        # lag > 0: the mouth at frame t + lag follows the audio at t
        x = a[max(lag, 0) : T + min(lag, 0)]
        y = b[max(-lag, 0) : T - max(lag, 0)]
        c = float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-12))
        if c > best:
            best, best_lag = c, lag
    return best_lag / fps * 1000


def diversity(samples: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean pairwise mean-vertex distance (mm) of S performances (S, T, V, 3)."""
    S = len(samples)
    x = samples if region is None else samples[:, :, region]
    ds = [np.linalg.norm(x[i] - x[j], axis=-1).mean() for i in range(S) for j in range(i + 1, S)]
    return float(np.mean(ds) * 1000) if ds else 0.0
