"""Inference off the GUI thread: one worker thread, jobs in *lanes* that coalesce.

All torch work runs on a single :class:`QThread` (jobs run one after another, so the models are
never used from two threads). A job is a plain function ``fn(backend) -> result``; its result
comes back to the GUI thread through a queued signal and is handed to the ``on_done`` callback.

Lanes give the interactive behaviour: a lane has at most one job in flight and at most one
pending. Submitting to a busy lane *replaces* the pending job, so during a drag the decoder runs
on every move but never queues up: when a decode finishes, the next one starts on the latest
landmark positions.
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.errors import LOG, user_message
from core.errors import S2DError

__all__ = ["JobRunner"]


class _Worker(QObject):
    """Lives in the worker thread; runs one job per ``run`` call."""

    done = Signal(int, object, float, float)  # job id, result, wall seconds, CPU seconds
    error = Signal(int, str)  # job id, user message

    def __init__(self, backend) -> None:
        super().__init__()
        self.backend = backend

    @Slot(int, object)
    def run(self, job_id: int, fn: Callable) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            result = fn(self.backend)
        except BaseException as exc:  # noqa: BLE001 - reported to the GUI, never raised into Qt
            if not isinstance(exc, Exception):
                raise
            if isinstance(exc, S2DError):
                LOG.info("job %d: %s", job_id, exc)
            else:
                LOG.error("job %d failed:\n%s", job_id, traceback.format_exc().rstrip())
            self.error.emit(job_id, user_message(exc))
            return
        self.done.emit(job_id, result, time.perf_counter() - t0, time.thread_time() - c0)


@dataclass
class _Job:
    lane: str
    fn: Callable
    on_done: Callable | None
    on_error: Callable | None


class JobRunner(QObject):
    """Runs jobs on the worker thread with per-lane coalescing (GUI-thread object).

    Signals
    -------
    busy_changed(bool)
        True while a job of a lane not in ``quiet`` is queued or running.
    finished(str, float, float)
        Lane name, the job's wall time and its CPU time (worker thread) in seconds, after
        every successful job; CPU time is what the job costs on an idle machine.
    """

    busy_changed = Signal(bool)
    finished = Signal(str, float, float)
    _submit = Signal(int, object)

    def __init__(
        self, backend, parent: QObject | None = None, quiet: frozenset[str] = frozenset()
    ) -> None:
        super().__init__(parent)
        self._quiet = quiet  # lanes that do not count as "busy" (interactive drags)
        self._was_busy = False
        self._thread = QThread()
        self._thread.setObjectName("s2d-inference")
        self._worker = _Worker(backend)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._worker.done.connect(self._on_done)
        self._worker.error.connect(self._on_error)
        self._thread.start()
        self._ids = itertools.count(1)
        self._running: dict[int, _Job] = {}
        self._busy_lanes: set[str] = set()
        self._pending: dict[str, _Job] = {}
        self._closed = False

    # ----------------------------------------------------------------------------- public
    def submit(
        self,
        lane: str,
        fn: Callable,
        on_done: Callable | None = None,
        on_error: Callable | None = None,
    ) -> None:
        """Run ``fn(backend)`` on the worker; a busy lane keeps only the latest pending job."""
        if self._closed:
            return
        job = _Job(lane, fn, on_done, on_error)
        if lane in self._busy_lanes:
            self._pending[lane] = job
            return
        self._start(job)

    def is_busy(self, lane: str | None = None) -> bool:
        """Whether a lane (or any lane) has a job in flight or pending."""
        if lane is None:
            return bool(self._busy_lanes)
        return lane in self._busy_lanes

    def shutdown(self, timeout_ms: int = 10000) -> None:
        """Drop pending jobs, let the running one finish, stop the thread."""
        self._closed = True
        self._pending.clear()
        self._thread.quit()
        self._thread.wait(timeout_ms)

    # ---------------------------------------------------------------------------- private
    def _update_busy(self) -> None:
        busy = bool(self._busy_lanes - self._quiet)
        if busy != self._was_busy:
            self._was_busy = busy
            self.busy_changed.emit(busy)

    def _start(self, job: _Job) -> None:
        job_id = next(self._ids)
        self._running[job_id] = job
        self._busy_lanes.add(job.lane)
        self._update_busy()
        self._submit.emit(job_id, job.fn)

    def _finish(self, job_id: int) -> _Job | None:
        job = self._running.pop(job_id, None)
        if job is None:
            return None
        self._busy_lanes.discard(job.lane)
        nxt = self._pending.pop(job.lane, None)
        if nxt is not None and not self._closed:
            self._start(nxt)
        else:
            self._update_busy()
        return job

    @Slot(int, object, float, float)
    def _on_done(self, job_id: int, result, seconds: float, cpu: float) -> None:
        job = self._finish(job_id)
        if job is None or self._closed:
            return
        self.finished.emit(job.lane, seconds, cpu)
        if job.on_done is not None:
            job.on_done(result)

    @Slot(int, str)
    def _on_error(self, job_id: int, message: str) -> None:
        job = self._finish(job_id)
        if job is None or self._closed:
            return
        if job.on_error is not None:
            job.on_error(message)
