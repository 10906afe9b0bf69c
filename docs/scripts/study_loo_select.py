"""Study: choose the interpolation's reach per frame by leave-one-landmark-out, leave one family out.

``study_unseen_ceiling.py`` finds that a wider free region (anchor 2.5-3 cm) with a stiffness
prior helps unseen actions and bones and hurts unseen local changes, which stay local. This
study lets each frame choose among a few least-bending priors by how well each one predicts
the frame's *own* landmarks: every landmark k is predicted from the other K-1 (its basis
recomputed with k free), and the prior with the smallest leave-one-out landmark error is used
for the frame's dense motion. No held-out-family data is used: the stiffness prior comes from
the training frames without that family, the choice from the test frame's landmarks alone.

Run: nice -n 19 python docs/scripts/study_loo_select.py 400 [stiff|plain|wide|compact]\n(test frames per family; the candidate priors: anchors 2-5 cm with the stiffness prior, anchors\n2-3 cm without it, anchors 2-5 cm x stiffness 0.3/1/3, or anchor 2 cm plain and 2 / 5 cm with the stiffness prior);\nthe leave-one-out map is checked against its closed form (``loo_closed_form``)
Results in docs/generalization.md.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from study_unseen_ceiling import Interp, explained, family_frames, frames, load_study  # noqa: E402

from core.eval.generalization import HELD_OUT_FAMILIES  # noqa: E402


def loo_weights(interp: Interp, kw: dict) -> np.ndarray:
    """(K, K) row k: landmark k's displacement predicted from the others (diagonal 0)."""
    k_all = len(interp.lm)
    w = np.zeros((k_all, k_all))
    lm = interp.lm
    for k in range(k_all):
        keep = np.delete(np.arange(k_all), k)
        interp.lm = lm[keep]
        try:
            b = interp.basis(**kw)  # (V, K-1), vertex lm[k] free
        finally:
            interp.lm = lm
        w[k, keep] = b[lm[k]]
    return w


def loo_closed_form(interp: Interp, basis: np.ndarray, kw: dict) -> np.ndarray:
    """The same (K, K) map without K solves: freeing landmark k moves the minimiser along basis
    column k, so its optimal value is r_k - (B_k^T Q B r) / (B_k^T Q B_k); with the Gram matrix
    G = B^T Q B (Q the energy, stiffness included) the map is -(G - diag G) / diag G."""
    from scipy import sparse

    q = interp.Q
    if kw.get("stiff") is not None:
        q = q + sparse.diags(kw["stiff"])
    g = basis.T @ (q @ basis)  # (K, K)
    d = np.diag(g).copy()
    w = -g / d[:, None]
    np.fill_diagonal(w, 0.0)
    return w


def main() -> None:
    t0 = time.time()
    n_test, data, face, mask, lm_idx = load_study()
    interp = Interp(face, lm_idx)
    rng = np.random.default_rng(0)
    test = {}
    for fam in HELD_OUT_FAMILIES:
        idx = family_frames(data, fam, "alone", "test")
        test[fam] = np.sort(rng.choice(idx, min(n_test, len(idx)), replace=False))
    for fam in HELD_OUT_FAMILIES:
        t1 = time.time()
        ti = family_frames(data, fam, "without", "train")
        ti = rng.choice(ti, min(3000, len(ti)), replace=False)
        _, dsp, ss, _ = frames(data, ti)
        mob = np.sqrt(((dsp / ss[:, None, None]) ** 2).sum(-1).mean(0))
        mob = np.maximum(mob, 1e-3 * mob.max())
        stiff = interp.m / mob**2
        stiff *= interp.Q.diagonal().mean() / stiff.mean()
        sets = sys.argv[2] if len(sys.argv) > 2 else "stiff"
        priors = {"anchor 2 cm (plain)": {}}
        if sets == "plain":  # anchors only, no data-derived stiffness
            priors |= {f"anchor {a * 100:g} cm": {"anchor": a} for a in (0.025, 0.03)}
        elif sets == "compact":  # the two the stiff set picks most, besides the plain one
            priors |= {
                f"anchor {a * 100:g} cm + stiffness 1": {"anchor": a, "stiff": stiff}
                for a in (0.02, 0.05)
            }
        else:
            priors |= {
                f"anchor {a * 100:g} cm + stiffness {b:g}": {"anchor": a, "stiff": b * stiff}
                for a in (0.02, 0.025, 0.03, 0.04, 0.05)
                for b in ((1.0,) if sets == "stiff" else (0.3, 1.0, 3.0))
            }
        x, disp, s, _ = frames(data, test[fam])
        preds, loo = [], []
        for kw in priors.values():
            b = interp.basis(**kw)
            preds.append(np.einsum("vk,nkc->nvc", b, x) * s[:, None, None])
            w = loo_weights(interp, kw)
            gap = np.abs(loo_closed_form(interp, b, kw) - w).max()
            assert gap < 1e-6, f"closed-form leave-one-out differs by {gap}"
            loo.append(np.linalg.norm(np.einsum("jk,nkc->njc", w, x) - x, axis=-1).mean(1))
        loo = np.stack(loo)  # (P, n)
        pick = loo.argmin(0)
        chosen = np.stack(preds)[pick, np.arange(len(x))]
        mean_all = explained(np.mean(preds, axis=0), disp, mask)
        scores = ", ".join(
            f"{name} {explained(p, disp, mask):.1%}" for name, p in zip(priors, preds, strict=True)
        )
        share = np.bincount(pick, minlength=len(priors)) / len(pick)
        print(
            f"== {fam}: {scores}; chosen per frame by leave-one-landmark-out "
            f"{explained(chosen, disp, mask):.1%} (picks {', '.join(f'{v:.0%}' for v in share)});"
            f" the candidates' mean {mean_all:.1%};"
            f" best per frame in hindsight "
            f"{explained(np.stack(preds)[best_per_frame(preds, disp, mask), np.arange(len(x))], disp, mask):.1%}"
            f"; {time.time() - t1:.0f} s",
            flush=True,
        )
    print(f"total {time.time() - t0:.0f} s")


def best_per_frame(preds, disp, mask) -> np.ndarray:
    """(n,) index of the prior with the smallest face error per frame (an oracle choice)."""
    err = [np.linalg.norm(p[:, mask] - disp[:, mask], axis=-1).mean(1) for p in preds]
    return np.argmin(np.stack(err), axis=0)


if __name__ == "__main__":
    main()
