"""Coronal and sagittal views of the input with the current axial slice marked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt

from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.gui.view_state import ViewState

MARK_PEN = pg.mkPen("#4fc3f7", width=1.5)
TEXT_COLOUR = "#e6e6e6"


class Localizer(pg.GraphicsLayoutWidget):
    """Two small reformats through the crosshair (or the centre); click one to pick a slice."""

    def __init__(self, state: ViewState, parent=None) -> None:
        super().__init__(parent=parent)
        self.state = state
        self.setBackground("k")
        self.setMinimumHeight(200)
        self._stack: SliceStack | None = None
        self._views = {}
        for col, (name, title) in enumerate((("coronal", "Coronal"), ("sagittal", "Sagittal"))):
            plot = self.addPlot(row=0, col=col)
            plot.setTitle(title, color=TEXT_COLOUR, size="9pt")
            plot.hideAxis("left")
            plot.hideAxis("bottom")
            plot.hideButtons()
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.setAspectLocked(True)
            image = pg.ImageItem(axisOrder="row-major")
            image.setLevels(state.window)
            plot.addItem(image)
            line = pg.InfiniteLine(angle=0, pen=MARK_PEN, movable=False)
            plot.addItem(line, ignoreBounds=True)
            self._views[name] = (plot, image, line)
        self.scene().sigMouseClicked.connect(self._clicked)
        state.slice_changed.connect(self._mark)
        state.crosshair_changed.connect(lambda _p: self._refresh())
        state.window_changed.connect(self._window)
        state.orientation_changed.connect(self._orientation)
        self._orientation(state.radiological)

    def set_stack(self, stack: SliceStack | None) -> None:
        self._stack = stack
        self._refresh()
        for plot, _image, _line in self._views.values():
            plot.autoRange(padding=0.02)

    def _refresh(self) -> None:
        stack = self._stack
        if stack is None or len(stack) == 0:
            for _plot, image, _line in self._views.values():
                image.clear()
            return
        size = stack.images.shape[1]
        row, col = self.state.crosshair or (size // 2, size // 2)
        n = len(stack)
        # Rows of a reformat run inferior -> superior (slice index), shown with superior up.
        reformats = {
            "coronal": (stack.images[:, row, :], stack.pixel_mm),
            "sagittal": (stack.images[:, :, col], stack.pixel_mm),  # anterior on the left
        }
        for name, (data, pixel_mm) in reformats.items():
            _plot, image, _line = self._views[name]
            image.setImage(np.ascontiguousarray(data), autoLevels=False, levels=self.state.window)
            image.setRect(QRectF(0, 0, size * pixel_mm, n * stack.slice_mm))
        self._mark(self.state.slice)

    def _mark(self, index: int) -> None:
        if self._stack is None:
            return
        for _plot, _image, line in self._views.values():
            line.setValue((index + 0.5) * self._stack.slice_mm)

    def _window(self, low: float, high: float) -> None:
        for _plot, image, _line in self._views.values():
            image.setLevels((low, high))

    def _orientation(self, radiological: bool) -> None:
        self._views["coronal"][0].getViewBox().invertX(radiological)

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self._stack is None:
            return
        for plot, _image, _line in self._views.values():
            if plot.sceneBoundingRect().contains(ev.scenePos()):
                y = plot.getViewBox().mapSceneToView(ev.scenePos()).y()
                self.state.set_slice(int(y // self._stack.slice_mm))
                return
