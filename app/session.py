"""The studio's state and intents: one QObject between the widgets and the core.

Widgets take the session in their constructor, connect to its signals and call its intent
methods; they never call each other. The session owns an undo stack of :class:`Snapshot` swaps
(generate, label/seed changes, drags, resets, interpolation commits, face loads) and sends all
model work to the worker thread (:class:`app.worker.JobRunner`): results come back as numpy
arrays through queued signals.

Collaborators with their own state and explicit interfaces do the parts: sculpting
(:class:`app.sculpting.Sculptor`: options, pins, drags; it sees the session through
:class:`app.sculpting.SculptHost`), playback (:class:`app.playback.Playback`: frame, clock,
timer) and exports (:class:`app.exporting.ExportController`). The session forwards the widgets'
intents to them and keeps the snapshot, the undo stack and the motion choices.
"""

from __future__ import annotations

import random
import weakref
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from app.backend import Backend, array_key
from app.errors import guarded
from app.playback import Playback
from app.sculpting import MODES, Sculptor
from app.state import FaceState, Snapshot, Source
from app.worker import JobRunner
from core.assets import load_face, load_landmarks
from core.data.recipes import LABELS, ONE_SIDED_LABELS
from core.edit.model import neutral_motion
from core.sculpt import LandmarkPrior, load_landmark_prior

__all__ = ["StudioSession", "SnapshotCommand", "MODES", "INTERP_MODES"]

INTERP_MODES = ("geodesic", "apex")
#: Default temporal falloff of motion edits (Gaussian window, frames).
DEFAULT_SIGMA = 6.0
#: Largest seed offered by "new seed".
MAX_SEED = 99999
#: An interpolation preview becomes an undo step after the slider rests this long (ms).
INTERP_COMMIT_MS = 600


class SnapshotCommand(QUndoCommand):
    """Undo step: swap the session between two snapshots."""

    def __init__(self, session: StudioSession, before: Snapshot, after: Snapshot, text: str):
        super().__init__(text)
        self._session, self.before, self.after = session, before, after

    def redo(self) -> None:
        self._session._set_snapshot(self.after)

    def undo(self) -> None:
        self._session._drop_interp_preview()
        self._session._set_snapshot(self.before)


@dataclass
class CompareSet:
    label: str
    seeds: list[int]
    motions: list = field(default_factory=list)
    n_frames: int = 30


class StudioSession(QObject):
    """State + intents of the studio (see module docstring).

    Parameters
    ----------
    pipeline, generator : injected models (tests); None loads the real ones on the worker.
    prior : LandmarkPrior or None
        None loads ``resources/landmark_prior.npz`` (coherent mode is disabled without it).
    """

    face_changed = Signal()
    motion_changed = Signal()
    frame_changed = Signal(int)
    edits_changed = Signal()
    preview_changed = Signal()
    options_changed = Signal()
    playing_changed = Signal(bool)
    interp_changed = Signal()
    compare_changed = Signal()
    timeline_changed = Signal()
    busy_changed = Signal(bool)
    models_ready = Signal(str)
    timing = Signal(str, float)
    failed = Signal(str)
    status = Signal(str)

    def __init__(
        self,
        pipeline=None,
        generator=None,
        prior: LandmarkPrior | None = None,
        device: str = "auto",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        shipped = load_face()
        self.template = shipped
        self.landmarks = load_landmarks()
        self.labels = tuple(LABELS)
        self.backend = Backend(pipeline, generator, device)
        self.runner = JobRunner(self.backend, self, quiet=frozenset({"drag"}))
        self.runner.busy_changed.connect(self.busy_changed)
        self.runner.finished.connect(lambda lane, s, _cpu: self.timing.emit(lane, 1000.0 * s))
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(60)
        prior_error = ""
        try:
            prior = prior if prior is not None else load_landmark_prior()
        except Exception as exc:  # noqa: BLE001 - coherent mode just becomes unavailable
            prior, prior_error = None, str(exc)
        face = FaceState(shipped.vertices, "default face", None, array_key(shipped.vertices))
        self._snap = Snapshot.of(
            face, neutral_motion(face.vertices, self.landmarks.indices), Source()
        )
        self._provisional: np.ndarray | None = None
        #: decoded faces (T, V, 3) of edited snapshots (frozen values: kept beside them)
        self._decoded: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.sculpt = Sculptor(self, prior, prior_error, DEFAULT_SIGMA)
        self.playback = Playback(lambda: self.timeline_frames, lambda: self.sculpt.dragging, self)
        self.playback.frame_changed.connect(self.frame_changed)
        self.playback.playing_changed.connect(self.playing_changed)
        self.playback.options_changed.connect(self.options_changed)
        self.view = {"wireframe": False, "heatmap": False, "landmarks": True}
        self.label, self.seed, self.n_frames = "high_smile", 1, 30
        self.side: str | None = None  # of one-sided labels; None: drawn from the seed
        self.one_sided = tuple(ONE_SIDED_LABELS)
        self.interp_a: tuple = ("high_smile", 1)
        self.interp_b: tuple = ("surprised", 2)
        self.tau, self.interp_mode = 0.5, "geodesic"
        self._interp_before: Snapshot | None = None
        self._interp_commit = QTimer(self, singleShot=True, interval=INTERP_COMMIT_MS)
        self._interp_commit.timeout.connect(self.commit_interpolation)
        self.compare_set: CompareSet | None = None
        self.compare_active = False  # the compare grid is on screen: it sets the timeline
        self.device = "…"
        self.decoder_error: str | None = None  # set when the decoder cannot be loaded
        self.generator_error: str | None = None  # set when Motion3DGAN cannot be loaded
        self.model_hashes: dict = {}
        self.exports = None  # app.exporting.ExportController, created on first export

    # =============================================================================== queries
    @property
    def snapshot(self) -> Snapshot:
        return self._snap

    @property
    def face(self) -> FaceState:
        return self._snap.face

    @property
    def source(self) -> Source:
        return self._snap.source

    @property
    def n_motion_frames(self) -> int:
        return self._snap.n_frames

    def vertices_of(self, snap: Snapshot) -> np.ndarray | None:
        """(T, V, 3) committed faces of ``snap``, or None while they are being decoded."""
        return snap.vertices if snap.vertices is not None else self._decoded.get(snap)

    @property
    def committed_vertices(self) -> np.ndarray | None:
        """(T, V, 3) committed faces of the current snapshot (what an export writes), or None."""
        return self.vertices_of(self._snap)

    def frames_vertices(self) -> np.ndarray:
        """(T, V, 3) displayed faces (edited motion, or a provisional copy while decoding)."""
        done = self.vertices_of(self._snap)
        if done is not None:
            return done
        if self._provisional is None or len(self._provisional) != self._snap.n_frames:
            self._provisional = np.array(self._snap.base.vertices)
        return self._provisional

    def current_vertices(self) -> np.ndarray:
        """(V, 3) the face on display (the drag preview while dragging)."""
        d = self.sculpt.drag
        if d is not None and d.preview is not None:
            return d.preview
        return self.frames_vertices()[self.motion_frame]

    def current_landmarks(self) -> np.ndarray:
        """(K, 3) requested landmark positions on the current frame."""
        d = self.sculpt.drag
        if d is not None:
            return d.start + d.delta
        t = self.motion_frame
        return self._snap.base.landmarks[t] + self._snap.offsets[t]

    # ============================================================================== lifecycle
    def start(self) -> None:
        """Load the models on the worker (the window shows the neutral face meanwhile)."""
        self.status.emit("Loading models…")
        self.runner.submit("load", lambda be: be.load(), self._on_models, self._on_no_models)

    def _on_no_models(self, message: str) -> None:
        self.decoder_error = message
        self.device = "none"
        self.models_ready.emit("no decoder")
        self.failed.emit(
            f"The face decoder could not be loaded, so the face cannot follow the "
            f"landmarks (you can still look at and move them). {message}"
        )

    @guarded
    def _on_models(self, info: dict) -> None:
        self.device = info["device"]
        self.model_hashes = self.backend.model_hashes()
        self.models_ready.emit(self.device)
        if info.get("generator"):
            self.generator_error = info["generator"]
            self.failed.emit(f"Expression generation is unavailable: {info['generator']}")
        else:
            self.status.emit(f"Models ready on {self.device}")

    def shutdown(self) -> None:
        """Stop playback, exports and the worker thread (call from closeEvent)."""
        self.playback.stop()
        self._interp_commit.stop()
        if self.exports is not None:
            self.exports.cancel()
        self.runner.shutdown()

    def _fail(self, message: str) -> None:
        self.failed.emit(message)

    # ============================================================================ snapshots
    def _set_snapshot(self, snap: Snapshot) -> None:
        """Make ``snap`` current (undo/redo and new states all come through here)."""
        self.sculpt.drag = None
        old = self._snap
        self._snap = snap
        if self.vertices_of(snap) is None:
            prev = self.vertices_of(old)
            prev = prev if prev is not None else self._provisional
            same = prev is not None and prev.shape == snap.base.vertices.shape
            self._provisional = np.array(prev if same else snap.base.vertices)
            self._decode_snapshot(snap)
        self.playback.clamp_to_timeline()
        src = snap.source
        if src.kind == "generate":
            self.label, self.seed, self.n_frames = src.label, src.seed, src.n_frames
        elif src.kind in ("interpolate", "mix_apex"):
            self.interp_a, self.interp_b, self.tau = src.a, src.b, src.tau
            self.interp_mode = "geodesic" if src.kind == "interpolate" else "apex"
            self.interp_changed.emit()
        if old.face is not snap.face:
            self.face_changed.emit()
        self.motion_changed.emit()
        self.frame_changed.emit(self.frame)
        self.edits_changed.emit()

    def push_snapshot(self, after: Snapshot, text: str) -> None:
        """Make ``after`` current as an undo step named ``text``."""
        self.undo_stack.push(SnapshotCommand(self, self._snap, after, text))

    def set_snapshot(self, snap: Snapshot) -> None:
        """Make ``snap`` current without an undo step (live previews; undo/redo)."""
        self._set_snapshot(snap)

    def set_provisional_frame(self, t: int, vertices: np.ndarray) -> bool:
        """Show ``vertices`` (V, 3) on frame ``t`` until the committed decode lands; False when
        nothing is being decoded."""
        if self._provisional is None:
            return False
        self._provisional[t] = vertices
        return True

    def _decode_snapshot(self, snap: Snapshot) -> None:
        if self.decoder_error is not None:
            return  # no decoder: the landmarks show the edit, the face stays
        neutral, base, offsets = snap.face.vertices, snap.base, snap.offsets

        def job(be):
            return be.decode_motion(neutral, base, offsets)

        def done(verts):
            self._decoded[snap] = verts
            if snap is self._snap:
                self._provisional = None
                self.preview_changed.emit()
                self.edits_changed.emit()

        self.runner.submit("commit", job, guarded(done), self._fail)

    # ============================================================================= generate
    def generate(
        self, label: str | None = None, seed: int | None = None, n_frames: int | None = None
    ) -> None:
        """Generate ``label`` with ``seed`` on the current face (an undo step when done).

        One-sided labels (:attr:`one_sided`) are generated on :attr:`side` (None: the side
        drawn from the seed); the source records the side actually generated.
        """
        label = self.label if label is None else label
        seed = self.seed if seed is None else int(seed)
        n_frames = self.n_frames if n_frames is None else int(n_frames)
        if label not in self.labels:
            self.failed.emit(f"unknown expression label {label!r}; pick one of the list")
            return
        self.label, self.seed, self.n_frames = label, seed, n_frames
        side = self.side if label in self.one_sided else None
        face = self._snap.face
        self.status.emit(f"Generating {label} (seed {seed})…")

        def job(be):
            return be.motion(label, seed, n_frames, face.key, face.vertices, side)

        def done(motion):
            if face is not self._snap.face:
                return  # the face changed meanwhile; that load regenerates
            got = (motion.meta or {}).get("side")
            first = self._snap.base.n_frames == 1  # from a still face: show the expression
            snap = Snapshot.of(face, motion, Source("generate", label, seed, n_frames, side=got))
            self.push_snapshot(snap, f"Generate {label} #{seed}")
            if first and motion.n_frames > 1:
                self.set_frame(apex_frame(motion.landmarks))
            self.status.emit(f"Generated {label} (seed {seed}, {motion.n_frames} frames)")

        def failed(message):
            src = self._snap.source  # the panel shows what is on screen again
            if src.kind == "generate":
                self.label, self.seed, self.n_frames = src.label, src.seed, src.n_frames
            self.failed.emit(message)

        self.runner.submit("generate", job, guarded(done), failed)

    def set_side(self, side: str | None) -> None:
        """Side of one-sided labels: "left", "right" (the subject's) or None (from the seed);
        regenerates when a one-sided label is shown."""
        if side not in (None, "left", "right"):
            raise ValueError("side must be None, 'left' or 'right'")
        self.side = side
        self.options_changed.emit()
        if self.source.kind == "generate" and self.source.label in self.one_sided:
            self.generate()

    def new_seed(self) -> int:
        """Pick a random seed and generate with it."""
        seed = random.randint(0, MAX_SEED)
        self.generate(seed=seed)
        return seed

    def set_view_option(self, name: str, on: bool) -> None:
        """Wireframe, heat map or landmark display on/off."""
        if name not in self.view:
            raise KeyError(name)
        self.view[name] = bool(on)
        self.options_changed.emit()

    # ========================================================================= interpolation
    def set_interp_end(self, which: str, label: str, seed: int) -> None:
        """Motion A or B of the interpolation; recomputes and commits at the current tau."""
        if which not in ("A", "B") or label not in self.labels:
            self.failed.emit(f"cannot use {label!r} as motion {which}")
            return
        if which == "A":
            self.interp_a = (label, int(seed))
        else:
            self.interp_b = (label, int(seed))
        self.interp_changed.emit()
        self._interpolate(commit=True)

    def set_interp_mode(self, mode: str) -> None:
        if mode not in INTERP_MODES:
            raise ValueError(f"interpolation mode must be one of {INTERP_MODES}")
        self.interp_mode = mode
        self.interp_changed.emit()
        self._interpolate(commit=True)

    def set_tau(self, tau: float) -> None:
        """Live preview at ``tau`` in [0, 1]; becomes an undo step when the slider rests."""
        self.tau = float(np.clip(tau, 0.0, 1.0))
        self.interp_changed.emit()
        self._interpolate(commit=False)
        self._interp_commit.start()

    @guarded
    def commit_interpolation(self) -> None:
        """Turn the previewed interpolation into an undo step (slider released)."""
        self._interp_commit.stop()
        if self.runner.is_busy("interp"):
            self._interp_commit.start()  # the latest tau is still being computed
            return
        before, self._interp_before = self._interp_before, None
        if before is not None and before is not self._snap:
            after = self._snap
            self.undo_stack.push(
                SnapshotCommand(self, before, after, f"Interpolate τ = {after.source.tau:.2f}")
            )

    def _drop_interp_preview(self) -> None:
        self._interp_commit.stop()
        self._interp_before = None

    def _interpolate(self, commit: bool) -> None:
        if self.generator_error is not None and not commit:
            # the slider moves continuously: a status line, not a dialog per step
            self.status.emit(f"Interpolation is unavailable: {self.generator_error}")
            return
        a, b, tau, mode, n = self.interp_a, self.interp_b, self.tau, self.interp_mode, self.n_frames
        face = self._snap.face
        kind = "interpolate" if mode == "geodesic" else "mix_apex"

        def job(be):
            ma = be.motion(a[0], a[1], n, face.key, face.vertices)
            mb = be.motion(b[0], b[1], n, face.key, face.vertices)
            fn = be.generator.interpolate if mode == "geodesic" else be.generator.mix_apex
            return fn(ma, mb, tau)

        def done(motion):
            if face is not self._snap.face:
                return
            snap = Snapshot.of(face, motion, Source(kind, a[0], a[1], n, a, b, tau))
            if self._interp_before is None:
                self._interp_before = self._snap
            self._set_snapshot(snap)
            if commit:
                self.commit_interpolation()

        self.runner.submit("interp", job, guarded(done), self._fail)

    # =============================================================================== compare
    def compare(self, label: str, seeds: list[int]) -> None:
        """Generate ``seeds`` (2–9) of ``label`` for the compare grid."""
        seeds = [int(s) for s in seeds]
        if not 2 <= len(seeds) <= 9 or label not in self.labels:
            self.failed.emit("compare needs an expression label and 2 to 9 seeds")
            return
        face, n = self._snap.face, self.n_frames
        self.status.emit(f"Generating {len(seeds)} seeds of {label}…")

        def job(be):
            return [be.motion(label, s, n, face.key, face.vertices) for s in seeds]

        def done(motions):
            self.compare_set = CompareSet(label, seeds, motions, n)
            self.compare_changed.emit()
            self.timeline_changed.emit()
            self.status.emit(f"Compare: {len(seeds)} seeds of {label}")

        self.runner.submit("compare", job, guarded(done), self._fail)

    def set_compare_active(self, on: bool) -> None:
        """The compare grid is shown (its seeds then set the playback timeline) or hidden."""
        self.compare_active = bool(on)
        self.playback.clamp_to_timeline()
        self.timeline_changed.emit()
        self.frame_changed.emit(self.frame)

    def compare_use(self, index: int, role: str) -> None:
        """Use seed ``index`` of the grid: ``"edit"`` (make it current), ``"A"`` or ``"B"``."""
        cs = self.compare_set
        if cs is None or not 0 <= index < len(cs.motions):
            return
        seed = cs.seeds[index]
        if role == "edit":
            m = cs.motions[index]
            snap = Snapshot.of(
                self._snap.face,
                m,
                Source("generate", cs.label, seed, cs.n_frames, side=(m.meta or {}).get("side")),
            )
            self.push_snapshot(snap, f"Use {cs.label} #{seed}")
        else:
            self.set_interp_end(role, cs.label, seed)

    # ================================================================================= faces
    def open_face(self, path: str) -> None:
        """Load a neutral face (OBJ/PLY of the model's topology); regenerates the motion."""
        template = self.template
        src = self._snap.source
        regen = (src.label, src.seed, src.n_frames) if src.kind == "generate" else None
        side = src.side if regen else None  # the same side on the new face
        landmark_indices = self.landmarks.indices
        self.status.emit(f"Opening {path}…")

        def job(be):
            from core.io.face_check import check_face
            from core.io.mesh_io import check_topology, load_mesh

            mesh = load_mesh(path, max_vertices=template.n_vertices)
            check_topology(
                mesh,
                template.faces,
                template.n_vertices,
                template_name="the studio's face topology (e.g. a face it exported)",
            )
            # collapsed, reordered or mirrored faces are refused; a rotated one is turned upright
            chk = check_face(
                mesh.vertices, template.vertices, template.faces, landmark_indices, _file_name(path)
            )
            v = chk.vertices
            face = FaceState(v, _file_name(path), str(path), array_key(v))
            motion = be.motion(*regen, face.key, v, side) if regen else None
            return face, motion, (*mesh.notes, *chk.notes)

        def done(result):
            face, motion, notes = result
            if motion is None:
                motion = neutral_motion(face.vertices, self.landmarks.indices)
                source = Source()
            else:
                source = Source("generate", *regen, side=side)
            self.push_snapshot(Snapshot.of(face, motion, source), f"Open {face.name}")
            self.status.emit(f"Opened {face.name}" + (f" ({'; '.join(notes)})" if notes else ""))

        def failed(m: str) -> None:
            hint = (
                " To animate a face of another topology, use File ▸ Open face mesh (any topology)…."
                if "topology" in m
                else ""
            )
            self.failed.emit(f"Could not open the face. {m}{hint}")

        self.runner.submit("face", job, guarded(done), failed)

    def reset_face(self) -> None:
        """Back to the shipped default face; a generated motion is kept (regenerated on it), as
        :meth:`open_face` does."""
        f = self.template
        face = FaceState(f.vertices, "default face", None, array_key(f.vertices))
        src = self._snap.source
        if src.kind != "generate":
            self.push_snapshot(
                Snapshot.of(face, neutral_motion(f.vertices, self.landmarks.indices), Source()),
                "Default face",
            )
            return
        regen, side = (src.label, src.seed, src.n_frames), src.side

        def done(motion):
            self.push_snapshot(
                Snapshot.of(face, motion, Source("generate", *regen, side=side)), "Default face"
            )
            self.status.emit("Default face")

        self.runner.submit(
            "face",
            lambda be: be.motion(*regen, face.key, face.vertices, side),
            guarded(done),
            lambda m: self.failed.emit(f"Could not switch to the default face. {m}"),
        )

    # ================================================================================ export
    def manifest(self) -> dict:
        """Provenance for exports: motion source, edits, pins, face, model hashes."""
        from core.edit.replay import replay_section
        from core.io.manifest import build_manifest

        snap = self._snap
        source = snap.source.manifest()
        motion = {k: v for k, v in source.items() if k not in ("a", "b")}
        for old, new in (("a", "from"), ("b", "to")):  # the manifest's names (docs/manifest.md)
            if old in source:
                motion[new] = source[old]
        motion["n_frames"] = int(snap.base.n_frames)
        length = (snap.base.meta or {}).get("length")
        if snap.source.kind in ("generate", "interpolate") and length is not None:
            motion["length"] = float(length)
        edits = snap.manifest_edits(self.landmarks.names)
        for e in edits:
            if isinstance(e.get("frame"), int):
                e["frame"] += 1  # 1-based, as in the file names
        models = {
            role: {"file": f"{role}.safetensors", "sha256": self.model_hashes[key]}
            for role, key in (("s2d_decoder", "decoder"), ("motion3dgan", "generator"))
            if self.model_hashes.get(key)
        }
        out = build_manifest(
            producer="studio",
            motion=motion,
            fps=self.fps,
            face_name=snap.face.name,
            face_path=snap.face.path,
            face_vertices=snap.face.vertices,
            models=models,
            edits=edits,
            pinned_landmarks=[self.landmarks.names[i] for i in sorted(self.pins)],
        )
        if snap.face.sliders:
            out["face_sliders"] = dict(snap.face.sliders)
        out["replay"] = replay_section(
            snap.face.vertices,
            snap.face.path,
            source,
            snap.edits,
            {
                "s2d_decoder": self.model_hashes.get("decoder"),
                "motion3dgan": self.model_hashes.get("generator"),
            },
            self.backend.torch_device,
            uv=True,
            face_extra=_face_extra(snap.face),
        )
        return out

    def export(
        self, fmt: str, path: str, overwrite: bool = False, frames_rgb: np.ndarray | None = None
    ) -> bool:
        """Export the edited motion (see :class:`app.exporting.ExportController`)."""
        from app.exporting import ExportController

        if self.exports is None:
            self.exports = ExportController(self)
        return self.exports.start(fmt, path, overwrite, frames_rgb)

    # ======================================================================== playback
    @property
    def frame(self) -> int:
        """The playback position (may pass the motion's end while the grid is longer)."""
        return self.playback.frame

    @property
    def motion_frame(self) -> int:
        """The frame of the current motion on display and being edited."""
        return min(self.playback.frame, self._snap.n_frames - 1)

    @property
    def timeline_frames(self) -> int:
        """Length of the playback timeline: the motion's, or the compare grid's when shown."""
        n = self._snap.n_frames
        if self.compare_active and self.compare_set is not None:
            n = max(n, *(m.n_frames for m in self.compare_set.motions))
        return n

    fps = property(lambda self: self.playback.clock.fps)
    loop = property(lambda self: self.playback.clock.loop)
    playing = property(lambda self: self.playback.playing)

    def set_frame(self, t: int) -> None:
        t = self.playback.clock.clamp(t, self.timeline_frames)
        if t != self.playback.frame:
            self.sculpt.cancel_silently()
            self.playback.set_frame(t)

    def step(self, d: int) -> None:
        self.set_frame(self.playback.step_target(d))

    def play(self) -> None:
        self.playback.play()

    def pause(self) -> None:
        self.playback.pause()

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def set_fps(self, fps: float) -> None:
        self.playback.set_fps(fps)

    def set_loop(self, on: bool) -> None:
        self.playback.set_loop(on)

    # ======================================================================== sculpting
    prior = property(lambda self: self.sculpt.prior)
    mode = property(lambda self: self.sculpt.mode)
    plain_mode = property(lambda self: self.sculpt.plain_mode)
    symmetric = property(lambda self: self.sculpt.symmetric)
    sigma = property(lambda self: self.sculpt.sigma)
    pins = property(lambda self: frozenset(self.sculpt.pins))
    selected = property(lambda self: self.sculpt.selected)
    dragging = property(lambda self: self.sculpt.dragging)
    decode_pending = property(lambda self: self.sculpt.decode_pending)
    idle = property(lambda self: self.sculpt.idle)
    preview_version = property(lambda self: self.sculpt.preview_version)

    def readout(self, k: int | None = None) -> dict | None:
        return self.sculpt.readout(k)

    def set_mode(self, mode: str) -> None:
        self.sculpt.set_mode(mode)

    def set_symmetric(self, on: bool) -> None:
        self.sculpt.set_symmetric(on)

    def set_sigma(self, sigma: float) -> None:
        self.sculpt.set_sigma(sigma)

    def select(self, k: int | None) -> None:
        self.sculpt.select(k)

    def pin(self, k: int | None = None, on: bool | None = None) -> None:
        self.sculpt.pin(k, on)

    def unpin_all(self) -> None:
        self.sculpt.unpin_all()

    def reset_landmark(self, k: int | None = None) -> None:
        self.sculpt.reset_landmark(k)

    def reset_all(self) -> None:
        self.sculpt.reset_all()

    def begin_drag(self, k: int, view_rows: np.ndarray | None = None) -> bool:
        return self.sculpt.begin_drag(k, view_rows)

    def drag_to(self, position: np.ndarray) -> None:
        self.sculpt.drag_to(position)

    def end_drag(self) -> None:
        self.sculpt.end_drag()

    def cancel_drag(self) -> None:
        self.sculpt.cancel_drag()


def apex_frame(landmarks: np.ndarray) -> int:
    """The frame (0-based) of landmarks (T, K, 3) farthest from frame 0 (mean over K)."""
    lm = np.asarray(landmarks, np.float64)
    return int(np.argmax(np.linalg.norm(lm - lm[:1], axis=-1).mean(-1)))


def _file_name(path) -> str:
    from pathlib import Path

    return Path(path).name


def _face_extra(face) -> dict | None:
    """How a face with no file was made, for ``python main.py replay``: face-creator sliders,
    or the vertices themselves for a face with no recipe (e.g. a neutralized face)."""
    from app.state import CREATED_FACE
    from core.edit.replay import embedded_face

    if face.path is None and face.name == CREATED_FACE:
        return {"sliders": dict(face.sliders)}
    if face.path is None and face.user is None and face.name != "default face":
        return embedded_face(face.vertices)
    return None
