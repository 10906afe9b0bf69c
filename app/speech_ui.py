"""File ▸ Animate from audio…: speech + emotion → an undoable talking-face motion.

:class:`SpeechController` is a session collaborator (no widgets): :meth:`animate` runs
:func:`core.speech.speak.animate_audio` on the session's worker on the current face and pushes the
result as a new :class:`app.state.Snapshot` (source kind ``speech``), so playback, scrubbing,
sculpting, undo and export work on it like on any motion. :func:`install_speech` adds the menu
entry and a small dialog (audio file, emotion, seed, method, optional transcript). The dialog is
reached through ``window.ask_speech`` so tests can answer it. The sound plays with the frames
through :class:`app.speech_audio.SpeechAudio` (silent, with a status message, without
QtMultimedia); the CLI's ``speak`` writes an MP4 with the sound.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.errors import guarded
from app.state import Snapshot, Source

__all__ = ["SpeechController", "SpeechDialog", "install_speech", "AUDIO_FILES"]

AUDIO_FILES = "Audio (*.wav *.flac *.mp3 *.ogg *.m4a *.aac);;All files (*)"


class SpeechController(QObject):
    """The "animate from audio" intent of the studio."""

    def __init__(self, session, parent: QObject | None = None) -> None:
        super().__init__(parent or session)
        self.session = session

    def animate(
        self,
        path: str,
        emotion: str,
        seed: int = 0,
        method: str = "rules",
        transcript: str | None = None,
        intensity: float = 1.0,
    ) -> None:
        """Animate the current face from ``path``; the result becomes the current motion."""
        s = self.session
        face = s.face

        def job(_be):
            from core.assets import load_landmarks
            from core.motion import Motion
            from core.speech.speak import animate_audio

            anim = animate_audio(
                path,
                emotion,
                method=method,
                transcript=transcript or None,
                seed=seed,
                intensity=intensity,
                neutral=face.vertices,
            )
            lm = load_landmarks().gather(anim.vertices)
            return Motion(
                landmarks=lm,
                vertices=anim.vertices,
                label=emotion,
                seed=seed,
                fps=anim.fps,
                meta={"speech": anim.meta, "method": method},
            ), anim

        def done(result):
            motion, anim = result
            if face is not s.face:
                return
            name = Path(path).name
            src = Source("speech", emotion, seed, motion.n_frames)
            s.push_snapshot(Snapshot.of(face, motion, src), f"Animate from {name}")
            s.status.emit(
                f"Animated {name}: {anim.duration:.1f} s, {motion.n_frames} frames, "
                f"{emotion}, seed {seed} ({method})"
            )

        s.status.emit(f"Animating from {Path(path).name}…")
        s.runner.submit(
            "generate",
            job,
            guarded(done),
            lambda m: s.failed.emit(f"Could not animate from the audio. {m}"),
        )


class SpeechDialog(QDialog):
    """Audio file, emotion, seed, method and transcript for File ▸ Animate from audio…."""

    def __init__(self, parent: QWidget | None = None, start_dir: str = "") -> None:
        super().__init__(parent)
        from core.speech.emotion import EMOTIONS

        self.setWindowTitle("Animate from audio")
        form = QFormLayout(self)
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(lambda: self._browse(start_dir))
        row = QHBoxLayout()
        row.addWidget(self.path)
        row.addWidget(browse)
        form.addRow("Audio file", row)
        self.emotion = QComboBox()
        self.emotion.addItems(list(EMOTIONS))
        form.addRow("Emotion", self.emotion)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        form.addRow("Seed", self.seed)
        self.method = QComboBox()
        self.method.addItems(["rules", "diffusion", "guided"])
        form.addRow("Method", self.method)
        self.transcript = QLineEdit()
        self.transcript.setPlaceholderText("optional: the spoken words (better lip timing)")
        form.addRow("Transcript", self.transcript)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _browse(self, start_dir: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Audio file", start_dir, AUDIO_FILES)
        if path:
            self.path.setText(path)

    def values(self) -> dict:
        return {
            "path": self.path.text().strip(),
            "emotion": self.emotion.currentText(),
            "seed": self.seed.value(),
            "method": self.method.currentText(),
            "transcript": self.transcript.text().strip() or None,
        }


def _ask_speech(window) -> dict | None:
    dlg = SpeechDialog(window, str(window.settings.value("last_audio_dir", str(Path.home()))))
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return dlg.values()


def _animate_from_audio(window) -> None:
    values = window.ask_speech()
    if not values or not values.get("path"):
        return
    window.settings.setValue("last_audio_dir", str(Path(values["path"]).parent))
    window.speech.animate(
        values["path"], values["emotion"], values["seed"], values["method"], values["transcript"]
    )


def install_speech(window) -> SpeechController:
    """Add File ▸ Animate from audio… to ``window`` (before Export…); returns the controller."""
    from app.speech_audio import SpeechAudio

    ctrl = SpeechController(window.session, window)
    window.speech = ctrl
    window.speech_audio = SpeechAudio(window.session, window)
    mb = window.menuBar()
    file_menu = next(a.menu() for a in mb.actions() if a.text() == "&File")
    act = window._action(
        file_menu, "&Animate from audio…", lambda: _animate_from_audio(window), name="animate_audio"
    )
    export = next((a for a in file_menu.actions() if a.objectName() == "export"), None)
    if export is not None:
        file_menu.removeAction(act)
        file_menu.insertAction(export, act)
    window.ask_speech = lambda: _ask_speech(window)
    return ctrl
