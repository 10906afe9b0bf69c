"""Measure "any face mesh" (docs/any_face.md): fit and animation error on re-meshed anny faces,
detection and fit on the real meshes in ../shared/meshes (never committed), speed.

    OMP_NUM_THREADS=1 nice -n 10 python tests/benchmarks/bench_any_face.py [--meshes DIR]
        [--figures docs/figures] [--json /tmp/anyface/bench.json] [--fixed-embedding]

Re-meshed faces: a random identity of the PCA identity basis, subdivided (4x the triangles),
shuffled, moved into cm/mm and other axes; one is cut to a face mask (holes, no back of head).
Fit error: the fitted template's vertices against their true positions (face region). Animation
error: our motion on the re-meshed face (fit + binding) against the true motion of that identity
(the model's own animation on our topology, carried to the re-meshed vertices exactly), per vertex
and frame, face region, in mm.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.assets import load_face, load_identity_basis, load_landmarks  # noqa: E402
from core.fit.align import Similarity  # noqa: E402
from core.fit.any_face import AnyFace  # noqa: E402
from core.fit.face_fit import fit_face  # noqa: E402
from core.fit.load import load_any_mesh  # noqa: E402
from core.fit.raster import View, render  # noqa: E402
from core.fit.remesh import random_rotation, remesh_template  # noqa: E402
from core.io.mesh_io import MeshData  # noqa: E402

LABELS = ("happy", "surprised", "sad")


def _stats(e: np.ndarray) -> dict:
    return {
        "median": float(np.median(e)),
        "p95": float(np.percentile(e, 95)),
        "mean": float(np.mean(e)),
    }


def _offset_scheme(anyf: AnyFace, frames: np.ndarray) -> np.ndarray:
    """The alternative binding: barycentric point + the bind-time offset along the (moving)
    interpolated template normal; frames (T, V_t, 3) template frame -> (T, V, 3) user."""
    from core.fit.raster import vertex_normals

    fit, b = anyf.fit, anyf.fit.binding
    tv, tf = fit.template_vertices, load_face().faces
    u = fit.to_template.apply(anyf.mesh.vertices)
    base = np.einsum("vk,vkc->vc", b.bary, tv[b.tri])
    n0 = np.einsum("vk,vkc->vc", b.bary, vertex_normals(tv, tf)[b.tri])
    n0 /= np.maximum(np.linalg.norm(n0, axis=1, keepdims=True), 1e-12)
    off = ((u - base) * n0).sum(axis=1)  # signed distance along the normal
    tang = u - base - off[:, None] * n0  # what the normal does not explain (rigid part)
    out = []
    for f in frames:
        n = np.einsum("vk,vkc->vc", b.bary, vertex_normals(f, tf)[b.tri])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        p = np.einsum("vk,vkc->vc", b.bary, f[b.tri]) + off[:, None] * n + tang
        out.append(fit.to_template.inverse(p))
    return np.stack(out)


def remeshed_faces(gen) -> list[dict]:
    face, lm, basis = load_face(), load_landmarks(), load_identity_basis()
    rows = []
    rng = np.random.default_rng(0)
    cases = [
        ("cm, y up, full head", 100.0, None, False),
        ("mm, random rotation, full head", 1000.0, random_rotation(rng), False),
        ("m, z up, face mask only", 1.0, np.eye(3), True),
    ]
    for k, (name, scale, rot, mask) in enumerate(cases):
        alpha = rng.normal(size=len(basis["std"])) * basis["std"]
        ident = basis["mean"] + np.tensordot(alpha, basis["basis"], axes=1)  # (V_t, 3)
        keep = face.skin.copy()
        if mask:
            keep &= ident[:, 1] < np.percentile(ident[face.skin, 1], 45)  # front 45 %
        r = remesh_template(ident, face.faces, keep, seed=10 + k, scale=scale, rotation=rot)
        mesh = MeshData(r.vertices, r.faces)
        for method in ("detected", "true 68 landmarks"):
            pts = None
            if method != "detected":
                pts = r.to_template.inverse(ident[lm.indices].astype(float))
            t0 = time.perf_counter()
            try:
                fit = fit_face(mesh, pts)
            except Exception as exc:  # noqa: BLE001 - report, keep measuring
                rows.append({"case": name, "method": method, "error": str(exc)})
                continue
            t_fit = time.perf_counter() - t0
            true_user = r.to_template.inverse(ident.astype(float))
            got_user = fit.to_template.inverse(fit.template_vertices)
            region = face.face_mask & keep
            corr = np.linalg.norm(got_user - true_user, axis=1)[region] / scale * 1000
            anim, anim_off = [], []
            anyf = AnyFace(mesh, fit, name)
            for i, label in enumerate(LABELS):
                truth = gen.generate(label, i, neutral=ident.astype(np.float32))
                true_user_frames = r.to_template.inverse(r.on_template(truth.vertices))
                m_fit = gen.generate(label, i, neutral=anyf.neutral)
                ours = anyf.carry_motion(m_fit)
                e = np.linalg.norm(ours.vertices - true_user_frames, axis=2) / scale * 1000
                inside = face.face_mask[r.src_tri].all(axis=1)
                anim.append(e[:, inside])
                alt = _offset_scheme(anyf, m_fit.vertices)
                e = np.linalg.norm(alt - true_user_frames, axis=2) / scale * 1000
                anim_off.append(e[:, inside])
            anim = np.concatenate([a.ravel() for a in anim])
            anim_off = np.concatenate([a.ravel() for a in anim_off])
            motion = np.concatenate(
                [
                    np.linalg.norm(
                        r.on_template(
                            gen.generate(label, i, neutral=ident.astype(np.float32)).vertices
                        )
                        - r.on_template(ident[None]),
                        axis=2,
                    ).ravel()
                    * 1000
                    for i, label in enumerate(LABELS)
                ]
            )
            rows.append(
                {
                    "case": name,
                    "method": method,
                    "vertices": len(r.vertices),
                    "fit_s": t_fit,
                    "correspondence_mm": _stats(corr),
                    "animation_error_mm": _stats(anim),
                    "animation_error_normal_offset_mm": _stats(anim_off),
                    "motion_mm_mean": float(motion.mean()),
                    "units": fit.meta["units"],
                    "up": fit.meta["up"],
                    "facing": fit.meta["facing"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _peak_render(anyf: AnyFace, verts: np.ndarray, size: int = 320) -> np.ndarray:
    sim: Similarity = anyf.fit.to_template
    fwd = sim.rotation.T @ np.array([0.0, 1.0, 0.0])
    up = sim.rotation.T @ np.array([0.0, 0.0, 1.0])
    lm = anyf.fit.landmarks
    center = lm.mean(axis=0)
    extent = 2.6 * float(np.ptp(lm, axis=0).max())
    return render(verts, anyf.mesh.faces, View(fwd, up, center, extent, size)).image


def real_meshes(gen, folder: Path, figures: Path | None) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.obj")):
        mesh = load_any_mesh(path)
        t0 = time.perf_counter()
        try:
            fit = fit_face(mesh)
        except Exception as exc:  # noqa: BLE001
            rows.append({"mesh": path.name, "detected": False, "error": str(exc)})
            print(json.dumps(rows[-1]), flush=True)
            continue
        t_fit = time.perf_counter() - t0
        anyf = AnyFace(mesh, fit, str(path))
        row = {
            "mesh": path.name,
            "vertices": mesh.n_vertices,
            "detected": True,
            "method": fit.meta["method"],
            "fit_s": t_fit,
            **{
                k: fit.meta[k]
                for k in ("units", "up", "facing", "error_template_mm", "error_face_mm")
            },
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
        if figures is not None:
            from PIL import Image

            tiles = [_peak_render(anyf, mesh.vertices)]
            for i, label in enumerate(LABELS):
                m = anyf.carry_motion(gen.generate(label, i, neutral=anyf.neutral))
                tiles.append(_peak_render(anyf, m.vertices[-1]))
            Image.fromarray(np.concatenate(tiles, axis=1)).save(
                figures / f"any_face_{path.stem}.png", optimize=True
            )
    return rows


def speed(gen, folder: Path) -> dict:
    """Detection + fit of a ~50k-vertex scan; 30 frames in its topology vs ours."""
    import trimesh

    src = load_any_mesh(folder / "lee_perry_smith_scan.obj")
    tm = trimesh.Trimesh(src.vertices, src.faces, process=False)
    edge = float(tm.edges_unique_length.mean())
    best = None
    for f in (0.8, 0.7, 0.6, 0.55, 0.5):
        v, fc = trimesh.remesh.subdivide_to_size(tm.vertices, tm.faces, max_edge=edge * f)
        best = (v, fc)
        if len(v) >= 50_000:
            break
    mesh = MeshData(np.asarray(best[0]), np.asarray(best[1]))
    t0, c0 = time.perf_counter(), time.process_time()
    fit = fit_face(mesh)
    t_fit, c_fit = time.perf_counter() - t0, time.process_time() - c0
    anyf = AnyFace(mesh, fit, "scan")
    face = load_face()
    ours, theirs = [], []
    for rep in range(3):
        t0 = time.perf_counter()
        gen.generate("happy", rep, neutral=face.vertices)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        anyf.carry_motion(gen.generate("happy", rep, neutral=anyf.neutral))
        theirs.append(time.perf_counter() - t0)
    row = {
        "vertices": mesh.n_vertices,
        "detect_fit_s": t_fit,
        "detect_fit_cpu_s": c_fit,
        "generate_ours_s": min(ours),
        "generate_theirs_s": min(theirs),
        "ratio": min(theirs) / min(ours),
        "load": os.getloadavg(),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    default = next(
        (p / "shared" / "meshes" for p in ROOT.parents if (p / "shared" / "meshes").is_dir()),
        ROOT.parent / "shared" / "meshes",
    )
    ap.add_argument("--meshes", default=str(default), help="real meshes (never committed)")
    ap.add_argument("--figures", default=None, help="write the label renders here")
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--fixed-embedding",
        action="store_true",
        help="ignore resources/mediapipe_response.npz (the detector's points fixed on the template)",
    )
    ap.add_argument("--skip", nargs="*", default=(), choices=("remeshed", "real", "speed"))
    args = ap.parse_args()
    from core.generate import MotionGenerator

    if args.fixed_embedding:
        from core.fit import detector_response

        detector_response.load_response = lambda: None

    gen = MotionGenerator.load()
    out = {"load_before": os.getloadavg()}
    if "remeshed" not in args.skip:
        out["remeshed"] = remeshed_faces(gen)
    folder = Path(args.meshes)
    if folder.is_dir() and "real" not in args.skip:
        out["real"] = real_meshes(gen, folder, Path(args.figures) if args.figures else None)
    if folder.is_dir() and "speed" not in args.skip:
        out["speed"] = speed(gen, folder)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
