"""Work around PySide6 6.12's missing references to None/True on CPython < 3.12.

PySide6 6.12.0 (abi3 wheel) returns ``None`` from every void method (``QWidget.update()``,
``QTest.qWait()``, ...) and ``True`` from ``Signal.emit()`` *without* taking a reference. On
CPython 3.12+ these objects are immortal (PEP 683) and nothing happens; on 3.11 each call
removes one reference that was never given, and after some thousands of calls the process aborts
with ``Fatal Python error: none_dealloc: deallocating None`` (or ``bool_dealloc``). Measured
here: exactly -1 reference of None per ``QWidget.update()`` / ``setEnabled()`` call and -1 of
True per ``emit()``; the studio makes dozens of such calls per frame, so it died after minutes.

:func:`apply` checks for the leak with one void call and, if present, makes None, True and False
effectively immortal the way 3.12 does: their reference counts get a large constant added, so
the missing references can never bring them to zero (2**40 calls would be needed). It changes
nothing else and is a no-op on fixed versions and on CPython >= 3.12.

Which versions: measured with the probe of :func:`leaks_singletons` (100 calls) on CPython
3.11.7: PySide6-Essentials 6.11.2 loses no reference, 6.12.0 loses 100 of None and 100 of True
(and the interpreter then aborts in ``bool_dealloc``). The workaround is bounded to
:data:`AFFECTED` = [6.12.0, 6.13): other versions are left alone, and inside the range it is
still only applied when the probe sees the leak. ``tests/test_qt_compat.py`` reproduces the
bug in a fresh interpreter and fails when the installed version leaks outside the range (or
not inside it), so the range is re-checked whenever PySide6 changes; ``pyproject.toml`` pins
PySide6-Essentials to the tested versions.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["apply", "leaks_singletons", "affected", "AFFECTED", "IMMORTAL_BOOST"]

#: PySide6 versions with the leak: [first affected, first not affected) (see module docstring).
AFFECTED = ((6, 12, 0), (6, 13, 0))

#: References added to None/True/False (never taken back): 2**40 leaked calls to exhaust.
IMMORTAL_BOOST = 1 << 40

_applied = False


def leaks_singletons() -> bool:
    """Whether a void PySide call or a signal emit drops a reference it does not own."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        sig = Signal()

    probe = _Probe()
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(4):
        probe.setObjectName("probe")  # void: returns None
        probe.sig.emit()  # returns True
    after = sys.getrefcount(None), sys.getrefcount(True)
    return after[0] < before[0] or after[1] < before[1]


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for p in version.split(".")[:3]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts + [0] * (3 - len(parts)))


def affected(version: str | None = None) -> bool:
    """Whether PySide6 ``version`` (default: the installed one) is in :data:`AFFECTED`."""
    if version is None:
        import PySide6

        version = PySide6.__version__
    return AFFECTED[0] <= _version_tuple(version) < AFFECTED[1]


def apply() -> bool:
    """Pin None/True/False if this PySide build leaks them; True when the fix was applied."""
    global _applied
    if _applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if not affected() or not leaks_singletons():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += IMMORTAL_BOOST  # ob_refcnt
    _applied = True
    return True
