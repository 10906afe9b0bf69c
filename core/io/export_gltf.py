"""Animated binary glTF (GLB): one mesh, one morph target per frame, one weights animation.

Layout (glTF 2.0, built with pygltflib's typed model, packed into a GLB by hand so every chunk and
buffer view is 4-byte aligned):

* base ``POSITION`` (and ``NORMAL``) = frame 0; target ``k`` holds the **deltas** ``frame_k - frame_0``
  (every ``POSITION`` accessor has ``min``/``max``); ``mesh.extras.targetNames`` names them;
* one animation with one sampler: input = times ``k / fps`` (seconds), output = ``T x T`` one-hot
  weights, ``LINEAR`` (viewers blend neighbouring frames), and one channel ``path="weights"``;
* uint32 indices always.

**Axes.** Our meshes are z-up metres; glTF is y-up metres. Every position/normal is rotated by -90°
about x: ``(x, y, z) -> (x, z, -y)`` (a proper rotation, so triangle winding is unchanged).
A reader that wants our frame back applies ``(x, y, z) -> (x, -z, y)``.

Size: ``T * V * 24`` bytes of targets (12 without normals) plus ``4 * T**2`` bytes of weights, fine
for clips of hundreds of frames; split longer clips.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pygltflib as gl

from core.arrays import as_faces, as_frames, as_uv
from core.errors import InvalidInputError
from core.io.atomic import atomic_write_bytes
from core.mesh.normals import vertex_normals

__all__ = ["export_glb", "split_seams", "z_up_to_y_up", "y_up_to_z_up"]

_FLOAT, _UINT32 = 5126, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963
_GLB_MAGIC, _JSON_CHUNK, _BIN_CHUNK = 0x46546C67, 0x4E4F534A, 0x004E4942


def z_up_to_y_up(points: np.ndarray) -> np.ndarray:
    """Rotate -90° about x: ``(..., 3)`` z-up ``(x, y, z)`` -> glTF y-up ``(x, z, -y)``."""
    return np.stack([points[..., 0], points[..., 2], -points[..., 1]], axis=-1)


def y_up_to_z_up(points: np.ndarray) -> np.ndarray:
    """Inverse of :func:`z_up_to_y_up`: ``(x, y, z) -> (x, -z, y)``."""
    return np.stack([points[..., 0], -points[..., 2], points[..., 1]], axis=-1)


class _BinBuilder:
    """Collects 4-byte-aligned buffer views and their accessors."""

    def __init__(self, gltf: gl.GLTF2) -> None:
        self.gltf = gltf
        self.chunks: list[bytes] = []
        self.offset = 0

    def add(
        self, array: np.ndarray, acc_type: str, *, target: int | None = None, bounds: bool = False
    ) -> int:
        data = np.ascontiguousarray(array).tobytes()
        self.gltf.bufferViews.append(
            gl.BufferView(buffer=0, byteOffset=self.offset, byteLength=len(data), target=target)
        )
        pad = (-len(data)) % 4
        self.chunks.append(data + b"\x00" * pad)
        self.offset += len(data) + pad
        flat = array.reshape(len(array), -1)
        accessor = gl.Accessor(
            bufferView=len(self.gltf.bufferViews) - 1,
            componentType=_UINT32 if array.dtype == np.uint32 else _FLOAT,
            count=len(array),
            type=acc_type,
        )
        if bounds:
            accessor.min = [float(x) for x in flat.min(axis=0)]
            accessor.max = [float(x) for x in flat.max(axis=0)]
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def add_view(self, data: bytes) -> int:
        """A plain buffer view (an image); returns its index."""
        self.gltf.bufferViews.append(
            gl.BufferView(buffer=0, byteOffset=self.offset, byteLength=len(data))
        )
        pad = (-len(data)) % 4
        self.chunks.append(data + b"\x00" * pad)
        self.offset += len(data) + pad
        return len(self.gltf.bufferViews) - 1

    def blob(self) -> bytes:
        return b"".join(self.chunks)


def export_glb(
    path: str | os.PathLike[str],
    frames: np.ndarray,
    faces: np.ndarray,
    fps: float = 30.0,
    names: Sequence[str] | None = None,
    *,
    normals: bool = True,
    uv: np.ndarray | None = None,
    face_uv: np.ndarray | None = None,
    materials: Sequence | None = None,
    groups: np.ndarray | None = None,
) -> Path:
    """Write an animated GLB (morph target per frame + weights animation), atomically.

    Parameters
    ----------
    path : str or PathLike
        Destination ``.glb`` (replaced atomically if it exists).
    frames : (T, V, 3) float
        Vertex positions in metres, z-up (converted to glTF's y-up, see the module docstring).
    faces : (F, 3) int
        0-based triangles (written as uint32).
    fps : float
        Frame rate; frame ``k`` is shown at ``k / fps`` seconds.
    names : sequence of T str or None
        Morph target names (default ``frame_0001`` ...).
    normals : bool
        Also write ``NORMAL`` and per-target normal deltas (smooth shading in viewers).
    uv, face_uv : (N_uv, 2) float and (F, 3) int, or None
        Texture coordinates per face corner, written as ``TEXCOORD_0`` (v flipped to glTF's
        top-left origin). glTF has one UV per vertex, so a vertex with several UVs (a seam) is
        written once per UV: the first V vertices are the given ones in order, the copies
        follow (``mesh.extras.sourceVertexCount`` = V).
    materials, groups : M objects with ``name``, ``color`` (RGB or None) and ``texture``
        ((bytes, "image/png" or "image/jpeg") or None), and ``(F,)`` int, the material of each
        triangle (:func:`core.io.obj_layout.material_groups`); or None for one grey material.
        Each material becomes a primitive of the mesh (its triangles in file order, sharing the
        vertices and morph targets); textures are embedded (used only with ``uv``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    core.errors.InvalidInputError
        Bad shapes, NaN/inf, bad fps or names.
    core.errors.ExportError
        The file cannot be written (nothing is left behind).
    """
    frames = as_frames(frames)
    n_frames, n_vertices = frames.shape[:2]
    faces = as_faces(faces, n_vertices)
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise InvalidInputError(f"fps must be a positive number, got {fps!r}")
    if names is None:
        names = [f"frame_{k:04d}" for k in range(1, n_frames + 1)]
    names = [str(n) for n in names]
    if len(names) != n_frames:
        raise InvalidInputError(
            f"names must give one name per frame ({n_frames}), got {len(names)}; "
            "pass names=None for frame_0001, ..."
        )
    uv, face_uv = as_uv(uv, face_uv, len(faces))
    if materials is not None:
        groups = np.asarray(groups)
        if (
            groups.shape != (len(faces),)
            or not (0 <= groups).all()
            or groups.max() >= len(materials)
        ):
            raise InvalidInputError(
                f"groups must give each of the {len(faces)} triangles a material index in "
                f"0..{len(materials) - 1}"
            )
    data = _glb_bytes(frames, faces, float(fps), names, normals, uv, face_uv, materials, groups)
    path = Path(path)
    atomic_write_bytes(path, data)
    return path


def split_seams(
    faces: np.ndarray, uv: np.ndarray, face_uv: np.ndarray, n_vertices: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One UV per vertex: vertices with several UVs are copied.

    Returns
    -------
    source : (V',) int64, the vertex each output vertex copies (``source[:V] = arange(V)``)
    faces' : (F, 3) int64, the faces on the output vertices
    uv' : (V', 2) float64, one UV per output vertex ((0, 0) for vertices used by no face)
    """
    key = faces.ravel() * len(uv) + face_uv.ravel()  # (3F,) one id per (vertex, uv) pair
    pairs, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    vert, tex = pairs // len(uv), pairs % len(uv)
    order = np.lexsort((first, vert))  # by vertex, then first use
    primary = np.r_[True, vert[order][1:] != vert[order][:-1]]
    index = np.empty(len(pairs), np.int64)
    index[order[primary]] = vert[order[primary]]
    extra = order[~primary]
    index[extra] = n_vertices + np.arange(len(extra))
    source = np.concatenate([np.arange(n_vertices), vert[extra]])
    out_uv = np.zeros((len(source), 2))
    out_uv[index] = uv[tex]
    return source, index[inverse].reshape(-1, 3), out_uv


def _glb_bytes(
    frames: np.ndarray,
    faces: np.ndarray,
    fps: float,
    names: list[str],
    normals: bool,
    uv: np.ndarray | None = None,
    face_uv: np.ndarray | None = None,
    materials: Sequence | None = None,
    groups: np.ndarray | None = None,
) -> bytes:
    n_frames, n_vertices = frames.shape[:2]
    positions = z_up_to_y_up(frames.astype(np.float64)).astype(np.float32)  # (T, V, 3)
    unit_normals = vertex_normals(positions, faces) if normals else None
    tex = None
    if uv is not None:  # copies of seam vertices share their original's position and normal
        source, faces, tex = split_seams(faces, uv, face_uv, n_vertices)
        positions = positions[:, source]  # (T, V', 3)
        unit_normals = None if unit_normals is None else unit_normals[:, source]
        tex[:, 1] = 1.0 - tex[:, 1]  # glTF's UV origin is the top-left corner
    gltf = gl.GLTF2(asset=gl.Asset(version="2.0", generator="Sparse2Dense Studio"))
    gltf.bufferViews, gltf.accessors = [], []
    bins = _BinBuilder(gltf)

    if materials is None:
        materials, groups = [None], np.zeros(len(faces), np.int64)
    indices = [
        bins.add(faces[groups == m].astype(np.uint32).reshape(-1), "SCALAR",
                 target=_ELEMENT_ARRAY_BUFFER)
        for m in range(len(materials))
    ]  # fmt: skip
    base = positions[0]
    attributes = gl.Attributes(POSITION=bins.add(base, "VEC3", target=_ARRAY_BUFFER, bounds=True))
    if tex is not None:
        attributes.TEXCOORD_0 = bins.add(tex.astype(np.float32), "VEC2", target=_ARRAY_BUFFER)
    if unit_normals is not None:
        attributes.NORMAL = bins.add(unit_normals[0], "VEC3", target=_ARRAY_BUFFER)
    targets = []
    for k in range(n_frames):
        target = {
            "POSITION": bins.add(positions[k] - base, "VEC3", target=_ARRAY_BUFFER, bounds=True)
        }
        if unit_normals is not None:
            delta = unit_normals[k] - unit_normals[0]
            target["NORMAL"] = bins.add(delta, "VEC3", target=_ARRAY_BUFFER)
        targets.append(target)

    times = (np.arange(n_frames) / fps).astype(np.float32)  # (T,) seconds
    weights = np.eye(n_frames, dtype=np.float32).reshape(-1)  # (T*T,) one-hot per key
    t_acc = bins.add(times, "SCALAR", bounds=True)
    w_acc = bins.add(weights, "SCALAR")

    gltf.materials = [_material(m, bins, tex is not None) for m in materials]
    primitives = [
        gl.Primitive(attributes=attributes, indices=i, material=m, targets=targets)
        for m, i in enumerate(indices)
    ]
    gltf.meshes = [
        gl.Mesh(
            name="face",
            primitives=primitives,
            weights=[0.0] * n_frames,
            extras={"targetNames": names, "sourceVertexCount": int(n_vertices)},
        )
    ]
    gltf.nodes = [gl.Node(name="face", mesh=0)]
    gltf.scenes = [gl.Scene(nodes=[0])]
    gltf.scene = 0
    gltf.animations = [
        gl.Animation(
            name="expression",
            samplers=[gl.AnimationSampler(input=t_acc, output=w_acc, interpolation="LINEAR")],
            channels=[
                gl.AnimationChannel(
                    sampler=0, target=gl.AnimationChannelTarget(node=0, path="weights")
                )
            ],
        )
    ]
    blob = bins.blob()
    gltf.buffers = [gl.Buffer(byteLength=len(blob))]
    return pack_glb(json.loads(gltf.to_json()), blob)


def _material(m, bins: _BinBuilder, has_uv: bool) -> gl.Material:
    """A glTF material: grey "skin" for None, else ``m``'s colour and embedded texture."""
    color = [0.8, 0.8, 0.8] if m is None or m.color is None else [float(c) for c in m.color]
    pbr = gl.PbrMetallicRoughness(
        baseColorFactor=[*color, 1.0], metallicFactor=0.0, roughnessFactor=0.6
    )
    texture = None if m is None or not has_uv else m.texture
    if texture is not None and texture[1] in ("image/png", "image/jpeg"):
        gltf = bins.gltf
        gltf.images.append(gl.Image(bufferView=bins.add_view(texture[0]), mimeType=texture[1]))
        if not gltf.samplers:
            gltf.samplers.append(gl.Sampler())
        gltf.textures.append(gl.Texture(sampler=0, source=len(gltf.images) - 1))
        pbr.baseColorFactor = [1.0, 1.0, 1.0, 1.0]
        pbr.baseColorTexture = gl.TextureInfo(index=len(gltf.textures) - 1)
    return gl.Material(
        name="skin" if m is None else m.name, pbrMetallicRoughness=pbr, doubleSided=True
    )


def pack_glb(document: dict, blob: bytes) -> bytes:
    """GLB container: 12-byte header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
    text = json.dumps(document, separators=(",", ":")).encode("utf-8")
    text += b" " * ((-len(text)) % 4)
    blob += b"\x00" * ((-len(blob)) % 4)
    total = 12 + 8 + len(text) + 8 + len(blob)
    return b"".join(
        [
            struct.pack("<III", _GLB_MAGIC, 2, total),
            struct.pack("<II", len(text), _JSON_CHUNK),
            text,
            struct.pack("<II", len(blob), _BIN_CHUNK),
            blob,
        ]
    )
