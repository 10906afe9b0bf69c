"""The one residual convention for decoding edited or generated landmarks.

    V = V_ref + (D(X) - D(X_ref))

D is the decoder, X the requested landmarks (n, K, 3), and (V_ref, X_ref) a reference whose
dense face is known: the neutral face and its landmarks for generation (``core.generate``), the
base motion's frame and landmarks for a sculpted frame (the studio). Landmarks equal to the
reference reproduce it exactly (``D(X) - D(X_ref) = 0``), and the decoder's own error on the
reference never shows up as a jump.

:func:`decode_edited_motion` is the canonical decode of a sculpted motion: the studio's
committed (exported) faces and ``python main.py replay`` both come from it, with the same
batches, so they agree bit for bit on one machine.

Per-edit gate (``edit_gate="edit"``, the studio's since the seventh session): the decoder's
gate looks at its whole input, so ``D(X)`` of a large drag on top of an expression fades the
expression's learned detail too. :func:`pipeline_edit` decodes ``D(X)`` instead as
``S2DPipeline.decode_edit`` of the reference ``X_ref``: the reference keeps its gate and learned
part, and only the change of the learned part is faded by how unusual the edit's own
displacement ``X - X_ref`` is. On the neutral face (``X_ref`` = neutral landmarks) the gate sees
the same input as before. ``"whole"`` is the decode before it (manifests without
``edit_gate`` replay with it).

Shapes: T frames, n decoded frames, K landmarks, V vertices.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.edit.model import edited_frames, frozen

__all__ = [
    "DEFAULT_EDIT_GATE",
    "EDIT_GATES",
    "STUDIO_TRACED_BATCHES",
    "apply_residual",
    "check_edit_gate",
    "decode_as_edit",
    "decode_edited_motion",
    "pipeline_edit",
]

#: Batch sizes the studio traces its decoder for (a drag: 1; a generated motion: 30); a replay
#: must use the same (``S2DPipeline.use_traced``) to reproduce its decodes bit for bit.
STUDIO_TRACED_BATCHES = (1, 30)

#: How an edit's learned part is gated: "whole" (the gate of the whole edited input, before the
#: per-edit gate) or "edit" (per-edit gate, :func:`pipeline_edit`).
EDIT_GATES = ("whole", "edit")
DEFAULT_EDIT_GATE = "edit"

Decode = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: (neutral (V, 3), landmarks (n, K, 3), reference landmarks (n, K, 3)) -> (D(X), D(X_ref))
EditDecode = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def check_edit_gate(name) -> str:
    """``name`` if it is one of :data:`EDIT_GATES`, else a one-line InvalidInputError."""
    if name not in EDIT_GATES:
        from core.errors import InvalidInputError

        raise InvalidInputError(f"edit gate: expected one of {EDIT_GATES}, found {name!r}")
    return name


def pipeline_edit(pipeline) -> EditDecode:
    """The per-edit-gate decode of an ``S2DPipeline``: reference decoded first (one batched
    call, as ``decode``), then the edits of it (``decode_edit``)."""

    def edit(neutral, landmarks, ref_landmarks):
        ref = pipeline.edit_reference(neutral, ref_landmarks)
        return pipeline.decode_edit(neutral, landmarks, ref), ref.dense

    return edit


def apply_residual(
    reference_vertices: np.ndarray,
    decoded: np.ndarray,
    decoded_reference: np.ndarray,
    repair=None,
) -> np.ndarray:
    """``V_ref + (D(X) - D(X_ref))``; arrays broadcast as (n, V, 3) or (V, 3).

    ``repair``: a :class:`core.geometry.fold_repair.FoldRepair`; the triangles the edit turned
    over (relative to ``V_ref``) are relaxed, the rest of the face and the landmarks stay.
    """
    out = reference_vertices + (decoded - decoded_reference)
    if repair is None:
        return out
    rest = np.asarray(reference_vertices)
    return repair(rest, np.asarray(out).reshape((-1,) + rest.shape[-2:])).reshape(out.shape)


def decode_edited_motion(
    decode: Decode,
    neutral: np.ndarray,
    base_vertices: np.ndarray,
    base_landmarks: np.ndarray,
    offsets: np.ndarray,
    edit: EditDecode | None = None,
    repair=None,
) -> np.ndarray:
    """Faces (T, V, 3) float32, read-only, of a base motion with landmark ``offsets``.

    Unedited frames (offsets below ``EDIT_EPS``) keep the base faces; the edited ones are
    decoded in two batched calls (their base landmarks, then the edited ones) and combined
    with :func:`apply_residual`.

    Parameters
    ----------
    decode : callable (neutral (V, 3), landmarks (n, K, 3)) -> (n, V, 3)
    neutral : (V, 3) float; base_vertices : (T, V, 3); base_landmarks, offsets : (T, K, 3)
    edit : the per-edit decode (:func:`pipeline_edit`); None: ``decode`` of both (gate "whole")
    repair : the fold repair of :func:`apply_residual` (None: none, as before the eighth session)
    """
    frames = edited_frames(offsets)
    if frames.size == 0:
        return frozen(base_vertices)
    x_ref = np.asarray(base_landmarks)[frames]
    x = (np.asarray(base_landmarks) + offsets)[frames]
    if edit is None:
        d_ref = np.asarray(decode(neutral, x_ref), np.float32)
        d_x = np.asarray(decode(neutral, x), np.float32)
    else:
        d_x, d_ref = (np.asarray(a, np.float32) for a in edit(neutral, x, x_ref))
    out = np.array(base_vertices, dtype=np.float32)
    out[frames] = apply_residual(out[frames], d_x, d_ref, repair)
    out.setflags(write=False)
    return out


def decode_as_edit(pipeline, neutral, landmarks, repair: bool = True) -> np.ndarray:
    """Faces (B, V, 3) float32 of ``landmarks`` (B, K, 3) decoded as edits of their neutral
    faces (``neutral`` (V, 3) or (B, V, 3)), as the studio decodes a drag of a neutral face:
    the per-edit gate (``S2DPipeline.decode_edit``) and, with ``repair``, the fold repair
    (``S2DPipeline.fold_repair``) of what the edit turns over."""
    nv, lm = pipeline.check_targets(neutral, landmarks)
    ref = pipeline.edit_reference(nv, np.broadcast_to(pipeline.face_landmarks(nv), lm.shape))
    fix = pipeline.fold_repair() if repair else None
    return np.asarray(
        apply_residual(nv, pipeline.decode_edit(nv, lm, ref), ref.dense, fix), np.float32
    )
