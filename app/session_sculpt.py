"""Sculpting part of :class:`app.session.StudioSession`: options, selection, pins, drags.

A mixin of the session (it uses the session's snapshot, worker and signals). A drag:
:meth:`begin_drag` builds a :class:`core.sculpt.DragPlan`; every :meth:`drag_to` updates the
requested landmarks at once (``edits_changed``) and asks the ``drag`` lane for a decode, which
keeps one decode in flight on the latest positions (``preview_changed`` when it lands);
:meth:`end_drag` records the edit as an undo step, spread over the motion by the temporal
falloff, and decodes the edited frames in the background.

Inline drag decodes. When a single-face decode is cheap (the backend measures it after loading:
``Backend.inline_decode_ms`` <= :data:`INLINE_DECODE_MS`) and the worker is idle, the drag
decode runs on the GUI thread instead, from a zero-delay timer: mouse moves that arrive before
it fires are coalesced into one decode of the latest position, and the repaint follows at
once. On 2 CPU cores with software OpenGL a worker decode of 6 ms CPU took 40-60 ms wall,
starved by the renderer's threads, and a drag's latency was 100+ ms; inline it is the decode
plus one frame. The models are still never used by two threads at once: jobs are only started
from the GUI thread, and an inline decode only runs while no job is queued or running (else
the decode goes to the worker's ``drag`` lane as before).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QUndoCommand

from app.errors import guarded, user_message
from app.state import Snapshot
from core.edit.model import EDIT_EPS, DragEdit, symmetric_landmarks
from core.sculpt import DragPlan

__all__ = ["SculptMixin", "MODES"]

MODES = ("direct", "coherent")
#: Largest single-face decode time (ms) run inline on the GUI thread during a drag.
INLINE_DECODE_MS = 12.0


@dataclass
class _Drag:
    landmark: int
    frame: int
    start: np.ndarray  # (K, 3) requested landmarks when grabbed
    plan: DragPlan
    delta: np.ndarray  # (K, 3) current deltas of all landmarks
    version: int = 0
    preview: np.ndarray | None = None  # (V, 3) latest decoded face
    committed: Snapshot | None = None  # the snapshot end_drag() recorded


class PinsCommand(QUndoCommand):
    """Undo step: the set of pinned landmarks before and after."""

    def __init__(self, session, before: frozenset, after: frozenset, text: str) -> None:
        super().__init__(text)
        self._session, self.before, self.after = session, before, after

    def redo(self) -> None:
        self._session._set_pins(self.after)

    def undo(self) -> None:
        self._session._set_pins(self.before)


class SculptMixin:
    """Sculpting intents of the session (see :class:`app.session.StudioSession`)."""

    _inline_job: tuple | None = None  # (job, on_done) of the next inline drag decode
    _inline_timer: QTimer | None = None

    @property
    def dragging(self) -> bool:
        return self._drag is not None

    @property
    def decode_pending(self) -> bool:
        """A drag decode is running or queued (its result will repaint the view)."""
        return self._drag is not None and (
            self.runner.is_busy("drag") or self._inline_job is not None)

    @property
    def idle(self) -> bool:
        """No inference queued or running: worker jobs of any lane, or an inline drag decode."""
        return not (self.runner.is_busy() or self.runner.is_busy("drag")
                    or self._inline_job is not None)

    def _inline_ok(self) -> bool:
        ms = self.backend.inline_decode_ms
        return ms is not None and ms <= INLINE_DECODE_MS and not self.runner.is_busy()

    def readout(self, k: int | None = None) -> dict | None:
        """Requested vs achieved position of landmark ``k`` (default: selected), metres."""
        k = self.selected if k is None else k
        if k is None:
            return None
        req = self.current_landmarks()[k].astype(np.float64)
        ach = self.current_vertices()[self.landmarks.indices[k]].astype(np.float64)
        return {"landmark": k, "name": self.landmarks.names[k], "requested": req,
                "achieved": ach, "error_mm": float(np.linalg.norm(req - ach) * 1000.0)}

    # ------------------------------------------------------------------------ options
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if mode == "coherent" and self.prior is None:
            self.failed.emit(f"Coherent sculpting is unavailable: {self._prior_error}")
            return
        self.mode = mode
        self.options_changed.emit()

    def set_symmetric(self, on: bool) -> None:
        self.symmetric = bool(on)
        self.options_changed.emit()
        self.edits_changed.emit()

    def set_sigma(self, sigma: float) -> None:
        """Temporal falloff in frames (``math.inf``: the whole motion)."""
        self.sigma = float(sigma) if sigma >= 0 else 0.0
        self.options_changed.emit()

    # ---------------------------------------------------------------------- selection
    def select(self, k: int | None) -> None:
        self.selected = None if k is None else int(k)
        self.edits_changed.emit()

    def pin(self, k: int | None = None, on: bool | None = None) -> None:
        """Pin (or unpin, or toggle with ``on=None``) landmark ``k`` (default: selected); an
        undo step."""
        k = self.selected if k is None else int(k)
        if k is None:
            return
        on = (k not in self.pins) if on is None else on
        after = frozenset(self.pins | {k}) if on else frozenset(self.pins - {k})
        name = self.landmarks.names[k]
        self._push_pins(after, f"Pin {name}" if on else f"Unpin {name}")

    def unpin_all(self) -> None:
        self._push_pins(frozenset(), "Unpin all")

    def _push_pins(self, after: frozenset, text: str) -> None:
        if after != self.pins:
            self.undo_stack.push(PinsCommand(self, frozenset(self.pins), after, text))

    def _set_pins(self, pins) -> None:
        self.pins = set(pins)
        self.edits_changed.emit()

    def reset_landmark(self, k: int | None = None) -> None:
        """Remove the edits of landmark ``k`` (default: selected) on every frame."""
        k = self.selected if k is None else int(k)
        if k is None:
            return
        ks = symmetric_landmarks(k, self.landmarks.mirror, self.symmetric)
        if not np.abs(self._snap.offsets[:, ks]).max() > EDIT_EPS:
            return
        names = ", ".join(self.landmarks.names[i] for i in ks)
        self._push(self._snap.with_landmarks_reset(ks), f"Reset {names}")

    def reset_all(self) -> None:
        if self._snap.edited_frames().size:
            self._push(self._snap.with_landmarks_reset(None), "Reset all landmarks")

    # -------------------------------------------------------------------------- drags
    def begin_drag(self, k: int, view_rows: np.ndarray | None = None) -> bool:
        """Grab landmark ``k``; ``view_rows`` (2, 3): the camera's right/up directions."""
        self.pause()
        self._cancel_drag_silently()
        try:
            plan = DragPlan(k, self.landmarks.mirror, self.mode, self.prior, self.pins,
                            self.symmetric, view_rows if self.mode == "coherent" else None)
        except Exception as exc:  # noqa: BLE001 - e.g. a singular constraint set
            self.failed.emit(f"cannot drag this landmark: {exc}")
            return False
        start = np.array(self.current_landmarks(), dtype=np.float64)
        self._drag = _Drag(k, self.motion_frame, start, plan, np.zeros_like(start))
        self.selected = int(k)
        self.edits_changed.emit()
        return True

    def drag_to(self, position: np.ndarray) -> None:
        """Move the grabbed landmark to ``position`` (3,) metres; decodes asynchronously."""
        d = self._drag
        if d is None:
            return
        d.delta = d.plan.delta(np.asarray(position, np.float64) - d.start[d.landmark])
        self._drag_version += 1
        d.version = version = self._drag_version
        if self.decoder_error is None:
            self._submit_drag_decode(d, version)
        # after the submit: the view sees the decode pending and leaves the repaint to its
        # result, so a mouse move costs one render (landmarks and face together), not two
        self.edits_changed.emit()

    def _submit_drag_decode(self, d: _Drag, version: int) -> None:
        snap, t = self._snap, d.frame
        lm = (d.start + d.delta).astype(np.float32)[None]  # (1, K, 3)
        neutral, base, token = snap.face.vertices, snap.base, snap.token

        def job(be):
            return be.decode_edited(token, neutral, base, [t], lm)[0]

        def done(verts):
            if self._drag is d:
                d.preview = verts
            elif d.committed is self._snap and self._snap.vertices is None \
                    and version == d.version and self._provisional is not None:
                self._provisional[t] = verts  # the committed drag's last preview
            else:
                return
            self.preview_version = version
            self.preview_changed.emit()

        if self._inline_ok():
            self._inline_job = (job, done)  # replaces a not yet run one: latest position wins
            if self._inline_timer is None:
                self._inline_timer = QTimer(self, singleShot=True, interval=0)
                self._inline_timer.timeout.connect(self._run_inline_decode)
            if not self._inline_timer.isActive():
                self._inline_timer.start()
            return
        self.runner.submit("drag", job, guarded(done), self._fail)

    @guarded
    def _run_inline_decode(self) -> None:
        """Run the latest pending drag decode on the GUI thread (see the module docstring)."""
        if self._inline_job is None:
            return
        job, done = self._inline_job
        self._inline_job = None
        if self.runner.is_busy():  # a job was started meanwhile: never share the models
            self.runner.submit("drag", job, guarded(done), self._fail)
            return
        t0 = time.perf_counter()
        try:
            result = job(self.backend)
        except Exception as exc:  # noqa: BLE001 - shown like a worker error
            self._fail(user_message(exc))
            return
        self.timing.emit("drag", 1000.0 * (time.perf_counter() - t0))
        done(result)

    def end_drag(self) -> None:
        """Release: record the edit (undoable) and decode every affected frame."""
        d = self._drag
        if d is None:
            return
        edit = DragEdit(d.frame, d.delta.astype(np.float32), self.sigma, d.landmark, self.mode,
                        self.symmetric)
        if edit.moved().size == 0:
            self._drag = None
            self.edits_changed.emit()
            return
        after = self._snap.with_edit(edit)
        preview = d.preview
        d.committed = after
        self._drag = None
        self._push(after, f"Drag {self.landmarks.names[d.landmark]}")
        if preview is not None and self._snap is after and after.vertices is None:
            self._provisional[d.frame] = preview
            self.preview_changed.emit()

    def cancel_drag(self) -> None:
        self._inline_job = None
        if self._drag is not None:
            self._drag = None
            self.edits_changed.emit()
            self.preview_changed.emit()

    def _cancel_drag_silently(self) -> None:
        if self._drag is not None:
            self._drag = None
