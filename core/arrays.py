"""Validation of array arguments: one family for the whole core.

Each function checks an argument a caller passed (shape, dtype, finiteness, index range) and
raises :class:`core.errors.InvalidInputError` with a message that says what was expected, what
was found and what to do. Shapes: V vertices, T frames, F faces, N any size.

- :func:`check_array`: a float array of a given shape pattern -> float32;
- :func:`as_vertices` (V, 3), :func:`as_frames` (T, V, 3), :func:`as_faces` (F, 3) int64 indices,
  :func:`as_uv` texture coordinates; :func:`require_finite`.
"""

from __future__ import annotations

import numpy as np

from core.errors import InvalidInputError

__all__ = [
    "MAX_COORDINATE",
    "check_array",
    "check_coordinates",
    "require_finite",
    "as_vertices",
    "as_frames",
    "as_faces",
    "as_uv",
]


#: Largest absolute coordinate accepted for a face: 1e5 covers a head in millimetres (about 300)
#: with a wide margin; values such as 1e30 overflow the decoder's float32 arithmetic.
MAX_COORDINATE = 1e5


def check_array(
    name: str, a, shape: tuple, what: str = "", limit: float | None = None
) -> np.ndarray:
    """Validate a real float array: its shape (None = any size), finiteness *after* the float32
    cast and, when ``limit`` is given, ``|x| <= limit``; returns float32.

    ``shape`` is a tuple of sizes, e.g. ``(None, 68, 3)`` for (B, K, 3); ``what`` is appended to
    the expected shape in the error message.
    """
    arr = np.asarray(a)
    ok = arr.ndim == len(shape) and all(
        s is None or s == d for s, d in zip(shape, arr.shape, strict=False)
    )
    if not ok:
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise InvalidInputError(
            f"{name}: expected an array of shape {want}{what}, found {tuple(arr.shape)}"
        )
    return check_coordinates(name, arr, np.inf if limit is None else limit)


def check_coordinates(name: str, arr, limit: float = MAX_COORDINATE) -> np.ndarray:
    """``arr`` as float32, refused unless real, finite after the cast and ``|x| <= limit``.

    Raises
    ------
    InvalidInputError
        Complex values, NaN/inf (also values that overflow float32) or a coordinate beyond
        ``limit`` (the message gives the largest one found).
    """
    a = np.asarray(arr)
    if np.iscomplexobj(a):
        raise InvalidInputError(
            f"{name}: expected real coordinates, found complex numbers (dtype {a.dtype}); pass "
            "the real part if that is what you mean"
        )
    if not np.issubdtype(a.dtype, np.number):
        raise InvalidInputError(f"{name}: expected numbers, found dtype {a.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        f = a.astype(np.float32, copy=False)
    finite = np.isfinite(f)
    if not finite.all():
        raise InvalidInputError(
            f"{name}: contains {int((~finite).sum())} NaN/inf value(s) (after conversion to "
            "float32); fix the input data"
        )
    peak = float(np.abs(f).max()) if f.size else 0.0
    if peak > limit:
        raise InvalidInputError(
            f"{name}: expected coordinates of a face (metres, centimetres or millimetres, at most "
            f"{limit:g} in size), found a value of {peak:.3g}; check the units of the data"
        )
    return f


def as_vertices(vertices: object, name: str = "vertices") -> np.ndarray:
    """Check an API argument is a finite ``(V, 3)`` float array; raise InvalidInputError if not.

    Returns the array as float32/float64 (other dtypes are converted to float64), never copied
    when it already is one.
    """
    arr = np.asarray(vertices)
    if arr.ndim != 2 or arr.shape[1] != 3 or not np.issubdtype(arr.dtype, np.number):
        raise InvalidInputError(
            f"{name} must be a (V, 3) array of numbers, got shape {arr.shape} and dtype "
            f"{arr.dtype}; pass one x, y, z row per vertex"
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    require_finite(arr, name)
    return arr


def require_finite(arr: np.ndarray, name: str) -> None:
    """Raise InvalidInputError naming the count and the first index of NaN/inf values."""
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), arr.shape)
        raise InvalidInputError(
            f"{name} must be finite, found {int(bad.sum())} NaN/inf value(s) (first at index "
            f"{tuple(int(i) for i in first)}); fix or drop the frames that contain them"
        )


def as_frames(frames: object, name: str = "frames") -> np.ndarray:
    """Check an animation argument: a finite ``(T, V, 3)`` float array with ``T >= 1``.

    Returns float32/float64 arrays unchanged (other numeric dtypes become float64).
    Raises :class:`core.errors.InvalidInputError` naming the first bad frame.
    """
    arr = np.asarray(frames)
    if (
        arr.ndim != 3
        or arr.shape[2] != 3
        or arr.shape[0] < 1
        or not np.issubdtype(arr.dtype, np.number)
    ):
        raise InvalidInputError(
            f"{name} must be a (T, V, 3) array of vertex positions with T >= 1, got shape "
            f"{arr.shape} and dtype {arr.dtype}; stack the frames along the first axis"
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    finite = np.isfinite(arr).all(axis=(1, 2))
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise InvalidInputError(
            f"{name} must be finite, found NaN/inf in {len(bad)} of {len(arr)} frame(s) (first: "
            f"frame {int(bad[0])}); the animation is broken — regenerate it or drop those frames"
        )
    return arr


def as_faces(faces: object, n_vertices: int, name: str = "faces") -> np.ndarray:
    """Check an API argument is an ``(F, 3)`` integer array with indices in ``[0, V)``.

    Returns an int64 array; raises :class:`core.errors.InvalidInputError`.
    """
    arr = np.asarray(faces)
    if arr.ndim != 2 or arr.shape[1] != 3 or len(arr) == 0:
        raise InvalidInputError(
            f"{name} must be a non-empty (F, 3) array of triangle vertex indices, got shape "
            f"{arr.shape}; triangulate polygons first"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise InvalidInputError(
            f"{name} must hold integers, got dtype {arr.dtype}; pass vertex indices, not positions"
        )
    arr = arr.astype(np.int64, copy=False)
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi >= n_vertices:
        raise InvalidInputError(
            f"{name} must index vertices 0..{n_vertices - 1}, found indices {lo}..{hi}; "
            "pass the faces that belong to these vertices"
        )
    return arr


def as_uv(uv: object, face_uv: object, n_faces: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Check optional texture coordinates: ``uv (N_uv, 2)`` finite and ``face_uv (F, 3)`` indices.

    Both or neither must be given. Returns ``(uv float64, face_uv int64)`` or ``(None, None)``.
    """
    if uv is None and face_uv is None:
        return None, None
    if uv is None or face_uv is None:
        raise InvalidInputError(
            "uv and face_uv must be given together (uv: (N_uv, 2) coordinates, face_uv: (F, 3) "
            "per-corner indices into uv); pass both or neither"
        )
    uv_arr = np.asarray(uv, dtype=np.float64)
    if uv_arr.ndim != 2 or uv_arr.shape[1] != 2:
        raise InvalidInputError(f"uv must be a (N_uv, 2) array, got shape {uv_arr.shape}")
    require_finite(uv_arr, "uv")
    fuv = as_faces(face_uv, len(uv_arr), name="face_uv")
    if len(fuv) != n_faces:
        raise InvalidInputError(
            f"face_uv must have one row per face ({n_faces}), got {len(fuv)} rows; pass the "
            "per-corner UV indices that belong to these faces"
        )
    return uv_arr, fuv
