"""The app survives PySide6's dropped references on signal emit (CPython 3.11)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from bvae_viewer.gui.qt_compat import emit_drops_references, guard_emit_refcount


class Emitter(QObject):
    value = Signal(object)


def test_many_emits_after_the_guard_keep_true_alive(qapp):
    guard_emit_refcount()
    emitter = Emitter()
    received = []
    emitter.value.connect(received.append)
    before = sys.getrefcount(True)
    # Without the guard this many emits would free True on an affected PySide6 and abort.
    for i in range(before + 1000):
        emitter.value.emit(i)
    assert len(received) == before + 1000
    if emit_drops_references():
        assert sys.getrefcount(True) > 1_000_000
    assert (1 == 1) is True
