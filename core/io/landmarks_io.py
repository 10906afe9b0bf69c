"""Read and write 68 facial landmarks in the formats other tools use.

Index convention (every format): landmarks are stored in iBUG-68 order (Sagonas et al.,
300-W markup). Array index ``i`` (0-based, as in ``resources/landmarks.json`` and
:data:`core.data.landmark_rules.IBUG68_NAMES`) is point number ``i + 1`` of the 1-based
numbering in the 300-W documentation: jaw 0-16 (the subject's right ear level, the chin at 8,
the left ear level), right brow 17-21, left brow 22-26, nose bridge 27-30, nose bottom 31-35,
right eye 36-41, left eye 42-47, outer lips 48-59, inner lips 60-67. "Right" is the subject's
right (image left in a frontal view).

Coordinates are written as given (this project: metres, x to the subject's left, y back into
the head, z up); nothing is flipped or rescaled.

Formats (by suffix):

- ``.pts`` (iBUG): ``version: 1``, ``n_points: 68``, ``{``, one point per line, ``}``;
  (68, 2) or (68, 3).
- ``.ljson`` (menpo v2): ``landmarks.points`` (68 rows) and ``connectivity``, ``labels`` with
  menpo's ``face_ibug_68`` groups and masks; (68, 2) or (68, 3).
- ``.npy``: one array, (68, D) or (T, 68, D).
- ``.csv``: a header ``lm00_x, lm00_y, lm00_z, …, lm67_z`` (0-based iBUG index), then one frame
  per row (204 columns); (T, 68, 3).

Reading validates everything (point count, dimension, finite numbers) and raises
:class:`core.errors.InvalidInputError` with a one-line message; writing is atomic.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError
from core.glossary import INNER_LIPS, MOUTH, N_LANDMARKS
from core.io.atomic import atomic_file

__all__ = [
    "LANDMARK_SUFFIXES",
    "N_POINTS",
    "MENPO_IBUG68_LABELS",
    "read_landmarks",
    "write_landmarks",
    "csv_header",
]

N_POINTS = N_LANDMARKS
LANDMARK_SUFFIXES = (".pts", ".ljson", ".npy", ".csv")

#: menpo's ``face_ibug_68`` groups (menpo names the brows and eyes from the image viewer's
#: side: its ``left_eyebrow`` is the subject's right brow, points 17-21).
MENPO_IBUG68_LABELS: tuple[tuple[str, range, bool], ...] = (
    ("jaw", range(0, 17), False),
    ("left_eyebrow", range(17, 22), False),
    ("right_eyebrow", range(22, 27), False),
    ("nose", range(27, 36), False),
    ("left_eye", range(36, 42), True),
    ("right_eye", range(42, 48), True),
    ("mouth", range(MOUTH.start, MOUTH.stop), False),
)


def csv_header() -> list[str]:
    """The 204 CSV column names ``lm00_x, lm00_y, lm00_z, …, lm67_z`` (0-based iBUG index)."""
    return [f"lm{i:02d}_{a}" for i in range(N_POINTS) for a in "xyz"]


def _connectivity() -> list[list[int]]:
    """Edges of menpo's iBUG-68 drawing: each group a polyline, eyes and lips closed."""
    edges: list[list[int]] = []
    for _, idx, closed in MENPO_IBUG68_LABELS:
        ids = list(idx)
        if ids[0] == 48:  # outer and inner lips are two closed loops
            loops = [list(range(48, 60)), list(range(INNER_LIPS.start, INNER_LIPS.stop))]
        elif ids[0] == 27:  # bridge, then the nostril line
            loops = [list(range(27, 31)), list(range(31, 36))]
        else:
            loops = [ids]
        for loop in loops:
            edges += [[a, b] for a, b in zip(loop[:-1], loop[1:], strict=True)]
            if closed or ids[0] == 48:
                edges.append([loop[-1], loop[0]])
    return edges


def _check(points: np.ndarray, path: Path, *, frames: bool) -> np.ndarray:
    """Validate landmark points: (68, D) or, when ``frames``, (T, 68, D); D is 2 or 3."""
    p = np.asarray(points, dtype=np.float64)
    ok_ndim = (2,) if not frames else (2, 3)
    if p.ndim not in ok_ndim or p.shape[-2] != N_POINTS or p.shape[-1] not in (2, 3):
        want = "(68, 2|3)" + (" or (T, 68, 2|3)" if frames else "")
        raise InvalidInputError(
            f"{path}: expected landmarks of shape {want}, found {p.shape}; "
            "give the 68 iBUG-68 points in order"
        )
    if not np.isfinite(p).all():
        raise InvalidInputError(f"{path}: landmarks contain NaN or inf; give 68 finite points")
    return p


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in LANDMARK_SUFFIXES:
        raise InvalidInputError(
            f"{path}: unknown landmark format {suffix or '(none)'!r}; "
            f"use one of {', '.join(LANDMARK_SUFFIXES)}"
        )
    return suffix


# ------------------------------------------------------------------------------------ write
def write_landmarks(path: str | Path, points: np.ndarray) -> Path:
    """Write landmarks in the format given by ``path``'s suffix (atomic).

    points : (68, D) for ``.pts``/``.ljson``; (68, D) or (T, 68, D) for ``.npy``; (68, 3) or
    (T, 68, 3) for ``.csv`` (one row per frame). D is 2 or 3.
    """
    path = Path(path)
    suffix = _suffix(path)
    p = _check(points, path, frames=suffix in (".npy", ".csv"))
    with atomic_file(path) as tmp:
        if suffix == ".npy":
            with open(tmp, "wb") as fh:
                np.save(fh, p)
        elif suffix == ".pts":
            rows = "\n".join(" ".join(repr(float(c)) for c in row) for row in p)
            tmp.write_text(f"version: 1\nn_points: {N_POINTS}\n{{\n{rows}\n}}\n")
        elif suffix == ".ljson":
            doc = {
                "version": 2,
                "labels": [{"label": n, "mask": list(r)} for n, r, _ in MENPO_IBUG68_LABELS],
                "landmarks": {"points": p.tolist(), "connectivity": _connectivity()},
            }
            tmp.write_text(json.dumps(doc, indent=1))
        else:
            if p.shape[-1] != 3:
                raise InvalidInputError(
                    f"{path}: CSV holds 3D points (204 columns); found {p.shape[-1]}D points"
                )
            frames = p.reshape(-1, N_POINTS * 3)
            lines = [",".join(csv_header())]
            lines += [",".join(repr(float(c)) for c in row) for row in frames]
            tmp.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------------------------- read
def read_landmarks(path: str | Path) -> np.ndarray:
    """Read landmarks; (68, D) from ``.pts``/``.ljson``, (68, D) or (T, 68, D) from ``.npy``,
    (T, 68, 3) from ``.csv``. Raises :class:`InvalidInputError` on anything malformed."""
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such landmark file; check the path")
    try:
        if suffix == ".npy":
            return _check(np.load(path, allow_pickle=False), path, frames=True)
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"{path}: cannot read landmarks ({exc}); expected a {suffix} landmark file"
        ) from exc
    reader = {".pts": _read_pts, ".ljson": _read_ljson, ".csv": _read_csv}[suffix]
    return reader(text, path)


def _floats(tokens: list[str], path: Path, where: str) -> list[float]:
    try:
        return [float(t) for t in tokens]
    except ValueError:
        raise InvalidInputError(
            f"{path}: {where}: expected numbers, found {' '.join(tokens)!r}"
        ) from None


def _read_pts(text: str, path: Path) -> np.ndarray:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    try:
        open_i, close_i = lines.index("{"), lines.index("}")
    except ValueError:
        raise InvalidInputError(f"{path}: not an iBUG .pts file (no '{{ … }}' block)") from None
    declared = None
    for ln in lines[:open_i]:
        key, _, val = ln.partition(":")
        if key.strip().lower() == "n_points":
            declared = int(_floats([val.strip()], path, "n_points")[0])
    rows = [
        _floats(ln.split(), path, f"point {i}") for i, ln in enumerate(lines[open_i + 1 : close_i])
    ]
    if declared is not None and declared != len(rows):
        raise InvalidInputError(
            f"{path}: header says n_points: {declared} but {len(rows)} points "
            "follow; fix the header or the point list"
        )
    if len({len(r) for r in rows}) > 1:
        raise InvalidInputError(
            f"{path}: points have mixed dimensions; give 2 or 3 numbers per line"
        )
    return _check(np.array(rows), path, frames=False)


def _read_ljson(text: str, path: Path) -> np.ndarray:
    try:
        doc = json.loads(text)
        points = doc["landmarks"]["points"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise InvalidInputError(
            f"{path}: not a menpo .ljson file (expected {{'landmarks': {{'points': [...]}}}})"
        ) from None
    if any(p is None or any(c is None for c in p) for p in points):
        raise InvalidInputError(f"{path}: some landmarks are missing (null); give all 68 points")
    try:
        arr = np.array(points, dtype=np.float64)
    except (ValueError, TypeError):
        raise InvalidInputError(
            f"{path}: landmarks.points must be rows of 2 or 3 numbers"
        ) from None
    return _check(arr, path, frames=False)


def _read_csv(text: str, path: Path) -> np.ndarray:
    rows = [ln.split(",") for ln in text.splitlines() if ln.strip()]
    if rows and rows[0] and not _is_number(rows[0][0]):
        rows = rows[1:]  # header
    if not rows:
        raise InvalidInputError(
            f"{path}: no landmark rows; expected one frame of 204 numbers per row"
        )
    bad = [i for i, r in enumerate(rows) if len(r) != N_POINTS * 3]
    if bad:
        raise InvalidInputError(
            f"{path}: row {bad[0] + 1} has {len(rows[bad[0]])} columns; "
            f"expected {N_POINTS * 3} (x, y, z of 68 landmarks)"
        )
    data = np.array([_floats(r, path, f"row {i + 1}") for i, r in enumerate(rows)])
    return _check(data.reshape(-1, N_POINTS, 3), path, frames=True)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
