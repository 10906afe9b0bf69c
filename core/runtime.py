"""Process-level runtime tuning for CPU inference: allocator thresholds and device choice.

Batched decoding on CPU is dominated by the allocator, not the maths: the spiral gathers of a
30-frame batch are tens of MiB, above glibc's dynamic mmap threshold, so every call maps, faults
and unmaps them afresh. :func:`tune_malloc` keeps such blocks on the heap (glibc ``mallopt``);
call it once at start-up, ideally before ``import torch``. Importing this module does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from typing import Any

__all__ = ["tune_malloc", "pick_device", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

#: glibc ``mallopt`` parameter ids (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Blocks up to this size (1 GiB) are served from the heap instead of fresh ``mmap`` calls.
#: Old glibc releases reject values above 32 MiB; :func:`tune_malloc` then retries with that.
MMAP_THRESHOLD = 1 << 30

#: Fallback mmap threshold for glibc builds that cap it at ``HEAP_MAX_SIZE / 2`` (64-bit).
_MMAP_THRESHOLD_FALLBACK = 32 * 1024 * 1024

#: Free heap memory above this is returned to the OS; large so freed gather buffers are reused.
TRIM_THRESHOLD = 2**31 - 1

_applied: dict[str, bool] | None = None


def tune_malloc(
    mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD
) -> dict[str, bool]:
    """Raise glibc's mmap and trim thresholds so large temporary tensors reuse heap memory.

    No-op (all ``False``) on non-Linux platforms or non-glibc C libraries. Idempotent: later
    calls return the first call's result. Equivalent environment variables at process start:
    ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``.

    Parameters
    ----------
    mmap_threshold : int
        Bytes; requests of at most this size come from the heap.
    trim_threshold : int
        Bytes of free memory kept at the top of the heap before trimming.

    Returns
    -------
    dict
        ``{"mmap_threshold": ok, "trim_threshold": ok}``: whether glibc accepted each setting.
    """
    global _applied
    if _applied is not None:
        return dict(_applied)
    result = {"mmap_threshold": False, "trim_threshold": False}
    libc = _glibc()
    if libc is not None:
        mallopt = libc.mallopt
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt.restype = ctypes.c_int
        ok = bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)))
        if not ok and mmap_threshold > _MMAP_THRESHOLD_FALLBACK:
            ok = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_FALLBACK))
        result["mmap_threshold"] = ok
        result["trim_threshold"] = bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))
    _applied = result
    return dict(result)


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it (musl does not)
    except (OSError, AttributeError):
        return None
    return libc


def pick_device(prefer: str = "auto") -> Any:
    """Choose the torch device for inference.

    Parameters
    ----------
    prefer : {"auto", "cpu", "cuda"}
        ``"auto"``: CUDA if available, else CPU. ``"cuda"`` falls back to CPU when unavailable.

    Returns
    -------
    torch.device
    """
    import torch

    if prefer not in ("auto", "cpu", "cuda"):
        from core.errors import InvalidInputError

        raise InvalidInputError(f"expected prefer in ('auto', 'cpu', 'cuda'), found {prefer!r}")
    if prefer != "cpu" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
