"""The sound of a speech motion, played in step with the session's playback.

:class:`SpeechAudio` is a session collaborator (no widgets). When the current motion was made
from an audio file (File ▸ Animate from audio…, source kind ``speech``; the file's path is in
the motion's ``meta["speech"]["audio"]``), it loads that file into a ``QMediaPlayer`` and follows
the playback controls:

* **play / pause**: the player starts at the current frame's time / pauses;
* **scrub** (a frame change while paused): the player seeks to the frame's time;
* **while playing**: each frame checks the player against the clock and seeks when they differ
  by more than :data:`DRIFT_MS` (a loop wrapping to frame 0, a dropped frame, a slow start), and
  restarts a player that reached the end of the sound when the frames loop back;
* **speed**: the player's rate is the playback fps over the motion's fps.

QtMultimedia comes with PySide6-Addons (the ``audio`` extra). Without it playback is silent and
the status bar says so once per speech motion; nothing else changes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QUrl

from app.errors import guarded

__all__ = ["SpeechAudio", "audio_path_of", "multimedia_available", "DRIFT_MS", "SILENT_MESSAGE"]

#: Largest difference (ms) between the sound and the frame on screen before the sound is moved.
DRIFT_MS = 120
SILENT_MESSAGE = (
    "Playback is silent: sound needs QtMultimedia (pip install 'sparse2dense-studio[audio]'); "
    "the speak command's MP4 has the sound"
)


def multimedia_available() -> bool:
    """True when PySide6's QtMultimedia (PySide6-Addons) can be imported."""
    try:
        from PySide6 import QtMultimedia  # noqa: F401
    except ImportError:
        return False
    return True


def audio_path_of(snapshot) -> str | None:
    """The sound file of a speech snapshot (None for other motions or a missing file)."""
    if snapshot is None or snapshot.source.kind != "speech":
        return None
    path = (snapshot.base.meta or {}).get("speech", {}).get("audio")
    return str(path) if path and Path(path).is_file() else None


class SpeechAudio(QObject):
    """Plays the current speech motion's sound in step with playback (module docstring)."""

    def __init__(self, session, parent: QObject | None = None) -> None:
        super().__init__(parent or session)
        self.session = session
        self.path: str | None = None
        self.available = multimedia_available()
        self.player = None
        self._output = None
        self._warned: str | None = None
        session.motion_changed.connect(self._on_motion)
        session.playing_changed.connect(self._on_playing)
        session.frame_changed.connect(self._on_frame)
        session.options_changed.connect(self._on_options)

    # ---------------------------------------------------------------------------- state
    @property
    def playing(self) -> bool:
        """The player is playing (False without a player)."""
        if self.player is None:
            return False
        from PySide6.QtMultimedia import QMediaPlayer

        return self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    def position_ms(self) -> int | None:
        """The player's position (ms), None without a sound."""
        return None if self.player is None or self.path is None else int(self.player.position())

    def _motion_fps(self) -> float:
        return float(self.session.snapshot.base.fps or 30.0)

    def _frame_ms(self, t: int) -> int:
        return round(t / self._motion_fps() * 1000.0)

    def _make_player(self):
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        self.player = QMediaPlayer(self)
        self._output = QAudioOutput(self)
        self.player.setAudioOutput(self._output)
        self.player.errorOccurred.connect(
            lambda _e, msg: self.session.status.emit(f"Sound could not be played: {msg}")
        )
        return self.player

    # -------------------------------------------------------------------------- signals
    @guarded
    def _on_motion(self) -> None:
        path = audio_path_of(self.session.snapshot)
        if path == self.path:
            return
        self.path = path
        if path is None:
            if self.player is not None:
                self.player.stop()
                self.player.setSource(QUrl())
            return
        if not self.available:
            if self._warned != path:
                self._warned = path
                self.session.status.emit(SILENT_MESSAGE)
            return
        player = self.player or self._make_player()
        player.setSource(QUrl.fromLocalFile(path))
        self._on_options()
        player.setPosition(self._frame_ms(self.session.playback.frame))
        if self.session.playing:
            player.play()

    @guarded
    def _on_playing(self, on: bool) -> None:
        if self.player is None or self.path is None:
            return
        if on:
            self.player.setPosition(self._frame_ms(self.session.playback.frame))
            self.player.play()
        else:
            self.player.pause()

    @guarded
    def _on_frame(self, t: int) -> None:
        if self.player is None or self.path is None:
            return
        want = self._frame_ms(t)
        if not self.session.playing:  # scrubbing or stepping
            self.player.setPosition(want)
            return
        duration = self.player.duration()
        if duration > 0 and want >= duration:
            return  # the frames outlast the sound by less than a frame
        if abs(self.player.position() - want) > DRIFT_MS:
            self.player.setPosition(want)
        if not self.playing:  # ended, and the frames looped back
            self.player.play()

    @guarded
    def _on_options(self) -> None:
        if self.player is not None:
            self.player.setPlaybackRate(self.session.fps / self._motion_fps())
