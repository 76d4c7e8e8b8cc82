"""A ViewBox with the mouse of a radiology viewer: wheel scrolls slices, right-drag sets W/L."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal

WHEEL_NOTCH = 120


class SliceViewBox(pg.ViewBox):
    """Wheel: slice; Ctrl+wheel: zoom; left/middle drag: pan; right or Ctrl+left drag: W/L.

    Left click places the crosshair; double click resets the zoom. With the ruler tool on
    (``measuring``), left drag measures instead of panning. Every change is reported as a
    signal for the shared ViewState; nothing here knows about other panels.
    """

    slice_step = Signal(int)
    window_drag = Signal(float, float)  # fractions of the view's width and height
    clicked = Signal(QPointF)  # in image pixel coordinates (x = column, y = row)
    reset_requested = Signal()
    measured = Signal(QPointF, QPointF, bool)  # ruler drag in view coordinates; finished

    def __init__(self) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self.setMouseMode(pg.ViewBox.PanMode)
        self.setDefaultPadding(0.0)
        self._wheel_rest = 0
        self.measuring = False

    def wheelEvent(self, ev, axis=None) -> None:
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
            return
        # One slice per notch (120 units); touchpads send smaller steps that add up.
        self._wheel_rest += ev.delta()
        steps = int(self._wheel_rest / WHEEL_NOTCH)
        if steps:
            self._wheel_rest -= steps * WHEEL_NOTCH
            # Wheel away from the reader goes up (superior), as in Slicer and ITK-SNAP.
            self.slice_step.emit(steps)
        ev.accept()

    def mouseDragEvent(self, ev, axis=None) -> None:
        ctrl = bool(ev.modifiers() & Qt.KeyboardModifier.ControlModifier)
        right = ev.button() == Qt.MouseButton.RightButton
        if self.measuring and not ctrl and ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            start = self.mapSceneToView(ev.buttonDownScenePos())
            self.measured.emit(start, self.mapSceneToView(ev.scenePos()), ev.isFinish())
            return
        if right or (ctrl and ev.button() == Qt.MouseButton.LeftButton):
            ev.accept()
            diff = ev.screenPos() - ev.lastScreenPos()
            size = self.size()
            width, height = max(1.0, size.width()), max(1.0, size.height())
            self.window_drag.emit(diff.x() / width, -diff.y() / height)
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        if ev.double():
            self.reset_requested.emit()
            return
        self.clicked.emit(self.mapSceneToView(ev.scenePos()))
