"""Sculpting in the studio: options, selection, pins, drags (:class:`Sculptor`).

The session owns one :class:`Sculptor` and forwards its sculpting intents to it; the sculptor
knows the session only through the :class:`SculptHost` interface (snapshot, undo, worker,
signals). A drag:
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
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QUndoCommand

from app.errors import guarded, user_message
from app.state import Snapshot
from core.edit.model import EDIT_EPS, DragEdit, symmetric_landmarks
from core.sculpt import DragPlan, smooth_radius

__all__ = ["Sculptor", "SculptHost", "Drag", "PinsCommand", "MODES"]

MODES = ("smooth", "direct", "coherent")  # the first is the default
#: Largest single-face decode time (ms) run inline on the GUI thread during a drag.
INLINE_DECODE_MS = 12.0


@dataclass
class Drag:
    """The drag in progress: landmark ``landmark`` grabbed on motion frame ``frame``."""

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

    def __init__(self, sculptor: Sculptor, before: frozenset, after: frozenset, text: str) -> None:
        super().__init__(text)
        self.sculptor, self.before, self.after = sculptor, before, after

    def redo(self) -> None:
        self.sculptor.set_pins(self.after)

    def undo(self) -> None:
        self.sculptor.set_pins(self.before)


class SculptHost(Protocol):
    """What the sculptor uses of the session (:class:`app.session.StudioSession`)."""

    snapshot: Snapshot  # the current undoable state
    landmarks: object  # core.assets.Landmarks (names, mirror, indices)
    runner: object  # app.worker.JobRunner
    backend: object  # app.backend.Backend
    undo_stack: object  # QUndoStack
    motion_frame: int  # the frame being edited
    decoder_error: str | None
    committed_vertices: np.ndarray | None
    edits_changed: object  # signals
    options_changed: object
    preview_changed: object
    failed: object
    timing: object

    def push_snapshot(self, after: Snapshot, text: str) -> None: ...
    def current_landmarks(self) -> np.ndarray: ...
    def current_vertices(self) -> np.ndarray: ...
    def pause(self) -> None: ...
    def set_provisional_frame(self, t: int, vertices: np.ndarray) -> bool: ...


class Sculptor(QObject):
    """Sculpting state and intents (module docstring); ``host`` is the session.

    prior : LandmarkPrior or None (coherent mode is unavailable without it; ``prior_error``
    says why).
    """

    def __init__(self, host: SculptHost, prior, prior_error: str = "", sigma: float = 6.0) -> None:
        super().__init__(host)  # the session is a QObject: it owns the sculptor
        self.host = host
        self.prior, self.prior_error = prior, prior_error
        self.mode = MODES[0]
        self.plain_mode = MODES[0]  # the last mode other than coherent (the C key goes back to it)
        self.symmetric = False
        self.sigma = float(sigma)
        self.pins: set[int] = set()
        self.selected: int | None = None
        self.drag: Drag | None = None
        self.drag_version = 0
        self.preview_version = 0  # version of the drag preview on display (benchmarks)
        self._inline_job: tuple | None = None  # (job, on_done) of the next inline drag decode
        self._inline_timer: QTimer | None = None

    @property
    def dragging(self) -> bool:
        return self.drag is not None

    @property
    def decode_pending(self) -> bool:
        """A drag decode is running or queued (its result will repaint the view)."""
        return self.drag is not None and (
            self.host.runner.is_busy("drag") or self._inline_job is not None
        )

    @property
    def idle(self) -> bool:
        """No inference queued or running: worker jobs of any lane, or an inline drag decode."""
        return not (
            self.host.runner.is_busy()
            or self.host.runner.is_busy("drag")
            or self._inline_job is not None
        )

    def _inline_ok(self) -> bool:
        ms = self.host.backend.inline_decode_ms
        return ms is not None and ms <= INLINE_DECODE_MS and not self.host.runner.is_busy()

    def readout(self, k: int | None = None) -> dict | None:
        """Requested vs achieved position of landmark ``k`` (default: selected), metres."""
        k = self.selected if k is None else k
        if k is None:
            return None
        req = self.host.current_landmarks()[k].astype(np.float64)
        ach = self.host.current_vertices()[self.host.landmarks.indices[k]].astype(np.float64)
        return {
            "landmark": k,
            "name": self.host.landmarks.names[k],
            "requested": req,
            "achieved": ach,
            "error_mm": float(np.linalg.norm(req - ach) * 1000.0),
        }

    # ------------------------------------------------------------------------ options
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if mode == "coherent" and self.prior is None:
            self.host.failed.emit(f"Coherent sculpting is unavailable: {self.prior_error}")
            return
        self.mode = mode
        if mode != "coherent":
            self.plain_mode = mode
        self.host.options_changed.emit()

    def set_symmetric(self, on: bool) -> None:
        self.symmetric = bool(on)
        self.host.options_changed.emit()
        self.host.edits_changed.emit()

    def set_sigma(self, sigma: float) -> None:
        """Temporal falloff in frames (``math.inf``: the whole motion)."""
        self.sigma = float(sigma) if sigma >= 0 else 0.0
        self.host.options_changed.emit()

    # ---------------------------------------------------------------------- selection
    def select(self, k: int | None) -> None:
        self.selected = None if k is None else int(k)
        self.host.edits_changed.emit()

    def pin(self, k: int | None = None, on: bool | None = None) -> None:
        """Pin (or unpin, or toggle with ``on=None``) landmark ``k`` (default: selected); an
        undo step."""
        k = self.selected if k is None else int(k)
        if k is None:
            return
        on = (k not in self.pins) if on is None else on
        after = frozenset(self.pins | {k}) if on else frozenset(self.pins - {k})
        name = self.host.landmarks.names[k]
        self._push_pins(after, f"Pin {name}" if on else f"Unpin {name}")

    def unpin_all(self) -> None:
        self._push_pins(frozenset(), "Unpin all")

    def _push_pins(self, after: frozenset, text: str) -> None:
        if after != self.pins:
            self.host.undo_stack.push(PinsCommand(self, frozenset(self.pins), after, text))

    def set_pins(self, pins) -> None:
        self.pins = set(pins)
        self.host.edits_changed.emit()

    def reset_landmark(self, k: int | None = None) -> None:
        """Remove the edits of landmark ``k`` (default: selected) on every frame."""
        k = self.selected if k is None else int(k)
        if k is None:
            return
        ks = symmetric_landmarks(k, self.host.landmarks.mirror, self.symmetric)
        if not np.abs(self.host.snapshot.offsets[:, ks]).max() > EDIT_EPS:
            return
        names = ", ".join(self.host.landmarks.names[i] for i in ks)
        self.host.push_snapshot(self.host.snapshot.with_landmarks_reset(ks), f"Reset {names}")

    def reset_all(self) -> None:
        if self.host.snapshot.edited_frames().size:
            self.host.push_snapshot(
                self.host.snapshot.with_landmarks_reset(None), "Reset all landmarks"
            )

    # -------------------------------------------------------------------------- drags
    def smooth_radius(self) -> float:
        """The smooth drag radius (metres) of the current face: 15 mm scaled by its size
        (:func:`core.sculpt.smooth_radius` of its neutral landmarks, not of the expression)."""
        face = self.host.snapshot.face.vertices
        return smooth_radius(np.asarray(face, np.float64)[self.host.landmarks.indices])

    def begin_drag(self, k: int, view_rows: np.ndarray | None = None) -> bool:
        """Grab landmark ``k``; ``view_rows`` (2, 3): the camera's right/up directions."""
        self.host.pause()
        self.cancel_silently()
        try:
            plan = DragPlan(
                k,
                self.host.landmarks.mirror,
                self.mode,
                self.prior,
                self.pins,
                self.symmetric,
                view_rows if self.mode == "coherent" else None,
                positions=self.host.current_landmarks(),
                radius=self.smooth_radius() if self.mode == "smooth" else None,
            )
        except Exception as exc:  # noqa: BLE001 - e.g. a singular constraint set
            self.host.failed.emit(f"cannot drag this landmark: {exc}")
            return False
        start = np.array(self.host.current_landmarks(), dtype=np.float64)
        self.drag = Drag(k, self.host.motion_frame, start, plan, np.zeros_like(start))
        self.selected = int(k)
        self.host.edits_changed.emit()
        return True

    def drag_to(self, position: np.ndarray) -> None:
        """Move the grabbed landmark to ``position`` (3,) metres; decodes asynchronously."""
        d = self.drag
        if d is None:
            return
        d.delta = d.plan.delta(np.asarray(position, np.float64) - d.start[d.landmark])
        self.drag_version += 1
        d.version = version = self.drag_version
        if self.host.decoder_error is None:
            self._submit_drag_decode(d, version)
        # after the submit: the view sees the decode pending and leaves the repaint to its
        # result, so a mouse move costs one render (landmarks and face together), not two
        self.host.edits_changed.emit()

    def _submit_drag_decode(self, d: Drag, version: int) -> None:
        snap, t = self.host.snapshot, d.frame
        lm = (d.start + d.delta).astype(np.float32)[None]  # (1, K, 3)
        neutral, base, token = snap.face.vertices, snap.base, snap.token

        def job(be):
            return be.decode_edited(token, neutral, base, [t], lm)[0]

        def done(verts):
            if self.drag is d:
                d.preview = verts
            elif not (
                d.committed is self.host.snapshot
                and self.host.committed_vertices is None
                and version == d.version  # the committed drag's last preview:
                and self.host.set_provisional_frame(t, verts)
            ):
                return
            self.preview_version = version
            self.host.preview_changed.emit()

        if self._inline_ok():
            self._inline_job = (job, done)  # replaces a not yet run one: latest position wins
            if self._inline_timer is None:
                self._inline_timer = QTimer(self, singleShot=True, interval=0)
                self._inline_timer.timeout.connect(self._run_inline_decode)
            if not self._inline_timer.isActive():
                self._inline_timer.start()
            return
        self.host.runner.submit("drag", job, guarded(done), self.host.failed.emit)

    @guarded
    def _run_inline_decode(self) -> None:
        """Run the latest pending drag decode on the GUI thread (see the module docstring)."""
        if self._inline_job is None:
            return
        job, done = self._inline_job
        self._inline_job = None
        if self.host.runner.is_busy():  # a job was started meanwhile: never share the models
            self.host.runner.submit("drag", job, guarded(done), self.host.failed.emit)
            return
        t0 = time.perf_counter()
        try:
            result = job(self.host.backend)
        except Exception as exc:  # noqa: BLE001 - shown like a worker error
            self.host.failed.emit(user_message(exc))
            return
        self.host.timing.emit("drag", 1000.0 * (time.perf_counter() - t0))
        done(result)

    def end_drag(self) -> None:
        """Release: record the edit (undoable) and decode every affected frame."""
        d = self.drag
        if d is None:
            return
        edit = DragEdit(
            d.frame,
            d.delta.astype(np.float32),
            self.sigma,
            d.landmark,
            d.plan.mode,
            self.symmetric,
            d.plan.radius,
        )
        if edit.moved().size == 0:
            self.drag = None
            self.host.edits_changed.emit()
            return
        after = self.host.snapshot.with_edit(edit)
        preview = d.preview
        d.committed = after
        self.drag = None
        self.host.push_snapshot(after, f"Drag {self.host.landmarks.names[d.landmark]}")
        if (
            preview is not None
            and self.host.snapshot is after
            and self.host.committed_vertices is None
            and self.host.set_provisional_frame(d.frame, preview)
        ):
            self.host.preview_changed.emit()

    def cancel_drag(self) -> None:
        self._inline_job = None
        if self.drag is not None:
            self.drag = None
            self.host.edits_changed.emit()
            self.host.preview_changed.emit()

    def cancel_silently(self) -> None:
        if self.drag is not None:
            self.drag = None
