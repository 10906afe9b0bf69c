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
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["apply", "leaks_singletons", "IMMORTAL_BOOST"]

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


def apply() -> bool:
    """Pin None/True/False if this PySide build leaks them; True when the fix was applied."""
    global _applied
    if _applied:
        return True
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if not leaks_singletons():
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += IMMORTAL_BOOST  # ob_refcnt
    _applied = True
    return True
