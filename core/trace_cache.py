"""A disk cache of the decoder's frozen TorchScript traces (start-up of the studio and replay).

Tracing the decode for a batch of 30 (:meth:`core.pipeline.S2DPipeline.use_traced`) takes
1.3-1.8 s of CPU on a 2-core machine (the trace unrolls the decoder's per-sample loop, then
``torch.jit.freeze`` optimises the 1,800-node graph); loading the same frozen module from a file
takes ~0.1 s and runs at the same speed (measured: 97.5 against 99.6 ms per B=30 decode). The
studio traces at start-up, so a cached trace cuts its time to "models ready" by that much.

A file is found by a key over everything a trace depends on: the torch version, the device, the
batch size, the bytes of every parameter and buffer of the traced module (weights, spiral
indices, landmark indices…: :func:`module_digest`), its settings (the normalisation) and the
source of the modules that define the decode (``core/pipeline.py``, ``core/models/*.py``,
``core/mesh/*.py``). A stale or damaged file is therefore never found; whatever is loaded is still checked against the eager module on its first
input, exactly as a fresh trace is (see ``S2DPipeline._trace``). The :data:`KEEP` files of each
batch size used last are kept (~15 MB each for the shipped decoder).

Folder: ``$S2D_TRACE_CACHE`` if set (``off`` turns the cache off), else
``~/.cache/sparse2dense-studio/traces``. Reading or writing problems are logged, never raised:
the cache is an optimisation only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path

import torch

from core.paths import ROOT, user_cache_dir

__all__ = ["ENV", "TraceCache", "default_trace_cache", "module_digest"]

LOG = logging.getLogger(__name__)

#: Environment variable naming the cache folder; ``off`` (or ``0``/empty) disables the cache.
ENV = "S2D_TRACE_CACHE"
#: Source folders (relative to the root) whose ``*.py`` files define the traced decode.
SOURCE_DIRS = ("core/models", "core/mesh")
SOURCE_FILES = ("core/pipeline.py",)
#: Files kept per batch size (the most recently used ones): the shipped decoder and a few others.
KEEP = 3


def _code_digest() -> str:
    """sha256 over the source files that define the decode (missing ones are skipped)."""
    h = hashlib.sha256()
    files = [ROOT / f for f in SOURCE_FILES]
    for d in SOURCE_DIRS:
        files += sorted((ROOT / d).glob("*.py"))
    for f in files:
        if f.is_file():
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def module_digest(module: torch.nn.Module) -> str:
    """sha256 over the names, dtypes, shapes and bytes of every parameter and buffer of
    ``module`` (non-persistent buffers included: a frozen trace bakes them all in)."""
    h = hashlib.sha256()
    tensors = [*module.named_parameters(), *module.named_buffers()]
    for name, t in sorted(tensors, key=lambda nt: nt[0]):
        t = t.detach().to("cpu").contiguous().reshape(-1)  # (n,)
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


class TraceCache:
    """Frozen traces in ``folder``, one file per (key, batch size).

    Parameters
    ----------
    folder : Path
        Created on the first save.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._code: str | None = None

    def key(self, batch: int, device, parts: tuple) -> str:
        """A 24-hex key of a trace for ``batch`` on ``device``; ``parts`` are the module's own
        identity (:func:`module_digest`, settings such as the normalisation), str or bytes."""
        if self._code is None:
            self._code = _code_digest()
        h = hashlib.sha256()
        for p in (torch.__version__, str(device), str(int(batch)), self._code, *parts):
            h.update((p if isinstance(p, bytes) else str(p).encode()) + b"\0")
        return h.hexdigest()[:24]

    def _path(self, batch: int, key: str) -> Path:
        return self.folder / f"decoder-b{int(batch)}-{key}.pt"

    def load(self, batch: int, key: str, device):
        """The cached module for (``batch``, ``key``) on ``device``, or None."""
        path = self._path(batch, key)
        if not path.is_file():
            return None
        try:
            with warnings.catch_warnings():  # torch.jit is deprecated in torch 2.x but works
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location=device)
            os.utime(path)  # recently used: kept by save()
            return module
        except Exception as exc:  # noqa: BLE001 - a damaged file: trace again and replace it
            LOG.warning("ignoring the cached trace %s (%s)", path, exc)
            return None

    def save(self, batch: int, key: str, module) -> None:
        """Write ``module`` for (``batch``, ``key``) atomically; keep the :data:`KEEP` files of
        ``batch`` used last and remove the others."""
        from core.io.atomic import atomic_file

        path = self._path(batch, key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_file(path, fsync=False) as tmp, warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.jit.save(module, str(tmp))
            files = sorted(
                self.folder.glob(f"decoder-b{int(batch)}-*.pt"),
                key=lambda f: f.stat().st_mtime,
                reverse=True,
            )
            for old in files[KEEP:]:
                old.unlink(missing_ok=True)
        except Exception as exc:  # noqa: BLE001 - the cache is an optimisation only
            LOG.warning("could not cache the decoder trace in %s (%s)", self.folder, exc)


def default_trace_cache() -> TraceCache | None:
    """The cache in ``$S2D_TRACE_CACHE`` or ``~/.cache/sparse2dense-studio/traces``; None when
    ``$S2D_TRACE_CACHE`` is ``off``, ``0`` or empty."""
    env = os.environ.get(ENV)
    if env is not None:
        if env.strip().lower() in ("", "0", "off", "none"):
            return None
        return TraceCache(Path(env).expanduser())
    return TraceCache(user_cache_dir() / "traces")
