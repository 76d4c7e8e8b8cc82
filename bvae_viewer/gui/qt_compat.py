"""A guard against a reference-counting defect of PySide6 6.12 on CPython 3.11.

There, every ``SignalInstance.emit()`` called from Python returns ``True`` without taking a
reference to it, so each emit (ours and pyqtgraph's, thousands per minute of scrolling)
drops one reference to the ``True`` singleton. CPython 3.11 frees it once the count reaches
zero and aborts with "bool_dealloc: deallocating True or False". CPython 3.12 made the
singletons immortal (PEP 683), which hides the defect there; this module does the same for
3.11, and only when a probe shows the defect is present.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

PROBE_EMITS = 16
# Far more references than any session can drop; the count never reaches zero again.
PIN = 1 << 40


class _Probe(QObject):
    ping = Signal()


def emit_drops_references() -> bool:
    """True when emitting a signal from Python loses references to ``True``."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(PROBE_EMITS):
        probe.ping.emit()
    return sys.getrefcount(True) < before - PROBE_EMITS // 2


def _pin(obj: object) -> None:
    # ob_refcnt is the first field of every object in CPython's release builds.
    ctypes.c_ssize_t.from_address(id(obj)).value += PIN


def guard_emit_refcount() -> bool:
    """Pin True, False and None when the defect is present; returns whether it was."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    if not emit_drops_references():
        return False
    for singleton in (True, False, None):
        _pin(singleton)
    return True
