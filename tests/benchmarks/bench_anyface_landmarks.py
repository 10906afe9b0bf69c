"""Detected landmarks on re-meshed anny identities the detector response was not trained on.

    OMP_NUM_THREADS=1 nice -n 10 python tests/benchmarks/bench_anyface_landmarks.py \
        [--identities 8] [--fixed-embedding]

Identity i is ``default_rng(1000 + i)`` (training used seed 7), re-meshed (subdivided, shuffled,
cm, y up). Per identity it prints, in mm: the detector's 478 points against where the fixed
embedding (our mean face's own detection) puts them on the true identity (``mp_consist``); the
iBUG-68 points of the table in ``core/fit/mp68.py`` against the true 68 (``ibug68_table``), and
the 68 the studio shows before fitting (the learned mapping when shipped, ``ibug68_detected``); the
fitted template against the truth over the face region (``corr``) and the fitted 68 landmarks
(``fit68``); then the means, and the 68 errors per region.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.assets import load_face, load_identity_basis, load_landmarks  # noqa: E402
from core.fit.detect import detect_face, template_mediapipe_points  # noqa: E402
from core.fit.face_fit import fit_face  # noqa: E402
from core.fit.mp68 import ibug68_from_mediapipe, table_ibug68  # noqa: E402
from core.fit.remesh import remesh_template  # noqa: E402
from core.io.mesh_io import MeshData  # noqa: E402

REGIONS = {"jaw": (0, 17), "brows": (17, 27), "nose": (27, 36), "eyes": (36, 48), "mouth": (48, 68)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--identities", type=int, default=8)
    ap.add_argument("--fixed-embedding", action="store_true")
    args = ap.parse_args()
    if args.fixed_embedding:
        from core.fit import detector_response

        detector_response.load_response = lambda: None
    face, lm, basis = load_face(), load_landmarks(), load_identity_basis()
    rows, table68, det68, fit68 = [], [], [], []
    for i in range(args.identities):
        rng = np.random.default_rng(1000 + i)
        alpha = rng.normal(size=len(basis["std"])) * basis["std"]
        ident = (basis["mean"] + np.tensordot(alpha, basis["basis"], axes=1)).astype(float)
        r = remesh_template(ident, face.faces, face.skin, seed=i, scale=100.0)
        t0 = time.perf_counter()
        det = detect_face(r.vertices, r.faces)
        fit = fit_face(MeshData(r.vertices, r.faces), detection=det)
        seconds = time.perf_counter() - t0
        pts = r.to_template.apply(det.points)
        e478 = np.linalg.norm(pts - template_mediapipe_points(ident), axis=1) * 1000
        e_tab = np.linalg.norm(table_ibug68(pts) - ident[lm.indices], axis=1) * 1000
        e_det = np.linalg.norm(ibug68_from_mediapipe(pts) - ident[lm.indices], axis=1) * 1000
        got = fit.to_template.inverse(fit.template_vertices)
        corr = np.linalg.norm(got - r.to_template.inverse(ident), axis=1)[face.face_mask] * 10
        e_fit = np.linalg.norm(r.to_template.apply(fit.landmarks) - ident[lm.indices], axis=1)
        e_fit = e_fit * 1000
        table68.append(e_tab)
        det68.append(e_det)
        fit68.append(e_fit)
        rows.append(
            {
                "identity": i,
                "detect_fit_s": seconds,
                "mp_consist": float(np.median(e478)),
                "ibug68_table": float(np.median(e_tab)),
                "ibug68_detected": float(np.median(e_det)),
                "corr": float(np.median(corr)),
                "corr_p95": float(np.percentile(corr, 95)),
                "fit68": float(np.median(e_fit)),
                "fit68_mean": float(e_fit.mean()),
            }
        )
        print(json.dumps({k: round(v, 3) for k, v in rows[-1].items()}), flush=True)
    print("mean", json.dumps({k: round(float(np.mean([r[k] for r in rows])), 3) for k in rows[0]}))
    tab, det, fitted = np.stack(table68), np.stack(det68), np.stack(fit68)
    per = {
        k: [round(float(x[:, a:b].mean()), 2) for x in (tab, det, fitted)]
        for k, (a, b) in REGIONS.items()
    }
    print("68 points, mean mm per region [table, detected (shown), fitted]:", json.dumps(per))


if __name__ == "__main__":
    main()
