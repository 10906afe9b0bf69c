"""Errors in the GUI: nothing escapes a Qt or VTK callback, everything unexpected is logged.

* :func:`user_message` turns an exception into text for a dialog: the core's
  :class:`core.errors.S2DError` messages are written for users (what happened, what to do);
  anything else becomes "Internal error …" plus where the log is.
* :func:`guarded` wraps a slot / event handler: an exception is logged and reported to the
  installed reporter (the main window shows a dialog) instead of propagating into Qt.
* :func:`install_excepthook` routes uncaught exceptions (PySide prints exceptions raised in slots
  through ``sys.excepthook``) to the same reporter and the log file.
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from core.errors import S2DError

__all__ = [
    "LOG",
    "log_path",
    "user_message",
    "plain_text",
    "report",
    "set_reporter",
    "guarded",
    "install_excepthook",
    "setup_logging",
]

LOG = logging.getLogger("s2d.studio")

_reporter: Callable[[str], None] | None = None


def log_path() -> Path:
    """The studio's log file (``~/.cache/sparse2dense-studio/studio.log``)."""
    from core.paths import user_cache_dir  # not core.data.synth: ~0.1 s of imports at start

    return user_cache_dir() / "studio.log"


def setup_logging() -> None:
    """Log warnings and errors of the studio to :func:`log_path` (idempotent)."""
    if any(getattr(h, "_s2d", False) for h in LOG.handlers):
        return
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler()
    handler._s2d = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)


def user_message(exc: BaseException, context: str = "") -> str:
    """Dialog text for an exception: the core's own message, or an internal-error note."""
    prefix = f"{context}: " if context else ""
    if isinstance(exc, S2DError):
        return prefix + str(exc)
    if isinstance(exc, MemoryError):
        return (
            prefix + "the computer ran out of memory. Close other programs or use fewer "
            "frames / seeds, then try again."
        )
    return (
        prefix + f"internal error: {type(exc).__name__}: {plain_text(exc)}. The studio "
        f"keeps running; details are in {log_path()}. Please report the steps that led "
        "to it."
    )


def plain_text(exc: BaseException) -> str:
    """An exception's message for people: no ``[Errno 2]``, no ``b'...'`` byte reprs or
    ``\\x89`` escapes, no doubled brackets, no trailing full stop."""
    import re

    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename}" if exc.filename else "")
    elif isinstance(exc, KeyError) and len(exc.args) == 1:
        text = f"no entry {exc.args[0]!s}"
    else:
        text = str(exc) or type(exc).__name__
    text = re.sub(r"\bb(['\"])(.*?)\1", r"\2", text)  # b'...' -> ...
    text = re.sub(r"(\\x[0-9a-fA-F]{2})+", "…", text)  # undecodable bytes
    text = re.sub(r"\\[rnt]", " ", text)  # escaped control characters
    text = re.sub(r"\[Errno \d+\]\s*", "", text)
    for pair in ("()", "[]"):
        text = text.replace(pair[0] * 2, pair[0]).replace(pair[1] * 2, pair[1])
    return " ".join(text.split()).rstrip(".")


def set_reporter(fn: Callable[[str], None] | None) -> None:
    """Install the function that shows error messages (the main window's dialog)."""
    global _reporter
    _reporter = fn


def report(exc: BaseException, context: str = "") -> str:
    """Log an exception with its traceback and show it through the reporter."""
    LOG.error(
        "%s%s",
        f"{context}: " if context else "",
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip(),
    )
    msg = user_message(exc, context)
    if _reporter is not None:
        try:
            _reporter(msg)
        except Exception:  # noqa: BLE001 - the reporter itself must never raise into Qt
            LOG.exception("error reporter failed")
    else:
        print(msg, file=sys.stderr)
    return msg


def guarded(fn: Callable | None = None, *, context: str = "", default=None):
    """Decorator: call ``fn``; on an exception report it and return ``default``."""

    def wrap(f: Callable) -> Callable:
        @functools.wraps(f)
        def inner(*args, **kwargs):
            try:
                return f(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the point of this wrapper
                report(exc, context)
                return default

        return inner

    return wrap(fn) if fn is not None else wrap


def install_excepthook() -> Callable:
    """Route uncaught exceptions to :func:`report`; returns the previous hook."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        report(exc.with_traceback(tb) if exc is not None else exc_type())

    sys.excepthook = hook
    return previous
