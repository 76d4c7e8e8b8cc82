"""Real Qt input events for the tests: wheel, drag and click on a pyqtgraph view."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

NO_MOD = Qt.KeyboardModifier.NoModifier
MOVE_INTERVAL_MS = 25


def wheel(widget: QWidget, steps: int, modifiers=NO_MOD, at: QPointF | None = None) -> None:
    """Turn the wheel by ``steps`` notches over the widget (positive: away from the user)."""
    target = widget.viewport() if hasattr(widget, "viewport") else widget
    pos = at or QPointF(target.width() / 2, target.height() / 2)
    event = QWheelEvent(
        pos,
        target.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(target, event)


def _mouse(target, kind, pos: QPointF, button, buttons, modifiers) -> None:
    event = QMouseEvent(kind, pos, target.mapToGlobal(pos), button, buttons, modifiers)
    QApplication.sendEvent(target, event)


def drag(widget: QWidget, start: QPointF, end: QPointF, button, modifiers=NO_MOD, steps=8):
    """Press, move in steps, release: what a hand on a mouse does."""
    target = widget.viewport()
    no = Qt.MouseButton.NoButton
    _mouse(target, QEvent.Type.MouseButtonPress, start, button, button, modifiers)
    for i in range(1, steps + 1):
        # pyqtgraph drops move events that come faster than a hand could make them.
        QTest.qWait(MOVE_INTERVAL_MS)
        p = start + (end - start) * (i / steps)
        _mouse(target, QEvent.Type.MouseMove, p, no, button, modifiers)
    _mouse(target, QEvent.Type.MouseButtonRelease, end, button, no, modifiers)


def click(widget: QWidget, pos: QPointF, button=Qt.MouseButton.LeftButton) -> None:
    target = widget.viewport()
    _mouse(target, QEvent.Type.MouseButtonPress, pos, button, button, NO_MOD)
    _mouse(target, QEvent.Type.MouseButtonRelease, pos, button, Qt.MouseButton.NoButton, NO_MOD)
