"""A folder that receives several sequences, one at a time, and survives being killed.

Each sequence is written atomically by :func:`core.io.export.export_sequence` (a hidden
``.<name>.tmp-XXXXXXXX`` folder renamed into place), so a finished sequence is always complete.
What a ``kill -9`` leaves behind is handled here:

* **stale temporaries** of our own naming (``.<name>.tmp-XXXXXXXX[.ext]`` and ``.old-``) are
  removed when the next export into the folder starts, and the removal is reported;
* **a record** ``batch.json`` lists each sequence with the request that made it and whether it is
  complete; ``resume=True`` skips the sequences recorded complete for the same request (and still
  present), so a rerun redoes only the missing ones;
* **a lock** (``.batch.lock``, ``flock``) keeps two exports from writing into one folder at once;
  temporaries are only removed while it is held.

>>> with ExportBatch(out, request, names, resume=True) as batch:
...     for name in batch.todo:
...         export_sequence(out / name, ...)
...         batch.complete(name)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from core.errors import ExportError
from core.io.atomic import atomic_file, prepare_output_dir

try:  # POSIX only; without it (Windows) there is no lock and stale temporaries are age-based
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ["ExportBatch", "RECORD_NAME", "LOCK_NAME", "stale_temporaries"]

RECORD_NAME = "batch.json"
LOCK_NAME = ".batch.lock"
RECORD_SCHEMA = "sparse2dense-studio/batch"

#: Hidden temporaries of :mod:`core.io.atomic`: ``.<dest>.<tmp|old>-<8 hex>[<suffix>]``.
_STALE = re.compile(r"^\.(?P<dest>.+)\.(?:tmp|old)-[0-9a-f]{8}(?:\.[A-Za-z0-9]+)*$")

#: Temporaries of names outside the current request are removed only when older than this
#: (seconds), so an export of another program into the same folder is never disturbed.
STALE_AGE_S = 3600.0


def stale_temporaries(folder: Path, names: set[str], now: float | None = None) -> list[Path]:
    """Our temporaries in ``folder``: those of ``names`` and any older than :data:`STALE_AGE_S`."""
    now = time.time() if now is None else now
    out = []
    for p in folder.iterdir():
        m = _STALE.match(p.name)
        if m is None:
            continue
        try:
            old = now - p.lstat().st_mtime > STALE_AGE_S
        except OSError:
            continue
        if m["dest"] in names or old:
            out.append(p)
    return sorted(out)


class ExportBatch:
    """Context manager around a multi-sequence export into ``out`` (see module docstring).

    Parameters
    ----------
    out : path-like
        The folder; created when missing (its parent must exist).
    request : mapping
        JSON values that define the sequences (command, label, frames, format, face, models...);
        a sequence is only resumed when it was made by an equal request.
    names : sequence of str
        Sequence folder names of this call, in order.
    overwrite, resume : bool
        Replace existing sequences / skip those recorded complete.
    log : callable
        Receives one line per event (removed temporaries, resuming, progress).
    """

    def __init__(
        self,
        out,
        request: Mapping,
        names: Sequence[str],
        *,
        overwrite: bool = False,
        resume: bool = False,
        log: Callable[[str], None] = print,
    ) -> None:
        self.out = Path(out)
        self.request = json.loads(json.dumps(dict(request)))  # plain JSON values, for ==
        self.names = list(names)
        self.overwrite, self.resume, self.log = overwrite, resume, log
        self.created = False
        self.todo: list[str] = []
        self.written: list[str] = []
        self._record: dict = {}
        self._lock_fd: int | None = None

    # -- opening -------------------------------------------------------------------------------
    def __enter__(self) -> ExportBatch:
        self._make_folder()
        try:
            self._lock()
            self._clean()
            self._record = self._read_record()
            self._plan()
            self._write_record()
        except BaseException:
            self._close(failed=True)
            raise
        return self

    def _make_folder(self) -> None:
        self.out, self.created = prepare_output_dir(self.out, [], self.overwrite)

    def _lock(self) -> None:
        if fcntl is None:
            return
        fd = os.open(
            self.out / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            raise ExportError(
                f"another export is writing into {self.out} right now; wait for it to finish "
                "or choose another folder"
            ) from exc
        self._lock_fd = fd

    def _clean(self) -> None:
        stale = stale_temporaries(self.out, {*self.names, RECORD_NAME})
        for p in stale:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        if stale:
            self.log(
                f"removed {len(stale)} stale temporary file(s)/folder(s) left in {self.out} "
                f"by an interrupted export ({', '.join(p.name for p in stale[:3])}"
                f"{', …' if len(stale) > 3 else ''})"
            )

    def _read_record(self) -> dict:
        path = self.out / RECORD_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("schema") == RECORD_SCHEMA and isinstance(data.get("sequences"), dict):
                return data["sequences"]
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, AttributeError):
            pass
        self.log(f"note: {path} is unreadable; it is rebuilt (no sequence is resumed from it)")
        return {}

    def is_complete(self, name: str) -> bool:
        """``name`` is recorded complete for this request and its folder still has a manifest."""
        entry = self._record.get(name)
        return (
            isinstance(entry, dict)
            and entry.get("complete") is True
            and entry.get("request") == self.request
            and (self.out / name / "manifest.json").is_file()
        )

    def _ours(self, name: str) -> bool:
        """With ``resume``: ``name`` was started by this request (it may be replaced)."""
        entry = self._record.get(name)
        return self.resume and isinstance(entry, dict) and entry.get("request") == self.request

    def _plan(self) -> None:
        done = [n for n in self.names if self.resume and self.is_complete(n)]
        self.todo = [n for n in self.names if n not in done]
        clash = [n for n in self.todo if (self.out / n).exists() and not self._ours(n)]
        if clash and not self.overwrite:
            hint = (
                "pass --overwrite, or --resume to finish an interrupted run with the same options"
                if not self.resume
                else "they were not made by this request; pass --overwrite to replace them"
            )
            raise ExportError(
                f"{self.out} already holds {', '.join(clash[:3])}"
                f"{' …' if len(clash) > 3 else ''}; {hint}, or choose another folder"
            )
        if done:
            self.log(
                f"resuming: {len(done)} of {len(self.names)} sequence(s) already complete "
                f"in {self.out}; writing the other {len(self.todo)}"
            )
        for n in self.todo:
            self._record[n] = {"request": self.request, "complete": False}

    def _write_record(self) -> None:
        data = {"schema": RECORD_SCHEMA, "version": 1, "sequences": self._record}
        with atomic_file(self.out / RECORD_NAME, fsync=False) as tmp:
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    # -- progress ------------------------------------------------------------------------------
    def complete(self, name: str) -> None:
        """Record sequence ``name`` as written completely."""
        self._record[name] = {"request": self.request, "complete": True}
        self.written.append(name)
        self._write_record()

    # -- closing -------------------------------------------------------------------------------
    def __exit__(self, exc_type, exc, tb) -> None:
        self._close(failed=exc_type is not None)

    def _close(self, failed: bool) -> None:
        try:
            if failed and self.created and not self.written:
                shutil.rmtree(self.out, ignore_errors=True)  # nothing of value was written
            elif failed and self.written:
                left = len(self.todo) - len(self.written)
                self.log(
                    f"note: {len(self.written)} sequence(s) were written completely to "
                    f"{self.out}, {left} not; rerun the same command with --resume to "
                    "write only those"
                )
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
