"""Replaying an export made on a face of another topology (``python main.py replay``).

The export folder gets :data:`FIT_FILE`: the face's ``FIT.npz`` arrays plus ``neutral`` (V_t, 3)
float32, the template-topology neutral the motion was made on (the fitted template, or that moved
by the Face dock's sliders or Neutralize). The manifest's ``replay.face`` section names the
user's mesh (``path``), ``vertices_sha256`` of ``neutral`` and ``user``: ``mesh_sha256`` (the
mesh file's bytes) and ``fit`` (the file name). :func:`open_user_face` checks both hashes, so a
mesh moved, changed or replaced since the export is refused in one line, then the replayed
template frames are carried to the mesh through the same binding and written in its topology.
When the studio's Neutralize re-bound the face (:attr:`core.fit.any_face.AnyFace.rebased`), the
file also holds ``mesh_vertices`` (V, 3) float32, the neutralized mesh the binding starts from,
used in place of the mesh file's vertices (its faces, UVs and layout still come from the file).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError, S2DError
from core.files import file_sha256
from core.fit.face_fit import FaceFit, fit_arrays, load_fit
from core.io.mesh_io import MeshData

__all__ = ["FIT_FILE", "UserReplay", "user_face_files", "open_user_face"]

#: The fit (and the neutral) written beside the frames of an export on a user's face.
FIT_FILE = "face_fit.npz"


def user_face_files(face, neutral: np.ndarray) -> tuple[dict, dict[str, bytes]]:
    """What an export on ``face`` (:class:`core.fit.any_face.AnyFace`) adds for replay.

    Returns
    -------
    (``replay.face`` entries beside ``path``/``vertices_sha256``, {file name: bytes} to write
    into the export folder)
    """
    arrays = {**fit_arrays(face.fit), "neutral": np.asarray(neutral, np.float32)}
    if getattr(face, "rebased", False):
        arrays["mesh_vertices"] = np.asarray(face.mesh.vertices, np.float32)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    user = {"mesh_sha256": file_sha256(face.source), "fit": FIT_FILE}
    return {"user": user}, {FIT_FILE: buf.getvalue()}


@dataclass(frozen=True, eq=False)
class UserReplay:
    """The user's ``mesh`` (as read again), its ``fit``, the ``neutral`` (V_t, 3) float32 and the
    bytes of :data:`FIT_FILE` to copy into the replayed folder."""

    mesh: MeshData
    fit: FaceFit
    neutral: np.ndarray
    fit_bytes: bytes


def open_user_face(face: dict, manifest_path: Path) -> UserReplay:
    """The ``replay.face`` section of an export on a user's face -> what replay needs.

    Raises InvalidInputError (one line) when the mesh is missing or changed (hash mismatch), or
    the fit file beside the manifest is missing or belongs to another mesh.
    """
    from core.fit.load import load_any_mesh

    user = face.get("user")
    path = face.get("path")
    if not isinstance(user, dict) or not isinstance(path, str):
        raise InvalidInputError(f"{manifest_path}: malformed 'face' section of a user's face")
    mesh_path = Path(path)
    if not mesh_path.is_file():
        raise InvalidInputError(
            f"the face mesh {mesh_path} the export was made on is not there (moved or deleted); "
            "put it back at that path to replay"
        )
    if file_sha256(mesh_path) != user.get("mesh_sha256"):
        raise InvalidInputError(
            f"the face mesh {mesh_path} changed since the export (its SHA-256 differs); "
            "replay needs the same file"
        )
    fit_path = Path(manifest_path).parent / str(user.get("fit", FIT_FILE))
    if fit_path.name != str(user.get("fit", FIT_FILE)) or not fit_path.is_file():
        raise InvalidInputError(
            f"{fit_path} is missing; replay needs the export folder as it was written"
        )
    data = fit_path.read_bytes()
    try:
        fit = load_fit(io.BytesIO(data))
        with np.load(io.BytesIO(data), allow_pickle=False) as d:
            neutral = np.asarray(d["neutral"], np.float32)
            base = np.asarray(d["mesh_vertices"], np.float32) if "mesh_vertices" in d else None
    except S2DError as exc:
        raise InvalidInputError(f"{fit_path}: {exc}") from exc
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInputError(f"{fit_path} is not a readable fit file ({exc})") from exc
    mesh = load_any_mesh(mesh_path)
    fit.check_mesh(mesh)
    if base is not None:  # the face was re-bound after a Neutralize: its mesh moved
        if base.shape != mesh.vertices.shape or not np.isfinite(base).all():
            raise InvalidInputError(
                f"{fit_path}: mesh_vertices has shape {base.shape}, expected "
                f"{mesh.vertices.shape} finite values; replay needs the file as it was written"
            )
        mesh = replace(mesh, vertices=base)
    return UserReplay(mesh, fit, neutral, data)
