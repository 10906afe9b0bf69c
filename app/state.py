"""Immutable pieces of the studio's state (numpy only, no Qt).

A :class:`Snapshot` is everything an undo step restores: the neutral face, the *base* motion
(generated, interpolated, picked from the compare grid, or the 1-frame neutral face), the landmark
edits layered on top of it as per-frame offsets, and the decoded result. The edit model (offsets,
temporal falloff, the edit list, the residual decode) is the core's :mod:`core.edit`: the
displayed landmarks are ``base.landmarks + offsets`` and the committed faces are
:func:`core.edit.residual.decode_edited_motion` of them, which ``python main.py replay``
reproduces from an export's manifest.

Shapes: T frames, K = 68 landmarks, V vertices.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import numpy as np

from core.edit.model import DragEdit, ResetEdit, edited_frames, frozen
from core.motion import Motion

__all__ = ["FaceState", "Source", "Snapshot", "new_token", "CREATED_FACE"]

#: ``FaceState.name`` of a face made with the face creator (its ``sliders`` replay it).
CREATED_FACE = "created face"

_tokens = itertools.count(1)


def new_token() -> int:
    """A fresh id for a base motion (keys the worker's decoded-frame cache)."""
    return next(_tokens)


@dataclass(frozen=True)
class FaceState:
    """The neutral face: ``vertices`` (V, 3) float32, a display name, the file it came from
    (None for the shipped face), ``key``, a content hash used by caches, and ``sliders``, the
    face creator's ``(name, value)`` pairs that differ from their defaults (empty otherwise).
    ``user`` is set for a face of another topology (:class:`core.fit.any_face.AnyFace`):
    ``vertices`` are then its fitted template, and exports use the user's mesh."""

    vertices: np.ndarray
    name: str
    path: str | None
    key: str
    sliders: tuple = ()
    user: object = None


@dataclass(frozen=True)
class Source:
    """Where the base motion came from (shown in panels, written to manifests).

    kind : "neutral", "generate", "interpolate", "mix_apex", "compare", "transfer" (label: the
    source's name) or "sequence" (label: the timeline's spec);
    label/seed/n_frames: the generated motion (or motion A); a/b: (label, seed) of the
    interpolation ends; tau: the interpolation parameter; side: the side a one-sided label
    (mouth_side, contempt) was generated on; params: what else replays the motion (a
    transfer's file, mode and frame rates, a timeline's clips; :mod:`core.apps.replay`),
    merged into :meth:`manifest`.
    """

    kind: str = "neutral"
    label: str | None = None
    seed: int | None = None
    n_frames: int = 1
    a: tuple | None = None
    b: tuple | None = None
    tau: float | None = None
    side: str | None = None
    params: dict | None = field(default=None, compare=False)

    def describe(self, ascii_only: bool = False) -> str:
        """One line for panels (``ascii_only`` for VTK text, whose font lacks → and τ)."""
        if self.kind in ("generate", "compare"):
            side = f" · {self.side}" if self.side else ""
            return f"{self.label} · seed {self.seed}{side}"
        if self.kind in ("interpolate", "mix_apex"):
            what = "geodesic" if self.kind == "interpolate" else "mixed apex"
            arrow, tau = ("->", "tau") if ascii_only else ("→", "τ")
            return (
                f"{self.a[0]} #{self.a[1]} {arrow} {self.b[0]} #{self.b[1]}, "
                f"{tau} = {self.tau:.2f} ({what})"
            )
        if self.kind in ("transfer", "sequence"):
            return f"{'timeline' if self.kind == 'sequence' else 'transfer'}: {self.label}"
        if self.kind == "speech":
            return f"speech · {self.label} · seed {self.seed}"
        return "neutral face"

    def manifest(self) -> dict:
        out = {"kind": self.kind}
        for name in ("label", "seed", "n_frames", "tau", "side"):
            v = getattr(self, name)
            if v is not None:
                out[name] = v
        for name in ("a", "b"):
            v = getattr(self, name)
            if v is not None:
                out[name] = {"label": v[0], "seed": int(v[1])}
        for key, v in (self.params or {}).items():
            out.setdefault(key, v)
        return out


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One undoable state (see module docstring).

    face : FaceState; base : Motion (T frames); token : id of ``base`` for caches;
    source : Source; offsets : (T, K, 3) float32 read-only landmark offsets, the result of
    ``edits``, the ordered DragEdit/ResetEdit list (:mod:`core.edit.model`);
    vertices : (T, V, 3) float32 faces when they are known without decoding (no edits), else
    None: the decoded faces of an edited snapshot are kept by the session
    (:meth:`app.session.StudioSession.vertices_of`). Frozen: a snapshot never changes.
    """

    face: FaceState
    base: Motion
    token: int
    source: Source
    offsets: np.ndarray
    edits: tuple = ()
    vertices: np.ndarray | None = field(default=None)

    @classmethod
    def of(cls, face: FaceState, base: Motion, source: Source) -> Snapshot:
        """An unedited snapshot of a base motion (its vertices are the base's)."""
        offsets = frozen(np.zeros_like(base.landmarks))
        return cls(face, base, new_token(), source, offsets, (), base.vertices)

    @property
    def n_frames(self) -> int:
        return self.base.n_frames

    @property
    def landmarks(self) -> np.ndarray:
        """(T, K, 3) requested landmarks: base plus edits."""
        return self.base.landmarks + self.offsets

    def edited_frames(self) -> np.ndarray:
        """Frames (n,) whose offsets are not all ~0."""
        return edited_frames(self.offsets)

    def with_offsets(self, offsets: np.ndarray, edit=None) -> Snapshot:
        """A new snapshot with other offsets (vertices pending unless nothing is edited)."""
        offsets = frozen(offsets)
        unedited = edited_frames(offsets).size == 0
        return replace(
            self,
            offsets=offsets,
            edits=self.edits + ((edit,) if edit is not None else ()),
            vertices=self.base.vertices if unedited else None,
        )

    def with_edit(self, edit: DragEdit | ResetEdit) -> Snapshot:
        """The snapshot with one more edit applied to its offsets."""
        return self.with_offsets(edit.apply(self.offsets, self.base.landmarks), edit)

    def with_landmarks_reset(self, landmarks: list[int] | None) -> Snapshot:
        """Offsets of the given landmarks (all if None) set to zero on every frame."""
        return self.with_edit(
            ResetEdit(None if landmarks is None else tuple(int(i) for i in landmarks))
        )

    def manifest_edits(self, names: tuple[str, ...]) -> list[dict]:
        """The edit log with landmark names, JSON-ready."""
        return [e.describe(names) for e in self.edits]
