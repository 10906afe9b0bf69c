"""Atomic writes: build the result beside the destination, then rename it into place.

Every exporter writes into a hidden temporary sibling (``.<name>.tmp-XXXX``) in the destination's
parent folder and only renames it onto the destination once everything was written. On any error,
cancel or interrupt the temporary is removed and the destination is left exactly as it was.
A rename inside one folder is atomic on POSIX and Windows (same file system), so a reader never
sees a half-written file or folder.

This is the one atomic writer of the project (exports, checkpoints, mesh hierarchies, data
caches, resources). ``.npz`` files go through :func:`atomic_savez`: ``np.savez`` given a *path*
appends ``.npz`` to any name not ending in lower-case ``.npz`` (``out.NPZ``, ``out``, ``out.npy``)
and would write beside the temporary, so it writes through an open file instead.

What this does not guarantee: durability after a power cut for multi-file folders (single files
are ``fsync``-ed before the rename; folder contents are not, to keep exports fast).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ExportError, S2DError

__all__ = [
    "ExportCancelled",
    "ProgressCallback",
    "atomic_dir",
    "atomic_file",
    "atomic_savez",
    "atomic_write_bytes",
    "check_destination",
    "prepare_output_dir",
    "report_progress",
]

#: ``progress(done, total)``; returning ``False`` cancels the export (``None``/``True`` continue).
ProgressCallback = Callable[[int, int], "bool | None"]


class ExportCancelled(ExportError):
    """The user cancelled an export through its progress callback; nothing was written."""


_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the disk is read-only",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOENT: "the folder does not exist",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.EISDIR: "a folder with that name already exists",
}


def os_error_message(dest: Path, exc: OSError) -> str:
    """User-facing text for an OS error while writing ``dest`` (expected / found / what to do)."""
    reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
    return f"cannot write to {dest}: {reason}; choose another folder"


def report_progress(progress: ProgressCallback | None, done: int, total: int, what: str) -> None:
    """Call ``progress(done, total)``; raise :class:`ExportCancelled` when it returns ``False``."""
    if progress is not None and progress(done, total) is False:
        raise ExportCancelled(
            f"{what} was cancelled after {done} of {total} steps; nothing was written "
            "(start the export again to write it)"
        )


def _check_parent(dest: Path) -> Path:
    parent = dest.parent
    if not parent.exists():
        raise ExportError(
            f"cannot write to {dest}: the folder {parent} does not exist; "
            "create it or choose another folder"
        )
    if not parent.is_dir():
        raise ExportError(
            f"cannot write to {dest}: {parent} is a file, not a folder; choose another folder"
        )
    return parent


def check_destination(
    dest: str | os.PathLike[str], *, overwrite: bool = False, folder: bool = False
) -> Path:
    """Check, before any work, that an export can be written to ``dest``; return it as a Path.

    The parent folder must exist and be writable; an existing ``dest`` of the other kind (a
    file where a folder is written, or the reverse) is refused, an existing one of the same
    kind only without ``overwrite``. Raises :class:`core.errors.ExportError`.
    """
    if not str(dest).strip() or Path(dest).name == "":
        raise ExportError("Choose where to export first (a folder name or a file name).")
    dest = Path(dest)
    parent = _check_parent(dest)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write to {dest}: permission denied; choose another folder")
    if dest.exists():
        kind = "folder" if dest.is_dir() else "file"
        if dest.is_dir() != folder:
            raise ExportError(
                f"cannot export to {dest}: a {kind} with that name already exists; "
                "choose another name"
            )
        if not overwrite:
            raise ExportError(
                f"cannot export to {dest}: the {kind} already exists; choose "
                "another name or allow overwriting"
            )
    return dest


def prepare_output_dir(
    path: str | os.PathLike[str], names: list[str], overwrite: bool
) -> tuple[Path, bool]:
    """Check (and create) a folder that will receive the entries ``names``; ``(folder, created)``.

    The folder may exist (its parent must, when it does not); an existing entry of ``names``
    is refused unless ``overwrite``. Nothing is left behind on refusal (a folder created here is
    removed again). Raises :class:`core.errors.ExportError`.
    """
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ExportError(f"cannot write to {out}: it is a file, not a folder; choose a folder")
    created = False
    if not out.exists():
        _check_parent(out)
        try:
            out.mkdir()
        except OSError as exc:
            raise ExportError(
                f"cannot create {out}: {exc.strerror}; choose another folder"
            ) from exc
        created = True
    if not os.access(out, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write to {out}: permission denied; choose another folder")
    clash = [n for n in names if (out / n).exists()]
    if clash and not overwrite:
        if created:
            out.rmdir()
        raise ExportError(
            f"{out} already holds {', '.join(clash[:3])}; pass --overwrite or choose another folder"
        )
    return out, created


def _remove(path: Path) -> None:
    """Best-effort removal of a temporary file or folder (never raises)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


@contextlib.contextmanager
def _translate_errors(dest: Path, cleanup: Path | None) -> Iterator[None]:
    """Remove ``cleanup`` on any failure; turn unexpected errors into :class:`ExportError`."""
    try:
        yield
    except BaseException as exc:
        if cleanup is not None:
            _remove(cleanup)
        if isinstance(exc, S2DError) or not isinstance(exc, Exception):
            raise  # our own errors, KeyboardInterrupt, SystemExit: unchanged
        if isinstance(exc, OSError):
            raise ExportError(os_error_message(dest, exc)) from exc
        raise ExportError(
            f"writing {dest} failed ({type(exc).__name__}: {exc}); nothing was written. "
            "Please report this with the steps that led to it"
        ) from exc


@contextlib.contextmanager
def atomic_file(dest: str | os.PathLike[str], *, fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` when the block succeeds.

    The temporary keeps ``dest``'s suffix (encoders such as ffmpeg pick the container from it).
    An existing ``dest`` file is replaced; an existing *folder* at ``dest`` is refused.
    Raises :class:`core.errors.ExportError` (or :class:`ExportCancelled`) and removes the
    temporary on failure.
    """
    dest = Path(dest)
    parent = _check_parent(dest)
    if dest.is_dir():
        raise ExportError(
            f"cannot write the file {dest}: a folder with that name exists; choose another name"
        )
    with _translate_errors(dest, None):
        tmp = _unique_sibling(parent, dest, "tmp", make_dir=False)
    with _translate_errors(dest, tmp):
        yield tmp
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, dest)


def atomic_write_bytes(dest: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically (see :func:`atomic_file`)."""
    with atomic_file(dest) as tmp:
        tmp.write_bytes(data)


def atomic_savez(
    dest: str | os.PathLike[str], arrays: Mapping[str, Any], *, compressed: bool = False
) -> Path:
    """Write ``arrays`` as an ``.npz`` archive to exactly ``dest``, atomically.

    Any name works (``out.NPZ``, ``out``, ``out.npy``: no ``.npz`` is appended); no pickles.
    """
    save = np.savez_compressed if compressed else np.savez
    with atomic_file(dest) as tmp, open(tmp, "wb") as fh:
        save(fh, allow_pickle=False, **{k: np.asarray(v) for k, v in arrays.items()})
    return Path(dest)


@contextlib.contextmanager
def atomic_dir(dest: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``dest``; move it to ``dest`` when the block succeeds.

    An existing ``dest`` is refused unless ``overwrite=True``; then the old folder is moved aside,
    the new one renamed into place and the old one deleted (restored if the rename fails).
    """
    dest = Path(dest)
    parent = _check_parent(dest)
    if dest.exists() and not overwrite:
        kind = "folder" if dest.is_dir() else "file"
        raise ExportError(
            f"cannot export to {dest}: a {kind} with that name already exists; "
            "choose another name or allow overwriting"
        )
    if dest.exists() and not dest.is_dir():
        raise ExportError(
            f"cannot export to {dest}: it is a file, not a folder; choose another name"
        )
    with _translate_errors(dest, None):
        tmp = _unique_sibling(parent, dest, "tmp", make_dir=True)
    with _translate_errors(dest, tmp):
        yield tmp
        _replace_dir(tmp, dest)


def _replace_dir(tmp: Path, dest: Path) -> None:
    if not dest.exists():
        os.replace(tmp, dest)
        return
    backup = _unique_sibling(dest.parent, dest, "old", make_dir=True)
    backup.rmdir()  # only the unique name is needed
    os.replace(dest, backup)
    try:
        os.replace(tmp, dest)
    except BaseException:
        os.replace(backup, dest)  # put the old folder back
        raise
    _remove(backup)


def _unique_sibling(parent: Path, dest: Path, tag: str, *, make_dir: bool) -> Path:
    """Create a new hidden file/folder ``.<dest.name>.<tag>-XXXXXXXX<suffix>`` in ``parent``.

    Created with the usual permissions (``0o666``/``0o777`` minus the umask), unlike ``tempfile``
    (``0o600``), so the renamed result looks like any other file the user wrote.
    """
    for _ in range(100):
        name = f".{dest.name}.{tag}-{secrets.token_hex(4)}{'' if make_dir else dest.suffix}"
        path = parent / name
        try:
            if make_dir:
                os.mkdir(path, 0o777)
            else:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(parent))
