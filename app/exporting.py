"""Exports in the background: the core's atomic writers on a thread-pool thread.

Formats: ``obj``/``ply``/``npz`` (a folder of frames + ``manifest.json``, :func:`core.io.
export_sequence`), ``glb`` (morph-target animation) and ``mp4``/``gif`` (frames rendered from the
viewport by the caller, since rendering belongs to the GUI thread). Single-file formats get a
``<name>.manifest.json`` beside them. Cancelling makes the core raise ``ExportCancelled`` from
its progress callback, which removes everything it had written.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.errors import LOG, guarded, user_message
from core.errors import ExportError
from core.io.atomic import ExportCancelled, check_destination

__all__ = ["FORMATS", "ExportController", "sidecar_manifest"]

#: format id -> (menu text, writes a folder?)
FORMATS = {
    "obj": ("OBJ sequence (folder)", True),
    "ply": ("PLY sequence (folder)", True),
    "npz": ("NPZ (folder with sequence.npz)", True),
    "glb": ("Animated GLB (morph targets)", False),
    "mp4": ("MP4 video of the viewport", False),
    "gif": ("GIF of the viewport", False),
}


def sidecar_manifest(path: Path) -> Path:
    """``clip.glb`` -> ``clip.manifest.json``."""
    return path.with_name(path.stem + ".manifest.json")


class _Signals(QObject):
    progress = Signal(int, int)
    done = Signal(str)
    error = Signal(str, bool)  # message, cancelled


class _Task(QRunnable):
    def __init__(self, fn, cancel: threading.Event, signals: _Signals) -> None:
        super().__init__()
        self.fn, self.cancel, self.signals = fn, cancel, signals

    def run(self) -> None:
        def progress(done: int, total: int):
            self.signals.progress.emit(done, total)
            return not self.cancel.is_set()

        try:
            out = self.fn(progress)
        except ExportCancelled as exc:
            self.signals.error.emit(str(exc), True)
        except Exception as exc:  # noqa: BLE001 - reported to the GUI
            if not isinstance(exc, ExportError):
                LOG.exception("export failed")
            self.signals.error.emit(user_message(exc), False)
        else:
            self.signals.done.emit(str(out))


class ExportController(QObject):
    """Starts one export at a time for a session and reports on it.

    Signals: ``progress(done, total)``, ``finished(path)``, ``cancelled(message)``; failures go to
    ``session.failed``.
    """

    progress = Signal(int, int)
    finished = Signal(str)
    cancelled = Signal(str)
    running_changed = Signal(bool)

    def __init__(self, session) -> None:
        super().__init__(session)
        self.session = session
        self._cancel = threading.Event()
        self._signals: _Signals | None = None
        self.running = False

    def cancel(self) -> None:
        self._cancel.set()

    def start(
        self, fmt: str, path: str, overwrite: bool = False, frames_rgb: np.ndarray | None = None
    ) -> bool:
        """Begin exporting; False (and ``session.failed``) when it cannot start."""
        s = self.session
        if self.running:
            s.failed.emit("An export is already running; wait for it or cancel it.")
            return False
        if fmt not in FORMATS:
            s.failed.emit(f"unknown export format {fmt!r}; pick one of {sorted(FORMATS)}")
            return False
        snap = s.snapshot
        frames = s.vertices_of(snap)
        if frames is None:
            s.failed.emit("The edited motion is still being computed; export again in a moment.")
            return False
        folder = FORMATS[fmt][1]
        path = Path(path)
        if not folder and str(path).strip() and path.name:
            path = path.with_suffix("." + fmt) if path.suffix.lower() != "." + fmt else path
        try:
            path = check_destination(path, overwrite=overwrite, folder=folder)
        except ExportError as exc:
            s.failed.emit(str(exc))
            return False
        if fmt in ("mp4", "gif") and frames_rgb is None:
            s.failed.emit("video export needs the rendered frames of the viewport")
            return False
        manifest = s.manifest()
        uv_ok = fmt != "ply"  # PLY has one UV per vertex; the face's UVs have seams
        manifest["replay"]["uv"] = uv_ok
        face = s.template
        fps = s.fps
        faces, uv, face_uv = face.faces, face.uv, face.face_uv
        layout, glb_uv, extra = None, {}, {}
        units = manifest["face"]["units"]
        user = snap.face.user
        if user is not None:  # a face of another topology: its own mesh, order and UVs
            frames = user.fit.carry(frames, user.mesh.vertices)
            faces, uv, face_uv = user.mesh.faces, user.mesh.uv, user.mesh.face_uv
            layout = user.mesh.layout  # its polygons, materials and groups
            if folder:  # replay reads the fit and the neutral from the folder
                from core.fit.replay_face import user_face_files

                face_extra, extra = user_face_files(user, snap.face.vertices)
                manifest["replay"]["face"].update(face_extra)
            from core.io.obj_layout import material_groups

            mats = material_groups(layout, len(faces))  # a GLB: its materials and textures
            glb_uv = {} if mats is None else {"materials": mats[0], "groups": mats[1]}
            if uv is not None:  # and its UVs
                glb_uv.update(uv=uv, face_uv=face_uv)
            units = user.units if user.units in ("m", "cm", "mm") else units
            manifest["face"]["units"] = units
            manifest["face"]["n_vertices"] = int(frames.shape[1])
            manifest["face_frame"] = (
                "frames are in the face's own coordinates and vertex "
                f"order: {user.fit.meta['text']}"
            )

        def work(progress):
            from core.io import export as ex

            if folder:
                return ex.export_sequence(
                    path,
                    frames,
                    faces,
                    fmt,
                    uv=uv if uv_ok else None,
                    face_uv=face_uv if uv_ok else None,
                    manifest=manifest,
                    progress=progress,
                    overwrite=overwrite,
                    units=units,
                    layout=layout,
                    extra_files=extra,
                )
            if fmt == "glb":
                progress(0, 1)
                ex.export_glb(path, frames, faces, fps=fps, **glb_uv)
                progress(1, 1)
            else:
                ex.export_video(path, frames_rgb, fps=fps, progress=progress)
            from core.io.manifest import file_part

            up = "y" if fmt == "glb" else "z"  # glTF is y-up; the studio writes its own frame
            ex.write_manifest(
                sidecar_manifest(path),
                {
                    **manifest,
                    **file_part(
                        fmt,
                        len(frames),
                        frames.shape[1],
                        len(faces),
                        [path.name],
                        units=units,
                        up=up,
                        has_normals=fmt == "glb",
                    ),
                },
            )
            return path

        self._cancel.clear()
        sig = self._signals = _Signals()
        sig.progress.connect(self.progress)
        sig.done.connect(self._on_done)
        sig.error.connect(self._on_error)
        self._set_running(True)
        s.status.emit(f"Exporting {FORMATS[fmt][0]} to {path}…")
        QThreadPool.globalInstance().start(_Task(work, self._cancel, sig))
        return True

    def _set_running(self, on: bool) -> None:
        self.running = on
        self.running_changed.emit(on)

    @Slot(str)
    @guarded
    def _on_done(self, path: str) -> None:
        self._set_running(False)
        self.session.status.emit(f"Exported {path}")
        self.finished.emit(path)

    @Slot(str, bool)
    @guarded
    def _on_error(self, message: str, cancelled: bool) -> None:
        self._set_running(False)
        if cancelled:
            self.session.status.emit("Export cancelled; nothing was written")
            self.cancelled.emit(message)
        else:
            self.session.failed.emit(f"Export failed. {message}")
