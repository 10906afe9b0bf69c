"""The studio's applications (face creator, neutralization, transfer, timelines) as intents.

:class:`AppsController` is a collaborator of :class:`app.session.StudioSession` (like the
export controller): it holds no widgets, turns each intent into a new undoable
:class:`app.state.Snapshot` through the session, and runs the model work on the session's
worker. The face creator's slider values live in the snapshot's :class:`app.state.FaceState`
(so undo restores them and the export manifest records them).

Face sliders preview live (each move replaces the face on screen, no undo step) and become one
undo step when the slider is released (:meth:`commit_face`), like the interpolation slider.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.backend import array_key
from app.errors import guarded
from app.state import CREATED_FACE, FaceState, Snapshot, Source
from core.edit.model import neutral_motion

__all__ = ["AppsController"]


class AppsController(QObject):
    """Intents of the Face dock, Face menu, File ▸ Transfer and the timeline strip.

    Signals: ``clips_changed`` (the timeline's clip list changed).
    """

    clips_changed = Signal()

    def __init__(self, session, parent: QObject | None = None) -> None:
        super().__init__(parent or session)
        from core.apps.timeline import Clip

        self.session = session
        self._basis = None
        self._before: Snapshot | None = None
        self.clips: list = [
            Clip("happy", 0, 1.5),
            Clip("surprised", 1, 2.0),
            Clip("neutral", 0, 1.0),
        ]

    # ------------------------------------------------------------------------- face creator
    @property
    def basis(self):
        """The face creator's slider basis (:func:`core.apps.face_basis.load_face_basis`)."""
        if self._basis is None:
            from core.apps.face_basis import load_face_basis

            self._basis = load_face_basis()
        return self._basis

    def face_values(self) -> dict[str, float]:
        """Slider values of the face on screen (defaults for a face not made by sliders)."""
        vals = self.basis.defaults()
        vals.update(dict(self.session.face.sliders or ()))
        return vals

    def preview_face(self, values: dict) -> None:
        """Show the face of slider ``values`` now (an undo step only on :meth:`commit_face`)."""
        vals = self.basis.check_values(values)
        v = self.basis.vertices(vals)
        changed = tuple(
            sorted((k, float(x)) for k, x in vals.items() if x != self.basis.slider(k).default)
        )
        if self._before is None:
            self._before = self.session.snapshot
        user = self._before.face.user
        if user is None:
            face = FaceState(v, CREATED_FACE, None, array_key(v), changed)
        else:  # another topology: the sliders' change moves its fitted template, which the
            # binding carries to the user's mesh (exports and the viewport use its displacement)
            v = user.neutral + (v - self.basis.vertices(self.basis.defaults()))
            face = _user_face(self._before.face, v, changed, "sliders")
        self.session.set_snapshot(Snapshot.of(face, _neutral(face, self.session), Source()))

    def commit_face(self, text: str = "Face sliders") -> None:
        """Turn the previewed face into one undo step."""
        from app.session import SnapshotCommand

        before, self._before = self._before, None
        if before is not None and before is not self.session.snapshot:
            self.session.undo_stack.push(
                SnapshotCommand(self.session, before, self.session.snapshot, text)
            )

    def set_face(self, values: dict, text: str) -> None:
        """Preview and commit in one step (Random, Reset, typed values)."""
        self.preview_face(values)
        self.commit_face(text)

    def random_face(self, seed: int | None = None) -> int:
        """A random face (seeded); returns the seed used."""
        import random

        seed = random.randint(0, 99999) if seed is None else int(seed)
        self.set_face(self.basis.random(seed), f"Random face #{seed}")
        return seed

    def reset_sliders(self) -> None:
        """Every slider back to its default (anny's default identity)."""
        self.set_face({}, "Reset face sliders")

    def export_neutral(self, path: str) -> Path:
        """Write the current neutral face as OBJ/PLY (with the template's UVs for OBJ); a face
        of another topology is written as the user's mesh (its polygons, UVs and coordinates),
        with the slider or neutralization changes carried through the binding."""
        from core.io.mesh_io import save_mesh

        path = Path(path)
        face, obj = self.session.face, path.suffix.lower() == ".obj"
        if face.user is not None:
            m = face.user.mesh
            v = face.user.fit.carry(face.vertices[None], m.vertices)[0]
            uv, fuv = (m.uv, m.face_uv) if obj else (None, None)
            save_mesh(path, v, m.faces, uv, fuv, layout=m.layout)
        else:
            t = self.session.template
            uv, fuv = (t.uv, t.face_uv) if obj else (None, None)
            save_mesh(path, face.vertices, t.faces, uv, fuv)
        self.session.status.emit(f"Wrote the neutral face to {path}")
        return path

    # ------------------------------------------------------------------------ neutralize
    def neutralize(self, method: str = "joint") -> None:
        """Replace the face by the neutral of the face on screen (the current frame)."""
        s = self.session
        shown = np.array(s.current_vertices())
        name = s.face.name
        before = s.face
        user = before.user

        def job(be):
            if user is not None and method == "joint":  # fitted to the user's own surface
                from core.apps.neutralize_any import neutralize_rebind

                return neutralize_rebind(user.fit, user.mesh.vertices, user.mesh.faces, shown)
            from core.apps.neutralize import neutralize

            return neutralize(shown, method, be.pipeline if method == "paper" else None)

        def done(v):
            if before.user is None:
                face = FaceState(v, f"{name} (neutralized)", None, array_key(v))
            elif isinstance(v, tuple):  # re-bound: a new fit of the neutralized user mesh
                v, fit, base = v  # (the sliders are in it: they start again from defaults)
                mesh = dataclasses.replace(user.mesh, vertices=base)
                new = dataclasses.replace(user, mesh=mesh, fit=fit, rebased=True)
                face = _user_face(dataclasses.replace(before, user=new), v, (), "neutralized")
            else:  # the fitted template is neutralized; the binding carries it to the user's mesh
                face = _user_face(before, v, before.sliders, "neutralized")
            s.push_snapshot(Snapshot.of(face, _neutral(face, s), Source()), "Neutralize")
            s.status.emit("Neutralized the face (joint identity + expression fit)")

        s.status.emit("Neutralizing…")
        s.runner.submit(
            "face",
            job,
            guarded(done),
            lambda m: s.failed.emit(f"Could not neutralize the face. {m}"),
        )

    # -------------------------------------------------------------------------- transfer
    def transfer(
        self,
        path: str,
        mode: str = "srvf",
        source_fps: float = 30.0,
        stabilize: bool = True,
        align: bool = True,
    ) -> None:
        """Replay the motion in ``path`` (mesh/.pts folder, .npy, .csv) recorded at
        ``source_fps`` on the current face (options as ``python main.py transfer``'s; the
        manifest records them, :func:`core.apps.replay.transfer_params`)."""
        s = self.session
        face, fps = s.face, s.fps

        def job(be):
            from core.apps.replay import transfer_params
            from core.apps.sources import read_source, resample
            from core.apps.transfer import transfer_motion

            src = read_source(path, source_fps)
            lm = resample(src.landmarks, src.fps, fps)
            motion = transfer_motion(be.generator, lm, face.vertices, mode, fps, stabilize, align)
            return motion, src, transfer_params(src, mode, stabilize, align)

        def done(result):
            motion, src, params = result
            if face is not s.face:
                return
            name = Path(src.path).name
            source = Source("transfer", name, None, motion.n_frames, params=params)
            s.push_snapshot(Snapshot.of(face, motion, source), f"Transfer {name}")
            s.status.emit(
                f"Transferred {name}: {src.n_frames} frames at {src.fps:g} fps -> "
                f"{motion.n_frames} at {fps:g} fps ({mode})"
            )

        s.status.emit(f"Transferring {Path(path).name}…")
        s.runner.submit(
            "generate",
            job,
            guarded(done),
            lambda m: s.failed.emit(f"Could not transfer the motion. {m}"),
        )

    # -------------------------------------------------------------------------- timeline
    def set_clips(self, clips: list) -> None:
        """Replace the timeline's clips (validated)."""
        from core.apps.timeline import check_clips

        check_clips(list(clips))
        self.clips = list(clips)
        self.clips_changed.emit()

    def add_clip(self, clip) -> None:
        self.set_clips(self.clips + [clip])

    def remove_clip(self, index: int) -> None:
        if 0 <= index < len(self.clips) and len(self.clips) > 1:
            self.set_clips(self.clips[:index] + self.clips[index + 1 :])

    def move_clip(self, index: int, step: int) -> None:
        j = index + step
        if 0 <= index < len(self.clips) and 0 <= j < len(self.clips):
            clips = list(self.clips)
            clips[index], clips[j] = clips[j], clips[index]
            self.set_clips(clips)

    def set_duration(self, index: int, seconds: float) -> None:
        from dataclasses import replace

        if 0 <= index < len(self.clips):
            clips = list(self.clips)
            clips[index] = replace(clips[index], duration=float(seconds))
            self.set_clips(clips)

    def build_timeline(self) -> None:
        """Play the clips as one motion on the current face (an undo step; then playable,
        scrubbable, sculptable and exportable like any motion)."""
        from core.apps.replay import sequence_params
        from core.apps.timeline import format_spec

        s = self.session
        face, clips, fps = s.face, list(self.clips), s.fps
        spec, params = format_spec(clips), sequence_params(clips)

        def job(be):
            from core.apps.timeline import build_timeline

            return build_timeline(be.generator, clips, face.vertices, fps)

        def done(motion):
            if face is not s.face:
                return
            s.push_snapshot(
                Snapshot.of(
                    face, motion, Source("sequence", spec, None, motion.n_frames, params=params)
                ),
                "Timeline",
            )
            s.status.emit(f"Timeline: {motion.n_frames} frames ({spec})")

        s.status.emit("Building the timeline…")
        s.runner.submit(
            "generate",
            job,
            guarded(done),
            lambda m: s.failed.emit(f"Could not build the timeline. {m}"),
        )


def _user_face(face: FaceState, v: np.ndarray, sliders: tuple, what: str) -> FaceState:
    """The face of another topology ``face`` with its fitted template replaced by ``v`` (V_t, 3):
    same user mesh and fit, so the change is carried to the user's mesh through the binding."""
    v = np.asarray(v, np.float32)
    name = Path(face.user.source).name
    return FaceState(v, f"{name} ({what})", face.path, array_key(v), tuple(sliders), face.user)


def _neutral(face: FaceState, session):
    return neutral_motion(face.vertices, session.landmarks.indices)
