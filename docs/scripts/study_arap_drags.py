"""Study: the fold repair of direct drags (``core.geometry.fold_repair``), and its settings.

Issue 10's drag protocol in direct mode (every landmark 5/10/15 mm in ±x and ±z, the other 67
held still), scored like ``tests/benchmarks/bench_drag.py`` (clean: at most 10 of the 8566
triangles turned over and no vertex moving more than 2.5x the drag). The shipped decoder's
direct drags on the neutral face are its biharmonic interpolation (the gate closes on
single-landmark drags), a *linear* map of the landmark motion; here each drag's folded skin
is relaxed by :func:`core.geometry.fold_repair.repair_folds` (libigl's as-rigid-as-possible
deformation within a radius of the folded triangles, started from the biharmonic result) for
radii 1 and 2 cm and 1-10 iterations.

The settings are chosen on a *validation* set, every landmark dragged along the four diagonals
of the frontal plane, and then measured on the protocol's axis-aligned drags. Each drag is also
classed as *crossing* when a held-still landmark lies ahead of the dragged one, closer along
the drag than its length and within 45 degrees of its direction.

Run: nice -n 19 python docs/scripts/study_arap_drags.py
Results in docs/generalization.md.
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.assets import load_face, load_landmarks  # noqa: E402
from core.eval.drag import score_drags, summarize_drags  # noqa: E402
from core.mesh.topology import connected_components  # noqa: E402
from core.models.landmark_residual import ANCHOR_DISTANCE, LandmarkResidual  # noqa: E402

DISTANCES_MM = (5.0, 10.0, 15.0)


def crossing(p, k, vec, dist):
    """Whether dragging landmark k by ``dist`` along unit ``vec`` passes a held-still one."""
    rel = np.delete(p - p[k], k, axis=0)
    proj = rel @ vec
    perp = np.linalg.norm(rel - proj[:, None] * vec, axis=1)
    return bool(np.any((proj > 0) & (proj < dist) & (perp < proj)))


DIAGONALS = {
    f"{sx}x{sz}z": np.array([1.0 if sx == "+" else -1.0, 0.0, 1.0 if sz == "+" else -1.0])
    / np.sqrt(2)
    for sx in "+-"
    for sz in "+-"
}


def drags(p, dist, directions):
    """Every landmark dragged by ``dist`` along each of ``directions`` {name: unit (3,)}."""
    targets, which, names = [], [], []
    for k in range(len(p)):
        for name, vec in directions.items():
            t = p.copy()
            t[k] += dist * vec
            targets.append(t)
            which.append(k)
            names.append(name)
    return np.asarray(targets), np.asarray(which), np.asarray(names)


def main() -> None:
    from core.eval.drag import DIRECTIONS
    from core.geometry.fold_repair import repair_folds

    settings = [(r, i) for r in (0.01, 0.02) for i in (1, 2, 3, 5, 10)]
    face, lms = load_face(), load_landmarks()
    v0 = face.vertices.astype(np.float64)
    f = face.faces.astype(np.int64)
    lm = np.asarray(lms.indices, np.int64)
    comp = connected_components(f, len(v0))
    skin = comp == np.bincount(comp).argmax()
    d = np.sqrt(((v0[:, None] - v0[lm][None]) ** 2).sum(-1)).min(1)
    fixed = ~skin | (d > ANCHOR_DISTANCE)
    fixed[lm] = True
    residual = LandmarkResidual.from_face(face.vertices, face.faces, lm)
    p = v0[lm]
    axes = {k: np.asarray(v, np.float64) for k, v in DIRECTIONS.items()}
    for set_name, dirs_ in (("validation: diagonal drags", DIAGONALS), ("protocol: ±x, ±z", axes)):
        print(f"== {set_name}", flush=True)
        for mm in DISTANCES_MM:
            dist = mm / 1000
            targets, which, names = drags(p, dist, dirs_)
            lin = v0 + residual.apply_numpy(targets - p)
            cross = np.array(
                [crossing(p, k, dirs_[n], dist) for k, n in zip(which, names, strict=True)]
            )
            rows = [("biharmonic", lin, 0.0)]
            for r, it in settings:
                t1 = time.time()
                out = np.stack([repair_folds(v0, x, f, fixed, r, it)[0] for x in lin])
                rows.append((f"repair {r * 100:g} cm, {it} it", out, time.time() - t1))
            for name, dec, sec in rows:
                res = score_drags(v0, f, lm, dec, targets, which, names, dist)
                s = summarize_drags(res)
                ok = res.clean
                print(
                    f"  {mm:g} mm {name:22s}: clean {ok.mean():.1%} ({ok.sum()}/{len(ok)}); "
                    f"crossing {ok[cross].sum()}/{cross.sum()}; other {ok[~cross].sum()}/"
                    f"{(~cross).sum()}; flipped max {s['flipped_max']}, worst vertex "
                    f"{s['worst_vertex_ratio_max']:.2f}x, landmark error max "
                    f"{s['landmark_error_mm_max']:.4f} mm; {sec / len(dec) * 1000:.0f} ms per drag",
                    flush=True,
                )


if __name__ == "__main__":
    main()
