"""The multi-resolution mesh hierarchy of the S2D decoder: levels, sampling maps and spirals.

Level 0 is the full-resolution template; level ``l + 1`` keeps the vertices ``down_idx[l]`` of
level ``l``. Up-sampling from level ``l + 1`` to level ``l`` is
``x_l[i] = sum_k up_w[l][i, k] * x_{l+1}[up_idx[l][i, k]]``. The topology is fixed: a model built
on a hierarchy only accepts meshes with exactly its level-0 vertex order.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError, MeshFormatError, MissingWeightsError
from core.io.atomic import atomic_savez

__all__ = ["MeshHierarchy", "build_hierarchy", "HIERARCHY_FORMAT_VERSION"]

#: Version tag written into saved hierarchies; bump when the array layout changes.
HIERARCHY_FORMAT_VERSION = 1

#: Up-sampling rows must sum to 1 within this tolerance (weights are stored in float32).
_ROW_SUM_ATOL = 1e-5

_LEVEL_KEYS = ("vertices", "faces", "spirals", "labels", "reference")
_LINK_KEYS = ("down_idx", "up_idx", "up_w")


@dataclass(frozen=True, eq=False)
class MeshHierarchy:
    """Read-only arrays of every level, validated on construction.

    Attributes
    ----------
    vertices : tuple of (n_l, 3) float32
        Level positions (metres); ``vertices[l + 1] == vertices[l][down_idx[l]]`` exactly.
    faces : tuple of (f_l, 3) int64
    spirals : tuple of (n_l, L_l) int64
        ``spirals[l][v, 0] == v``.
    labels : tuple of (n_l,) int64
        Connected-component id of every vertex (inherited from level 0).
    reference : tuple of (n_components,) int64
        Reference vertex of every component (fixes where spirals start).
    down_idx : tuple of (n_{l+1},) int64, one per level transition
        Sorted indices into level ``l``.
    up_idx : tuple of (n_l, 3) int64, one per level transition
        Parents in level ``l + 1`` of every level-``l`` vertex.
    up_w : tuple of (n_l, 3) float32, one per level transition
        Non-negative barycentric weights, rows sum to 1.
    factors : tuple of float
        Decimation factor of every transition.
    dilation : tuple of int
        Spiral dilation of every level.
    """

    vertices: tuple[np.ndarray, ...]
    faces: tuple[np.ndarray, ...]
    spirals: tuple[np.ndarray, ...]
    labels: tuple[np.ndarray, ...]
    reference: tuple[np.ndarray, ...]
    down_idx: tuple[np.ndarray, ...]
    up_idx: tuple[np.ndarray, ...]
    up_w: tuple[np.ndarray, ...]
    factors: tuple[float, ...] = field(default=())
    dilation: tuple[int, ...] = field(default=())

    def __post_init__(self) -> None:
        dtypes = {
            "vertices": np.float32, "faces": np.int64, "spirals": np.int64, "labels": np.int64,
            "reference": np.int64, "down_idx": np.int64, "up_idx": np.int64, "up_w": np.float32,
        }  # fmt: skip
        for name, dtype in dtypes.items():
            arrays = tuple(_frozen(a, dtype, name) for a in getattr(self, name))
            object.__setattr__(self, name, arrays)
        object.__setattr__(self, "factors", tuple(float(x) for x in self.factors))
        object.__setattr__(self, "dilation", tuple(int(x) for x in self.dilation))
        _validate(self)

    @property
    def n_levels(self) -> int:
        """Number of levels (transitions + 1)."""
        return len(self.vertices)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Vertex count of every level, fine to coarse."""
        return tuple(len(v) for v in self.vertices)

    @property
    def spiral_lengths(self) -> tuple[int, ...]:
        """Spiral length ``L_l`` of every level."""
        return tuple(s.shape[1] for s in self.spirals)

    @property
    def n_components(self) -> int:
        """Number of connected components (identical at every level)."""
        return len(self.reference[0])

    def fingerprint(self) -> str:
        """Short SHA-256 of the topology arrays (faces, sampling maps, spirals), 16 hex chars.

        Store it beside trained weights: a model only fits the hierarchy it was trained on.
        """
        h = hashlib.sha256()
        for name in ("faces", "spirals", "down_idx", "up_idx", "up_w"):
            for a in getattr(self, name):
                h.update(name.encode() + str(a.shape).encode())
                h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]

    def save(self, path: str | os.PathLike) -> None:
        """Write the hierarchy as an ``.npz`` (no pickle), atomically.

        Parameters
        ----------
        path : path-like
            Destination file; written to a temporary file in the same folder, then renamed.

        Raises
        ------
        ExportError
            If the folder is missing or not writable (nothing is left behind).
        """
        path = Path(path)
        arrays: dict[str, np.ndarray] = {}
        for name in _LEVEL_KEYS + _LINK_KEYS:
            for i, a in enumerate(getattr(self, name)):
                arrays[f"{name}_{i}"] = a
        meta = {
            "format_version": HIERARCHY_FORMAT_VERSION,
            "n_levels": self.n_levels,
            "factors": list(self.factors),
            "dilation": list(self.dilation),
        }
        arrays["meta"] = np.array(json.dumps(meta))
        atomic_savez(path, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> MeshHierarchy:
        """Read and validate a hierarchy written by :meth:`save`.

        Raises
        ------
        MissingWeightsError
            The file does not exist.
        MeshFormatError
            The file is not a readable hierarchy ``.npz`` or its arrays are inconsistent.
        """
        path = Path(path)
        if not path.is_file():
            raise MissingWeightsError(
                f"expected a mesh hierarchy file at {path}, found nothing; build one with "
                "core.mesh.build_hierarchy(...).save(path)"
            )
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                n = int(meta["n_levels"])
                kw = {k: tuple(data[f"{k}_{i}"] for i in range(n)) for k in _LEVEL_KEYS}
                kw |= {k: tuple(data[f"{k}_{i}"] for i in range(n - 1)) for k in _LINK_KEYS}
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            raise MeshFormatError(
                f"expected a mesh hierarchy .npz at {path}, found an unreadable or incomplete "
                f"file ({type(exc).__name__}: {exc}); rebuild it with core.mesh.build_hierarchy"
            ) from exc
        if meta.get("format_version") != HIERARCHY_FORMAT_VERSION:
            raise MeshFormatError(
                f"expected hierarchy format version {HIERARCHY_FORMAT_VERSION}, found "
                f"{meta.get('format_version')} in {path}; rebuild it with this version"
            )
        return cls(**kw, factors=tuple(meta["factors"]), dilation=tuple(meta["dilation"]))


def build_hierarchy(
    vertices: np.ndarray,
    faces: np.ndarray,
    factors: Sequence[float] = (4, 4, 4, 4),
    spiral_length: int | Sequence[int] = 9,
    dilation: int | Sequence[int] = 1,
    reference_vertices: Sequence[int] | None = None,
    min_component_vertices: int = 4,
) -> MeshHierarchy:
    """Decimate a template repeatedly and compute sampling maps and spirals of every level.

    Parameters
    ----------
    vertices : (V, 3) float
        Template positions (metres).
    faces : (F, 3) int
        Triangles; every vertex must be used, several connected components are fine.
    factors : sequence of float
        Level ``l + 1`` keeps ``ceil(n_l / factors[l])`` vertices (more if a component would
        otherwise drop below ``min_component_vertices``).
    spiral_length : int or sequence of int
        ``S`` for every level, or one value per level (``len(factors) + 1``).
    dilation : int or sequence of int
        Spiral dilation, for every level or per level.
    reference_vertices : sequence of int, optional
        One level-0 vertex per connected component (ordered by component id, i.e. by each
        component's lowest vertex index). Default: the lowest index of each component.
    min_component_vertices : int
        Every component keeps at least this many vertices at every level.

    Returns
    -------
    MeshHierarchy
    """
    # building needs scipy and trimesh; loading a saved hierarchy does not (start-up time)
    from core.mesh.sampling import qslim_decimate, target_size, upsampling_weights
    from core.mesh.spirals import (
        coarse_reference_vertices,
        compute_spirals,
        default_reference_vertices,
    )
    from core.mesh.topology import check_mesh, connected_components

    v, f = check_mesh(vertices, faces)
    n_levels = len(factors) + 1
    lengths = _per_level(spiral_length, n_levels, "spiral_length")
    dils = _per_level(dilation, n_levels, "dilation")
    if any(x <= 1 for x in factors):
        raise InvalidInputError(f"expected decimation factors > 1, found {list(factors)}")
    labels = connected_components(f, len(v))
    if reference_vertices is None:
        ref = default_reference_vertices(labels)
    else:
        ref = np.asarray(reference_vertices, dtype=np.int64).reshape(-1)
        n_comp = int(labels.max()) + 1
        ok = len(ref) == n_comp and ref.min() >= 0 and ref.max() < len(v)
        if not ok or (labels[ref] != np.arange(n_comp)).any():
            raise InvalidInputError(
                f"expected one reference vertex per connected component ({n_comp}, ordered by "
                f"each component's lowest vertex index), found {ref.tolist()}"
            )
    levels_v, levels_f, levels_lab, refs = [v], [f], [labels], [ref]
    downs, ups, ws = [], [], []
    for factor in factors:
        keep, cf = qslim_decimate(v, f, target_size(len(v), factor), labels, min_component_vertices)
        up_idx, up_w = upsampling_weights(v, labels, keep, cf)
        cv, clab = v[keep], labels[keep]
        ref = coarse_reference_vertices(v, ref, cv, clab)
        downs.append(keep)
        ups.append(up_idx)
        ws.append(up_w)
        v, f, labels = cv, cf, clab
        levels_v.append(v)
        levels_f.append(f)
        levels_lab.append(labels)
        refs.append(ref)
    spirals = tuple(
        compute_spirals(lv, lf, lab, r, length=n, dilation=d)
        for lv, lf, lab, r, n, d in zip(
            levels_v, levels_f, levels_lab, refs, lengths, dils, strict=True
        )
    )
    return MeshHierarchy(
        vertices=tuple(levels_v),
        faces=tuple(levels_f),
        spirals=spirals,
        labels=tuple(levels_lab),
        reference=tuple(refs),
        down_idx=tuple(downs),
        up_idx=tuple(ups),
        up_w=tuple(ws),
        factors=tuple(factors),
        dilation=tuple(dils),
    )


def _per_level(value: int | Sequence[int], n_levels: int, name: str) -> tuple[int, ...]:
    if isinstance(value, int | np.integer):
        return (int(value),) * n_levels
    out = tuple(int(x) for x in value)
    if len(out) != n_levels:
        raise InvalidInputError(
            f"expected {name} as one int or {n_levels} values (one per level), found {len(out)}"
        )
    return out


def _frozen(a: np.ndarray, dtype: type, name: str) -> np.ndarray:
    arr = np.asarray(a)
    kind = np.dtype(dtype).kind
    if not (arr.dtype.kind == kind or (kind == "i" and arr.dtype.kind == "u")):
        raise MeshFormatError(
            f"expected {name} arrays of kind {np.dtype(dtype).name}, found {arr.dtype}; "
            "rebuild the hierarchy with core.mesh.build_hierarchy"
        )
    arr = np.array(arr, dtype=dtype, copy=True, order="C")
    arr.setflags(write=False)
    return arr


def _fail(what: str) -> MeshFormatError:
    return MeshFormatError(
        f"inconsistent mesh hierarchy: {what}; rebuild it with core.mesh.build_hierarchy"
    )


def _validate(h: MeshHierarchy) -> None:
    n = len(h.vertices)
    if n < 1:
        raise _fail("expected at least one level, found none")
    for name in _LEVEL_KEYS:
        if len(getattr(h, name)) != n:
            raise _fail(f"expected {n} {name} arrays, found {len(getattr(h, name))}")
    for name in _LINK_KEYS:
        if len(getattr(h, name)) != n - 1:
            raise _fail(f"expected {n - 1} {name} arrays, found {len(getattr(h, name))}")
    n_comp = len(h.reference[0])
    for lvl in range(n):
        v, f, s, lab, ref = (getattr(h, k)[lvl] for k in _LEVEL_KEYS)
        nv = len(v)
        if v.ndim != 2 or v.shape[1] != 3 or nv == 0:
            raise _fail(f"level {lvl}: expected vertices (n, 3), found {v.shape}")
        if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0 or f.min() < 0 or f.max() >= nv:
            raise _fail(f"level {lvl}: expected faces (f, 3) indexing {nv} vertices")
        if s.ndim != 2 or s.shape[0] != nv or s.shape[1] < 1:
            raise _fail(f"level {lvl}: expected spirals ({nv}, S), found {s.shape}")
        if s.min() < 0 or s.max() >= nv or (s[:, 0] != np.arange(nv)).any():
            raise _fail(f"level {lvl}: spirals must start at their vertex and index {nv} vertices")
        if lab.shape != (nv,) or len(ref) != n_comp or ref.min() < 0 or ref.max() >= nv:
            raise _fail(f"level {lvl}: labels/reference do not match {nv} vertices")
        if set(np.unique(lab).tolist()) != set(range(n_comp)):
            raise _fail(f"level {lvl}: expected all {n_comp} components, found {np.unique(lab)}")
    for lvl in range(n - 1):
        d, ui, w = h.down_idx[lvl], h.up_idx[lvl], h.up_w[lvl]
        nf, nc = len(h.vertices[lvl]), len(h.vertices[lvl + 1])
        if d.shape != (nc,) or d.min() < 0 or d.max() >= nf or (np.diff(d) <= 0).any():
            raise _fail(f"transition {lvl}: expected sorted down_idx ({nc},) into {nf} vertices")
        if not np.array_equal(h.vertices[lvl][d], h.vertices[lvl + 1]):
            raise _fail(f"transition {lvl}: level {lvl + 1} vertices are not level {lvl}[down_idx]")
        if ui.shape != (nf, 3) or w.shape != (nf, 3) or ui.min() < 0 or ui.max() >= nc:
            raise _fail(f"transition {lvl}: expected up_idx/up_w ({nf}, 3) into {nc} vertices")
        if not np.isfinite(w).all() or w.min() < 0:
            raise _fail(f"transition {lvl}: up_w must be finite and non-negative")
        if np.abs(w.sum(axis=1) - 1.0).max() > _ROW_SUM_ATOL:
            raise _fail(f"transition {lvl}: up_w rows must sum to 1")
