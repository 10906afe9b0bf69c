"""Reading user files without hanging, exhausting memory or running code.

* :func:`open_regular` opens a path with ``O_NONBLOCK`` (so a FIFO, socket or device can never
  block the open), refuses anything that is not a regular file, and reads the size limit from
  the *open* file (``fstat``), not from an earlier ``stat`` of the path that could have changed.
* :func:`read_npz` reads named arrays from an ``.npz`` file: numeric dtypes only (never pickle),
  each array's declared size checked against the archive before numpy allocates it, and every
  failure of a damaged archive (``BadZipFile``, ``EOFError``, ``zlib.error``, ``TypeError``,
  ``ValueError``, ``MemoryError``) turned into one :class:`core.errors.InvalidInputError` line.

Shapes: arrays are returned as stored; ``read_npz`` checks only dtype, size and presence.
"""

from __future__ import annotations

import io
import math
import os
import stat
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.errors import InvalidInputError

__all__ = [
    "MAX_NPZ_BYTES",
    "open_regular",
    "read_regular",
    "read_npz",
]

#: ``.npz`` inputs larger than this are refused (a batch of 1000 faces of 4312 vertices in
#: float64 is 100 MB).
MAX_NPZ_BYTES = 1 << 30


def open_regular(path: str | os.PathLike[str], max_bytes: int, what: str = "file") -> BinaryIO:
    """Open ``path`` for binary reading only if it is a regular file of at most ``max_bytes``.

    The open itself never blocks (``O_NONBLOCK``: a FIFO without a writer returns at once) and
    the type and size come from ``fstat`` of the opened descriptor.

    Raises
    ------
    InvalidInputError
        Missing, a folder, a FIFO/socket/device, unreadable or larger than ``max_bytes``; the
        message names the path, what was expected and what to do.
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{what} {path} does not exist; check the path") from exc
    except IsADirectoryError as exc:
        raise InvalidInputError(f"{what} {path} is a folder, not a file; choose a file") from exc
    except OSError as exc:
        raise InvalidInputError(
            f"{what} {path} cannot be opened ({exc.strerror or exc}); check its permissions"
        ) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _kind(st.st_mode)
            raise InvalidInputError(
                f"{what} {path} is {kind}, not a regular file; choose a file saved on disk"
            )
        if st.st_size > max_bytes:
            raise InvalidInputError(
                f"{what} {path}: expected a file of at most {max_bytes / 2**20:.0f} MB, found "
                f"{st.st_size / 2**20:.0f} MB; decimate or split it first"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def read_regular(path: str | os.PathLike[str], max_bytes: int, what: str = "file") -> bytes:
    """All bytes of a regular file of at most ``max_bytes`` (see :func:`open_regular`).

    Reads at most ``max_bytes + 1`` bytes, so a file that grows after the check is refused too.
    """
    with open_regular(path, max_bytes, what) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidInputError(
            f"{what} {path} grew past the limit of {max_bytes / 2**20:.0f} MB while being read"
        )
    return data


#: Everything numpy/zipfile raise on a damaged archive (all mean "damaged or not an .npz").
_NPZ_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    zlib.error,
    ValueError,
    TypeError,
    KeyError,
    OSError,
    NotImplementedError,
    MemoryError,
)


def read_npz(
    path: str | os.PathLike[str],
    names: tuple[str, ...],
    max_bytes: int = MAX_NPZ_BYTES,
    expected: str = "",
) -> dict[str, np.ndarray]:
    """The arrays ``names`` of an ``.npz`` file, each checked before it is allocated.

    Parameters
    ----------
    path : path-like
        A regular file of at most ``max_bytes``.
    names : tuple of str
        Required array names; a missing one raises an error listing what the file holds.
    expected : str
        How the message describes the expected content, e.g.
        ``"'neutral' (B,V,3) and 'landmarks' (B,68,3)"``.

    Raises
    ------
    InvalidInputError
        Not a regular file, too large, damaged/truncated, a missing array, a non-numeric
        (object/pickled, string) array or an array whose header declares more data than the
        archive holds.
    """
    path = Path(path)
    data = read_regular(path, max_bytes, "input file")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except _NPZ_ERRORS as exc:
        raise _damaged(path, exc) from exc
    with zf:
        members = {n[:-4] if n.endswith(".npy") else n: n for n in zf.namelist()}
        missing = [n for n in names if n not in members]
        if missing:
            raise InvalidInputError(
                f"{path}: expected arrays {expected or ', '.join(names)}; missing "
                f"{sorted(missing)} (the file holds {sorted(members)})"
            )
        return {n: _read_member(path, zf, members[n], n, max_bytes) for n in names}


def _read_member(
    path: Path, zf: zipfile.ZipFile, member: str, name: str, max_bytes: int
) -> np.ndarray:
    try:
        info = zf.getinfo(member)
        with zf.open(member) as fh:
            version = np.lib.format.read_magic(fh)
            read_header = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }.get(version)
            if read_header is None:
                raise ValueError(f"unsupported .npy format version {version}")
            shape, _fortran, dtype = read_header(fh)
            if dtype.hasobject or dtype.kind not in "biufc":
                raise InvalidInputError(
                    f"{path}: array {name!r} has dtype {dtype}, expected numbers; save it as a "
                    "float array (object arrays are never unpickled)"
                )
            declared = math.prod(int(d) for d in shape) * dtype.itemsize
            if declared > min(info.file_size, max_bytes):
                raise InvalidInputError(
                    f"{path}: array {name!r} declares shape {shape} ({declared / 2**20:.0f} MB) "
                    f"but the archive holds {info.file_size} bytes for it; the file is damaged"
                )
        with zf.open(member) as fh:  # read_array parses the header again from the start
            arr = np.lib.format.read_array(fh, allow_pickle=False)
    except InvalidInputError:
        raise
    except _NPZ_ERRORS as exc:
        raise _damaged(path, exc, name) from exc
    return arr


def _damaged(path: Path, exc: BaseException, name: str | None = None) -> InvalidInputError:
    where = f" (array {name!r})" if name else ""
    reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
    return InvalidInputError(
        f"{path} is not a readable .npz file{where}: {type(exc).__name__}: {reason}; the file is "
        "damaged or truncated — save it again with numpy.savez"
    )
