"""Study: a Gaussian-process prior of random smooth skin fields instead of least bending.

Leave one family out as ``python main.py evaluate-generalization`` (same kind of test frames:
test identities, one family alone, target landmarks exact). Instead of the least-bending
interpolation (``core.models.landmark_residual``), the dense motion is predicted from the 68
landmark displacements by kriging under a prior that knows nothing of any family: random
smooth fields on the skin, each a sum of compact bumps (Wendland (1 - r/R)^4 (4 r/R + 1) of
the distance r *along the mesh* from a centre, so the upper and lower lips or the two eyelids
do not move together), every component independent. The prior's covariance is

    K = sum_R w_R sum_c phi_{c,R} phi_{c,R}^T

over bump centres c (face-region vertices) and radii R; the prediction for landmark
displacements x is ``K_vl (K_ll + eps I)^-1 x`` (exact at the landmarks for small eps).

The only settings are the weights w_R of the radii. They are chosen without the held-out
family: each candidate is scored on the other families' test frames (the prior never sees any
family's data, so those are as unseen to it as the held-out one).

Variants: a single radius R; power laws w_R ~ R^a (a mixture of reaches); the power law chosen
on the other two families for each held-out one.

Run: nice -n 19 python docs/scripts/study_field_prior.py 400   (test frames per family)
Results in docs/generalization.md.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scipy import sparse  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402

from core.eval.generalization import HELD_OUT_FAMILIES  # noqa: E402
from core.mesh.topology import connected_components  # noqa: E402
from core.models.landmark_residual import LandmarkResidual  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from study_unseen_ceiling import explained, family_frames, frames, load_study  # noqa: E402

RADII_MM = (5, 8, 12, 18, 27, 40, 60)


def wendland(t):
    t = np.clip(t, 0.0, 1.0)
    return (1 - t) ** 4 * (4 * t + 1)


class FieldPrior:
    """Per-radius covariance blocks of random bump fields on the template's skin."""

    def __init__(self, face, lm_idx, n_centres=2500, seed=0):
        v = face.vertices.astype(np.float64)
        f = face.faces.astype(np.int64)
        e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
        w = np.linalg.norm(v[e[:, 0]] - v[e[:, 1]], axis=1)
        g = sparse.coo_matrix((w, (e[:, 0], e[:, 1])), shape=(len(v), len(v))).tocsr()
        g = g.maximum(g.T)
        comp = connected_components(f, len(v))
        skin = comp == np.bincount(comp).argmax()
        mask = np.asarray(face.face_mask, bool)
        rng = np.random.default_rng(seed)
        pool = np.flatnonzero(mask & skin)
        centres = np.union1d(rng.choice(pool, min(n_centres, len(pool)), replace=False), lm_idx)
        rmax = max(RADII_MM) / 1000
        t0 = time.time()
        d = dijkstra(g, indices=centres, limit=rmax)  # (C, V), inf beyond rmax
        d[~np.isfinite(d)] = np.inf
        print(f"   geodesics from {len(centres)} centres in {time.time() - t0:.0f} s", flush=True)
        self.lm = np.asarray(lm_idx)
        self.kvl, self.kll = {}, {}
        for r in RADII_MM:
            phi = sparse.csr_matrix(wendland(d / (r / 1000)))  # (C, V)
            kvl = np.asarray((phi.T @ phi[:, self.lm]).todense())  # (V, K)
            scale = np.trace(kvl[self.lm]) / len(self.lm)  # unit mean variance at the landmarks
            self.kvl[r] = kvl / scale
            self.kll[r] = kvl[self.lm] / scale

    def basis(self, weights, extra=None, eps=1e-6):
        """(V, K) kriging basis for radius weights {R: w}; ``extra``: (kvl, kll) added."""
        kvl = sum(w * self.kvl[r] for r, w in weights.items())
        kll = sum(w * self.kll[r] for r, w in weights.items())
        if extra is not None:
            kvl, kll = kvl + extra[0], kll + extra[1]
        kll = kll + eps * np.trace(kll) / len(kll) * np.eye(len(kll))
        return np.linalg.solve(kll, kvl.T).T


def predict(basis, x, s):
    return np.einsum("vk,nkc->nvc", basis, x) * s[:, None, None]


def main() -> None:
    t0 = time.time()
    n_test, data, face, mask, lm_idx = load_study()
    residual = LandmarkResidual.from_face(face.vertices, face.faces, lm_idx)
    b0 = residual.basis.double().numpy()
    prior = FieldPrior(face, lm_idx)
    rng = np.random.default_rng(0)
    test = {}
    for fam in HELD_OUT_FAMILIES:
        idx = family_frames(data, fam, "alone", "test")
        test[fam] = frames(data, np.sort(rng.choice(idx, min(n_test, len(idx)), replace=False)))
    print(f"loaded in {time.time() - t0:.0f} s", flush=True)

    cands = {f"R {r} mm": {r: 1.0} for r in RADII_MM}
    for a in (-2.0, -1.0, 0.0, 1.0, 2.0):
        cands[f"power {a:+g}"] = {r: (r / 18.0) ** a for r in RADII_MM}
    scores = {}
    for name, w in cands.items():
        b = prior.basis(w)
        scores[name] = {
            fam: explained(predict(b, x, s), dsp, mask) for fam, (x, dsp, s, _) in test.items()
        }
    base = {fam: explained(predict(b0, x, s), dsp, mask) for fam, (x, dsp, s, _) in test.items()}
    print("prior                 " + "  ".join(f"{f:>8s}" for f in HELD_OUT_FAMILIES))
    print("biharmonic (shipped)  " + "  ".join(f"{base[f]:8.1%}" for f in HELD_OUT_FAMILIES))
    for name, sc in scores.items():
        print(f"{name:22s}" + "  ".join(f"{sc[f]:8.1%}" for f in HELD_OUT_FAMILIES), flush=True)
    chosen = {}
    for fam in HELD_OUT_FAMILIES:
        others = [f for f in HELD_OUT_FAMILIES if f != fam]
        best = max(scores, key=lambda n: np.mean([scores[n][o] for o in others]))
        chosen[fam] = (best, scores[best][fam])
    print(
        "chosen on the other families: "
        + "; ".join(f"{f}: {n} -> {v:.1%}" for f, (n, v) in chosen.items()),
        flush=True,
    )
    print(f"done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
