"""Study: a learned *local* linear correction of the biharmonic interpolation, leave one family out.

Each vertex's correction to the biharmonic interpolation (``core.models.landmark_residual``) is
a ridge map from the displacements of its ``m`` nearest landmarks (3m → 3 values per vertex),
fitted on the family-less training frames (the same 3000-frame subsets and 400 test frames as
``python main.py evaluate-generalization``); the correction is then made to vanish at the
landmarks so they stay exact. Printed: share of the face-region motion explained on the unseen
family and on 400 frames of held-out identities of the *trained* families, for every ``m`` and
relative ridge ``lam``. Results in ``docs/generalization.md``.

Run: python docs/scripts/study_local_prior.py 1,3,6 0.01,1,100   (~25 min on 1 thread)
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.assets import load_face, load_landmarks  # noqa: E402
from core.data.families import family_mask  # noqa: E402
from core.data.synth import load_synth  # noqa: E402
from core.eval.generalization import _inputs  # noqa: E402
from core.models.landmark_residual import LandmarkResidual  # noqa: E402
from core.train.s2d_train import DecoderSplit, make_split  # noqa: E402


def _sub(s, idx):
    return DecoderSplit(
        s.neutral_lm[idx], s.target_lm[idx], s.disp[idx], s.identity[idx], s.label[idx]
    )


def fit_local(x, r, nb, lam):
    """x (N, K, 3) inputs, r (N, V, 3) residual targets, nb (V, m) neighbour landmarks →
    A (V, 3m, 3) per-vertex ridge maps (ridge relative to the mean feature variance)."""
    n_v, m = nb.shape
    a = np.zeros((n_v, 3 * m, 3))
    for s0 in range(0, n_v, 400):
        sl = slice(s0, min(n_v, s0 + 400))
        f = x[:, nb[sl], :].transpose(1, 0, 2, 3).reshape(sl.stop - s0, len(x), 3 * m)
        g = np.einsum("vni,vnj->vij", f, f)
        tr = np.trace(g, axis1=1, axis2=2)[:, None, None] / (3 * m)
        g = g + lam * tr * np.eye(3 * m)[None] + 1e-18 * np.eye(3 * m)[None]
        a[sl] = np.linalg.solve(g, np.einsum("vni,nvc->vic", f, r[:, sl]))
    return a


def main() -> None:
    ms = [int(a) for a in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1, 3, 6]
    lams = [float(a) for a in sys.argv[2].split(",")] if len(sys.argv) > 2 else [0.01, 1, 100]
    data = load_synth()
    face, lms = load_face(), load_landmarks()
    mask = face.face_mask
    basis = LandmarkResidual.from_face(face.vertices, face.faces, lms.indices)
    bm = basis.basis.double().numpy()  # (V, K)
    v0 = face.vertices.astype(np.float64)
    order = np.argsort(np.linalg.norm(v0[:, None] - v0[lms.indices][None], axis=-1), 1)
    test_id = data.id_test[data.frame_identity]
    src = data.frame_sources
    rng = np.random.default_rng(0)

    def interp(x):
        return np.einsum("vk,bkc->bvc", bm, x)

    def explained(pred, disp):
        base = np.linalg.norm(disp[:, mask], axis=-1).mean()
        return 1 - np.linalg.norm(pred[:, mask] - disp[:, mask], axis=-1).mean() / base

    for fam in ("actions", "bones", "local"):
        bit = family_mask(fam)
        tr = make_split(data, f"family:{fam}", "train")
        te = make_split(data, f"family:{fam}", "test")
        te = _sub(te, rng.choice(len(te), min(400, len(te)), replace=False))
        trs = _sub(tr, np.sort(rng.choice(len(tr), min(3000, len(tr)), replace=False)))
        xt, st = _inputs(te)
        disp = te.disp.astype(np.float64) / st
        xr, sr = _inputs(trs)
        rr = trs.disp.astype(np.float64) / sr - interp(xr)
        sel = test_id & ((src & bit) == 0)
        ids = data.frame_identity[sel]
        ii = rng.choice(sel.sum(), 400, replace=False)
        ind = DecoderSplit(
            data.neutral_landmarks[ids][ii],
            data.frame_landmarks[sel][ii],
            data.frame_disp[sel][ii],
            ids[ii],
            ids[ii],
        )
        xi, si = _inputs(ind)
        dispi = ind.disp.astype(np.float64) / si
        bt, bi = interp(xt), interp(xi)
        print(
            f"== {fam}: interpolation unseen {explained(bt, disp):.1%} in-dist "
            f"{explained(bi, dispi):.1%}",
            flush=True,
        )
        for m in ms:
            nb = order[:, :m]
            for lam in lams:
                a = fit_local(xr, rr, nb, lam)

                def corr(x, a=a, nb=nb):
                    c = np.einsum("nvi,vic->nvc", x[:, nb, :].reshape(len(x), len(nb), -1), a)
                    return c - interp(c[:, lms.indices])  # the landmarks stay exact

                print(
                    f"  m {m} lam {lam:g}: unseen {explained(bt + corr(xt), disp):.1%}  "
                    f"in-dist {explained(bi + corr(xi), dispi):.1%}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
