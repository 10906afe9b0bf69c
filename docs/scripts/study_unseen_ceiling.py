"""Study: how much of an unseen family is predictable from the 68 landmarks, and structural priors.

Leave one family out as ``python main.py evaluate-generalization`` (``core.eval.generalization``),
on the same kind of test frames (test identities, one family alone, target landmarks exact):

* **oracle** ceilings, fitted *on the held-out family itself* (frames of the training
  identities made of that family alone; never usable in practice): a ridge map from the
  normalised landmark displacements (3K) to the face region's dense displacement, and the
  biharmonic interpolation plus a ridge correction of what it misses. The ridge weight is
  chosen by identity-grouped validation inside that oracle training set.
* **where the interpolation's error lies**: the face-region error split by the distance of the
  vertex to the nearest landmark (< 5 mm, 5-10, 10-20 mm, > 20 mm: held still by the anchor),
  and the share of the total error carried by the worst 10 % of frames.
* the plain interpolation solved on each test identity's own neutral mesh (anchor scaled to
  the face) instead of the template;
* **structural priors without the held-out family's data**, each a least-bending interpolation
  on the template (``core.models.landmark_residual``) with one change, its setting chosen on
  the *other* families' test frames (never on the held-out one): anchor distance; a membrane
  term (``Q + a L``); weights clipped to [0, 1]; a geometric soft anchor growing with the
  distance to the landmarks; a per-vertex stiffness prior ``Q + b diag(m / s²)`` with s the
  vertex's RMS normalised displacement over the training frames of the other families (skin
  that never moves there, e.g. the forehead or the nose bridge, is held stiffer than cheeks
  and lips), alone and with wider anchors.

Run: nice -n 19 python docs/scripts/study_unseen_ceiling.py 400   (test frames per family)
Results in docs/generalization.md.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

torch.set_num_threads(1)

from core.assets import load_face, load_landmarks  # noqa: E402
from core.data.synth import load_synth  # noqa: E402
from core.eval.generalization import HELD_OUT_FAMILIES  # noqa: E402
from core.mesh.topology import connected_components  # noqa: E402
from core.models.landmark_residual import cotangent_laplacian  # noqa: E402
from core.models.normalization import landmark_scale  # noqa: E402

BANDS_MM = (0, 5, 10, 20, np.inf)
LAMBDAS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def family_frames(data, fam, part, identities):
    """Indices of frames of ``identities`` (train or test ones) made of family ``fam`` alone."""
    from core.data.families import family_mask

    bit = family_mask(fam)
    test_id = data.id_test[data.frame_identity]
    who = test_id if identities == "test" else ~test_id
    if part == "alone":
        return np.flatnonzero(who & (data.frame_sources == bit))
    return np.flatnonzero(who & ((data.frame_sources & bit) == 0))  # "without" the family


def frames(data, idx):
    """Normalised landmark displacements (n, K, 3), dense displacements (n, V, 3) metres,
    scales (n,)."""
    ident = data.frame_identity[idx]
    nl = data.neutral_landmarks[ident].astype(np.float64)
    s = landmark_scale(nl)
    x = (data.frame_landmarks[idx].astype(np.float64) - nl) / s[:, None, None]
    return x, data.frame_disp[idx].astype(np.float64), s, ident


class Interp:
    """Least-bending interpolation bases on a neutral mesh (the template by default) for
    several energies."""

    def __init__(self, face, lm_idx, vertices=None):
        from scipy import sparse

        self.v = (face.vertices if vertices is None else vertices).astype(np.float64)
        self.faces = face.faces.astype(np.int64)
        self.lm = np.asarray(lm_idx, np.int64)
        L, m = cotangent_laplacian(self.v, self.faces)
        self.L, self.m = L, m
        self.Q = (L.T @ sparse.diags(1.0 / m) @ L).tocsc()
        comp = connected_components(self.faces, len(self.v))
        self.skin = comp == np.bincount(comp).argmax()
        self.dist = np.sqrt(((self.v[:, None] - self.v[self.lm][None]) ** 2).sum(-1)).min(1)

    def basis(self, anchor=0.02, membrane=0.0, stiff=None, soft=0.0, clip=False):
        """(V, K) basis: Q + membrane * mean-scaled L + stiff (V,) diagonal, anchored beyond
        ``anchor`` metres; ``soft``: a geometric soft anchor, the diagonal ``soft * m (d/1 cm)²``
        growing with the distance d to the nearest landmark; ``clip``: weights clipped to [0, 1]."""
        from scipy import sparse
        from scipy.sparse.linalg import splu

        q = self.Q
        if membrane:
            q = q + membrane * (q.diagonal().mean() / self.L.diagonal().mean()) * self.L
        if stiff is not None:
            q = q + sparse.diags(stiff)
        if soft:
            w = self.m * (self.dist / 0.01) ** 2
            q = q + sparse.diags(soft * w * self.Q.diagonal().mean() / w.mean())
        q = q.tocsc()
        known = ~self.skin | (self.dist > anchor)
        known[self.lm] = True
        free = np.flatnonzero(~known)
        x = np.zeros((len(self.v), len(self.lm)))
        x[self.lm, np.arange(len(self.lm))] = 1.0
        rhs = -(q[free][:, self.lm] @ np.eye(len(self.lm)))
        x[free] = splu(q[free][:, free].tocsc()).solve(np.asarray(rhs))
        return np.clip(x, 0.0, 1.0) if clip else x


def explained(pred, disp, mask):
    """Share of the face-region motion explained: pred, disp (n, V, 3)."""
    err = np.linalg.norm(pred[:, mask] - disp[:, mask], axis=-1).mean()
    return 1.0 - err / np.linalg.norm(disp[:, mask], axis=-1).mean()


def ridge_fit(x, y, groups, rng):
    """Ridge y ≈ x W (x (n, d), y (n, p)); lambda (relative to mean diag) by grouped 4-fold CV."""
    ug = np.unique(groups)
    fold = dict(zip(ug, rng.permutation(len(ug)) % 4, strict=True))
    f = np.array([fold[g] for g in groups])

    def solve(xa, ya, lam):
        g = xa.T @ xa
        return np.linalg.solve(g + lam * np.trace(g) / len(g) * np.eye(len(g)), xa.T @ ya)

    best = None
    for lam in LAMBDAS:
        err = 0.0
        for k in range(4):
            w = solve(x[f != k], y[f != k], lam)
            err += ((x[f == k] @ w - y[f == k]) ** 2).sum()
        if best is None or err < best[0]:
            best = (err, lam)
    return solve(x, y, best[1]), best[1]


def load_study():
    """(n_test from argv, default 400; data; face; face-region mask (V,) bool; landmark
    indices (K,)): what every study script here starts from."""
    n_test = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    data = load_synth()
    face, lms = load_face(), load_landmarks()
    return n_test, data, face, np.asarray(face.face_mask, bool), np.asarray(lms.indices)


def main() -> None:
    t0 = time.time()
    n_test, data, face, mask, lm_idx = load_study()
    interp = Interp(face, lm_idx)
    b0 = interp.basis()
    rng = np.random.default_rng(0)
    test = {}
    for fam in HELD_OUT_FAMILIES:
        idx = family_frames(data, fam, "alone", "test")
        test[fam] = np.sort(rng.choice(idx, min(n_test, len(idx)), replace=False))
    print(f"loaded in {time.time() - t0:.0f} s", flush=True)
    bands = np.digitize(interp.dist * 1000, BANDS_MM[1:-1])  # (V,) 0..3
    variants = {f"anchor {a * 100:g} cm": {"anchor": a} for a in (0.015, 0.02, 0.025, 0.03)}
    variants |= {f"membrane {a:g}": {"membrane": a} for a in (0.003, 0.01, 0.03, 0.1, 1.0)}
    variants |= {"weights clipped to [0, 1]": {"clip": True}}
    variants |= {
        f"anchor {a * 100:g} cm + soft anchor {b:g}": {"anchor": a, "soft": b}
        for a in (0.03, 0.04)
        for b in (0.01, 0.1, 1.0)
    }
    for fam in HELD_OUT_FAMILIES:
        t1 = time.time()
        x, disp, s, _ = frames(data, test[fam])
        pred0 = np.einsum("vk,nkc->nvc", b0, x) * s[:, None, None]
        e0 = explained(pred0, disp, mask)
        # where the error lies
        err = np.linalg.norm(pred0 - disp, axis=-1)  # (n, V)
        motion = np.linalg.norm(disp, axis=-1)
        tot = err[:, mask].sum()
        split = ", ".join(
            f"{BANDS_MM[b]:g}-{BANDS_MM[b + 1]:g} mm: {err[:, mask & (bands == b)].sum() / tot:.0%}"
            f" of error, {motion[:, mask & (bands == b)].sum() / motion[:, mask].sum():.0%} of motion"
            for b in range(4)
        )
        per_frame = np.sort(err[:, mask].sum(1))[::-1]
        top = per_frame[: max(1, len(per_frame) // 10)].sum() / per_frame.sum()
        lm_motion = np.linalg.norm(x * s[:, None, None], axis=-1).mean(1)  # (n,) metres
        moving = motion[:, mask].mean(1) > 0  # a clipped local change may not move at all
        ratio = lm_motion[moving] / motion[moving][:, mask].mean(1)
        print(
            f"== {fam}: biharmonic {e0:.1%}; error by distance to the nearest landmark: {split}; "
            f"worst 10 % of frames carry {top:.0%} of the error; landmark/face motion ratio "
            f"median {np.nanmedian(ratio):.2f}",
            flush=True,
        )
        # oracle: fitted on the held-out family (training identities, that family alone)
        oi = family_frames(data, fam, "alone", "train")
        xo, do, so, io = frames(data, oi)
        yo = (do[:, mask] / so[:, None, None]).reshape(len(oi), -1)
        w, lam = ridge_fit(xo.reshape(len(oi), -1), yo, io, rng)
        po = np.zeros_like(disp)
        po[:, mask] = (x.reshape(len(x), -1) @ w).reshape(len(x), -1, 3) * s[:, None, None]
        e_or = explained(po, disp, mask)
        bo = np.einsum("vk,nkc->nvc", b0[mask], xo)
        wc, lam_c = ridge_fit(xo.reshape(len(oi), -1), yo - bo.reshape(len(oi), -1), io, rng)
        pc = pred0.copy()
        pc[:, mask] += (x.reshape(len(x), -1) @ wc).reshape(len(x), -1, 3) * s[:, None, None]
        e_oc = explained(pc, disp, mask)
        print(
            f"   oracle ridge {e_or:.1%} (lambda {lam:g}, {len(oi)} frames), "
            f"oracle biharmonic + ridge correction {e_oc:.1%} (lambda {lam_c:g})",
            flush=True,
        )
        # the same interpolation on each test identity's own neutral mesh instead of the template
        _, _, _, ident = frames(data, test[fam])
        pred_own = np.zeros_like(disp)
        s_tpl = landmark_scale(face.vertices[lm_idx].astype(np.float64))
        for i in np.unique(ident):
            rel = landmark_scale(data.neutral[i][lm_idx].astype(np.float64)) / s_tpl
            own = Interp(face, lm_idx, data.neutral[i]).basis(anchor=0.02 * rel)  # same share
            sel = ident == i
            pred_own[sel] = np.einsum("vk,nkc->nvc", own, x[sel]) * s[sel, None, None]
        print(f"   on each identity's own mesh: {explained(pred_own, disp, mask):.1%}", flush=True)
        # structural priors, setting chosen on the other families' test frames
        others = [f for f in HELD_OUT_FAMILIES if f != fam]
        val = [frames(data, test[f]) for f in others]

        def score(basis, sets):
            return [
                explained(np.einsum("vk,nkc->nvc", basis, xv) * sv[:, None, None], dv, mask)
                for xv, dv, sv, _ in sets
            ]

        ti = family_frames(data, fam, "without", "train")
        ti = rng.choice(ti, min(3000, len(ti)), replace=False)
        xs, dsp, ss, _ = frames(data, ti)
        mob = np.sqrt(((dsp / ss[:, None, None]) ** 2).sum(-1).mean(0))  # (V,) RMS, normalised
        mob = np.maximum(mob, 1e-3 * mob.max())
        stiff_shape = interp.m / mob**2
        stiff_shape *= interp.Q.diagonal().mean() / stiff_shape.mean()
        vs = dict(variants)
        vs |= {f"stiffness {b:g}": {"stiff": b * stiff_shape} for b in (0.1, 1.0, 10.0, 100.0)}
        vs |= {
            f"membrane 0.01 + stiffness {b:g}": {"membrane": 0.01, "stiff": b * stiff_shape}
            for b in (1.0, 10.0)
        }
        vs |= {
            f"anchor {a * 100:g} cm + stiffness {b:g}": {"anchor": a, "stiff": b * stiff_shape}
            for a in (0.025, 0.03)
            for b in (1.0, 10.0)
        }
        rows = []
        for name, kw in vs.items():
            basis = interp.basis(**kw)
            v_sc = score(basis, val)
            u_sc = score(basis, [(x, disp, s, None)])[0]
            rows.append((np.mean(v_sc), name, v_sc, u_sc))
        for vm, name, v_sc, u_sc in rows:
            print(
                f"   {name:16s} other families {' / '.join(f'{v:.1%}' for v in v_sc)} "
                f"(mean {vm:.1%}) -> unseen {fam} {u_sc:.1%}",
                flush=True,
            )
        best = max(rows)
        print(
            f"   chosen on the other families: {best[1]} -> unseen {fam} {best[3]:.1%} "
            f"(plain {e0:.1%}); {time.time() - t1:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
