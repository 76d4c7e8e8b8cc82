"""A ViewBox with the mouse of a radiology viewer: wheel scrolls slices, right-drag sets W/L."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont

WHEEL_NOTCH = 120
CROSSHAIR_PEN = pg.mkPen(QColor(0, 230, 255, 150), width=1, style=Qt.PenStyle.DashLine)
EDGES = ("left", "right", "top", "bottom")


def crosshair_lines(plot: pg.PlotItem) -> list[pg.InfiniteLine]:
    """A vertical and a horizontal line, hidden until the crosshair is set."""
    lines = [pg.InfiniteLine(angle=a, pen=CROSSHAIR_PEN, movable=False) for a in (90, 0)]
    for line in lines:
        line.setVisible(False)
        plot.addItem(line, ignoreBounds=True)
    return lines


def edge_labels(view: pg.ViewBox, colour, point_size: int) -> dict[str, pg.TextItem]:
    """The orientation letters at the four edges, in view coordinates: they stay at the edge
    under zoom (place them with place_edge_labels when the view is resized)."""
    labels = {}
    for side in EDGES:
        label = pg.TextItem(color=colour, anchor=(0.5, 0.5), fill=(0, 0, 0, 150))
        label.setFont(QFont("Sans Serif", point_size, QFont.Weight.Bold))
        label.setParentItem(view)
        labels[side] = label
    return labels


def place_edge_labels(view: pg.ViewBox, labels: dict[str, pg.TextItem], pad: int) -> None:
    rect = view.boundingRect()
    labels["left"].setPos(rect.left() + pad, rect.center().y())
    labels["right"].setPos(rect.right() - pad, rect.center().y())
    labels["top"].setPos(rect.center().x(), rect.top() + pad)
    labels["bottom"].setPos(rect.center().x(), rect.bottom() - pad)


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
