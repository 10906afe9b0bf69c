"""File ▸ Open face mesh (any topology)…: fit, review, then make the face current.

The session keeps animating our template topology: the current face becomes the fitted
template (so generate, sculpt, interpolate, compare and the face tools all work unchanged) and
:attr:`app.state.FaceState.user` carries the user's mesh and its fit, so exports are written in
the user's topology, vertex order, coordinates and UVs (:mod:`app.exporting`). Opening is one
undo step, like any face load. The viewport shows the user's own mesh, moved through the fit's
binding (:mod:`app.widgets.user_mesh`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog, QFileDialog

from app.backend import array_key
from app.state import FaceState, Snapshot, Source
from app.widgets.any_face_dialog import AnyFaceDialog
from core.edit.model import neutral_motion

__all__ = ["install_any_face", "use_any_face", "MESH_FILES"]

MESH_FILES = "Face meshes (*.obj *.ply *.glb *.gltf *.stl);;All files (*)"


def install_any_face(window) -> None:
    """Add File ▸ Open face mesh (any topology)… to ``window`` after Open neutral face…."""
    mb = window.menuBar()
    file_menu = next(a.menu() for a in mb.actions() if a.text() == "&File")
    act = window._action(
        file_menu,
        "Open &face mesh (any topology)…",
        lambda: open_any_face(window),
        name="open_any_face",
    )
    file_menu.removeAction(act)
    after = next((a for a in file_menu.actions() if a.objectName() == "open_face"), None)
    actions = file_menu.actions()
    nxt = actions[actions.index(after) + 1] if after in actions[:-1] else None
    file_menu.insertAction(nxt, act)
    window.ask_any_face_path = lambda: _ask_path(window)  # tests replace this
    window.any_face_dialog = None


def _ask_path(window) -> str:
    start = str(window.settings.value("last_face_dir", str(Path.home())))
    path, _ = QFileDialog.getOpenFileName(
        window, "Open face mesh (any topology)", start, MESH_FILES
    )
    return path


def open_any_face(window, path: str | None = None, landmarks: str | None = None) -> AnyFaceDialog:
    """Start fitting ``path`` (asked for when None) in a dialog; "Use this face" makes it
    current. Returns the (non-modal) dialog, or None when no file was chosen."""
    path = path or window.ask_any_face_path()
    if not path:
        return None
    window.settings.setValue("last_face_dir", str(Path(path).parent))
    dlg = AnyFaceDialog(path, window, landmarks=landmarks)
    window.any_face_dialog = dlg

    def finished(result: int) -> None:
        if result == QDialog.DialogCode.Accepted and dlg.face is not None:
            use_any_face(window.session, dlg.face)

    dlg.finished.connect(finished)
    dlg.show()
    return dlg


def use_any_face(session, face) -> None:
    """Make a fitted face (core.fit.any_face.AnyFace) the current face (one undo step)."""
    v = face.neutral
    name = Path(face.source).name
    state = FaceState(v, name, face.source, array_key(v), user=face)
    session.push_snapshot(
        Snapshot.of(state, neutral_motion(v, session.landmarks.indices), Source()), f"Open {name}"
    )
    session.status.emit(
        f"Opened {name} ({face.mesh.n_vertices} vertices, its own topology); {face.fit.summary()}"
    )
