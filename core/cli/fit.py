"""Any face mesh: ``fit`` (landmarks + template fit -> FIT.npz) and ``decode --mesh``.

``generate``/``interpolate --neutral FACE`` of another topology use :func:`neutral_face` from
here (the face is fitted automatically, or ``--fit FIT.npz`` / ``--landmarks FILE``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError
from core.glossary import N_LANDMARKS

__all__ = ["register", "cmd_fit", "add_face_args", "neutral_face", "NeutralFace", "decode_on_mesh"]


def register(sub) -> None:
    """Add ``fit``."""
    p = sub.add_parser("fit", help="fit our template to a face mesh of any topology -> FIT.npz")
    p.add_argument("--mesh", required=True, help="face mesh (.obj .ply .glb .gltf .stl)")
    p.add_argument(
        "--landmarks",
        default=None,
        help="68 points or 68 vertex indices (.pts .ljson .json .npy); "
        "default: detected automatically (needs the 'anyface' extra)",
    )
    p.add_argument("--mesh-index", type=int, default=None, help="glTF: which mesh of the file")
    p.add_argument("--out", required=True, help="FIT.npz to write")
    p.set_defaults(func=cmd_fit)


def add_face_args(p) -> None:
    """``--fit`` and ``--landmarks`` for commands that take a face of any topology."""
    p.add_argument("--fit", default=None, help="FIT.npz of --neutral/--mesh (from `main.py fit`)")
    p.add_argument(
        "--landmarks",
        default=None,
        help="68 points or vertex indices on the face (instead of detection)",
    )


def _progress(msg: str, frac: float) -> None:
    print(f"  [{100 * frac:3.0f}%] {msg}", file=sys.stderr)


def _check_out(path: str) -> Path:
    out = Path(path)
    if out.is_dir():
        raise InvalidInputError(f"--out {out} is a folder; give a file name such as FIT.npz")
    if not out.parent.is_dir():
        raise InvalidInputError(f"--out: the folder {out.parent} does not exist; create it first")
    return out


def cmd_fit(args) -> int:
    """Fit, print the error and the frame, write FIT.npz (nothing written on failure)."""
    from core.fit.any_face import open_face
    from core.fit.face_fit import save_fit

    out = _check_out(args.out)
    face = open_face(
        args.mesh, landmarks=args.landmarks, mesh_index=args.mesh_index, progress=_progress
    )
    for note in face.mesh.notes:
        if "expected in metres" not in note:  # the fit finds the units itself
            print(f"note: {note}")
    print(
        f"{face.mesh.n_vertices} vertices, {face.mesh.n_faces} triangles; "
        f"landmarks: {face.fit.meta['method']}"
    )
    print(face.fit.summary())
    save_fit(out, face.fit)
    print(f"wrote {out}")
    return 0


@dataclass(frozen=True)
class NeutralFace:
    """What generate/interpolate need: the neutral the models animate (template topology),
    the export topology, and ``carry`` (None for our own topology)."""

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray | None
    face_uv: np.ndarray | None
    source: str
    units: str
    carry: object = None
    frame: str = ""
    layout: object = None  # the user's polygons and materials (core.io.obj_layout.ObjLayout)
    user: object = None  # the fitted face of another topology (core.fit.any_face.AnyFace)


def neutral_face(
    path: str | None, fit: str | None = None, landmarks: str | None = None
) -> NeutralFace:
    """``--neutral`` (any topology) -> NeutralFace; our own topology is used as is."""
    from core.assets import load_face

    face = load_face()
    if path is None:
        if fit is not None or landmarks is not None:
            raise InvalidInputError(
                "--fit/--landmarks need --neutral FACE (the mesh they belong to)"
            )
        return NeutralFace(face.vertices, face.faces, face.uv, face.face_uv, "default face", "m")
    # core.fit (scipy.spatial, the fitter: ~0.4 s of imports) only for a face file
    from core.fit.any_face import open_face
    from core.fit.face_fit import faces_sha256
    from core.fit.load import load_any_mesh

    mesh = load_any_mesh(path)
    same = mesh.n_vertices == face.n_vertices and faces_sha256(mesh.faces) == faces_sha256(
        face.faces
    )
    if same and fit is None and landmarks is None:
        return _own_topology(path, mesh, face)
    print(
        f"{path}: {mesh.n_vertices} vertices in another topology; fitting our template to it",
        file=sys.stderr,
    )
    anyf = open_face(path, landmarks=landmarks, fit=fit, progress=_progress)
    print(anyf.fit.summary(), file=sys.stderr)
    frame = (
        "frames are in the face's own coordinates and vertex order ('up' below is not "
        f"applied): {anyf.fit.meta['text']}"
    )
    return NeutralFace(
        anyf.neutral,
        anyf.mesh.faces,
        anyf.mesh.uv,
        anyf.mesh.face_uv,
        anyf.source,
        anyf.units,
        anyf.carry_motion,
        frame,
        anyf.mesh.layout,
        anyf,
    )


def _own_topology(path: str, mesh, face) -> NeutralFace:
    """A face of our topology, checked against the template (:mod:`core.io.face_check`):
    collapsed, reordered and mirrored faces are refused, a rotated one is animated upright and
    its frames turned back into the file's pose (``carry``); notes are printed."""
    import dataclasses

    from core.assets import load_landmarks
    from core.io.face_check import check_face

    chk = check_face(
        mesh.vertices, face.vertices, face.faces, load_landmarks().indices, Path(path).name
    )
    for note in (*mesh.notes, *chk.notes):
        print(f"note: {note}")
    carry = None
    if chk.rotation is not None:

        def carry(motion):
            return dataclasses.replace(motion, vertices=chk.to_file(motion.vertices))

    uv, fuv = (mesh.uv, mesh.face_uv) if mesh.uv is not None else (face.uv, face.face_uv)
    return NeutralFace(
        chk.vertices, face.faces, uv, fuv, str(Path(path).resolve()), chk.units, carry
    )


def decode_on_mesh(args, pipe, lms: np.ndarray) -> np.ndarray:
    """``decode --mesh FACE``: target landmarks (B, 68, 3) on FACE -> (B, V_FACE, 3)."""
    from core.fit.any_face import open_face

    if args.fit is not None and args.landmarks is not None:
        raise InvalidInputError("give either --landmarks or --fit, not both")
    lms = np.asarray(lms)
    if lms.ndim != 3 or lms.shape[1:] != (N_LANDMARKS, 3) or not np.isfinite(lms).all():
        raise InvalidInputError(
            f"{args.input}: expected finite 'landmarks' (B, 68, 3) in the face's coordinates, "
            f"found shape {lms.shape}"
        )
    face = open_face(args.mesh, landmarks=args.landmarks, fit=args.fit, progress=_progress)
    return face.decode_landmarks(pipe, lms).astype(np.float32)
