"""One titled image panel with its colour bar, crosshair and orientation labels."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from bvae_viewer.gui.ruler import RulerOverlay
from bvae_viewer.gui.slice_view import (
    SliceViewBox,
    crosshair_lines,
    edge_labels,
    place_edge_labels,
)
from bvae_viewer.gui.view_state import ViewState

TITLE_COLOUR = "#e6e6e6"
LABEL_COLOUR = "#ffd54f"
COLORBAR_AXIS_WIDTH = 52


def overlay_lut(name: str = "inferno", size: int = 256) -> np.ndarray:
    """A colour table whose low end fades to transparent, so normal tissue stays visible."""
    lut = pg.colormap.get(name).getLookupTable(nPts=size, alpha=True).astype(np.ubyte)
    ramp = np.clip(np.linspace(0.0, 1.0, size) / 0.3, 0.0, 1.0)
    lut[:, 3] = (255 * ramp).astype(np.ubyte)
    return lut


class MapPanel(pg.GraphicsLayoutWidget):
    """Shows one map of the current slice; observes a ViewState and reports the mouse to it."""

    def __init__(
        self,
        key: str,
        state: ViewState,
        colormap: str,
        levels: tuple[float, float],
        follows_window: bool,
        parent=None,
    ) -> None:
        super().__init__(parent=parent)
        self.key = key
        self.state = state
        self.follows_window = follows_window  # images follow W/L; maps keep calibrated levels
        self.setBackground("k")
        self.ci.layout.setContentsMargins(2, 2, 2, 2)

        self.view = SliceViewBox()
        self.plot = self.addPlot(viewBox=self.view)
        for axis in ("left", "bottom"):
            self.plot.hideAxis(axis)
        self.title = key  # set_title() names it after the loaded model's method
        self.plot.setTitle(key, color=TITLE_COLOUR, size="11pt")
        self.plot.hideButtons()

        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image_item)
        self.colorbar = pg.ColorBarItem(
            values=levels,
            colorMap=pg.colormap.get(colormap),
            interactive=follows_window,
            width=14,
            rounding=0.01 if follows_window else 1e-6,
            colorMapMenu=False,
        )
        self.colorbar.setImageItem(self.image_item, insert_in=self.plot)
        self.colorbar.axis.setTextPen(TITLE_COLOUR)
        # Same width in every panel, so the six views have the same size and zoom alike.
        self.colorbar.axis.setWidth(COLORBAR_AXIS_WIDTH)
        # Connected whatever the mode: set_follows_window can switch it with the model.
        self.colorbar.sigLevelsChanged.connect(self._bar_moved)

        self.overlay_item: pg.ImageItem | None = None
        self._cross = crosshair_lines(self.plot)
        self._labels = edge_labels(self.view, LABEL_COLOUR, 11)
        self.view.sigResized.connect(self._place_labels)
        self._shape: tuple[int, int] | None = None
        self.ruler = RulerOverlay(self.plot, self.view, state, "axial")  # set_plane: a case
        self._bind()

    def set_title(self, title: str, tip: str) -> None:
        """The panel's title and tooltip (they follow the method of the loaded model)."""
        self.title = title
        self.plot.setTitle(title, color=TITLE_COLOUR, size="11pt")
        self.setToolTip(tip)

    # --- wiring -------------------------------------------------------------------------------
    def _bind(self) -> None:
        s, v = self.state, self.view
        v.slice_step.connect(s.step_slice)
        v.window_drag.connect(s.drag_window)
        v.clicked.connect(self._clicked)
        v.reset_requested.connect(lambda: s.set_view(None))
        v.sigRangeChangedManually.connect(lambda _mask: s.set_view(v.viewRect()))
        s.view_changed.connect(self._apply_view)
        s.crosshair_changed.connect(self._apply_crosshair)
        s.orientation_changed.connect(self._apply_orientation)
        s.window_changed.connect(self._apply_window)
        self._apply_orientation(s.radiological)

    # --- content ------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray | None) -> None:
        """Show one slice's map (or nothing); levels are never recomputed here."""
        if image is None:
            self.image_item.clear()
            return
        first = self._shape != image.shape
        self._shape = image.shape
        self.image_item.setImage(image, autoLevels=False)
        self.image_item.setLevels(self.colorbar.levels())
        if first:
            self._apply_view(self.state.view_rect)

    def set_levels(self, levels: tuple[float, float]) -> None:
        self.colorbar.setLevels(levels)

    def shown(self) -> np.ndarray | None:
        """The array on screen (for tests and pixel read-outs)."""
        return self.image_item.image

    def enable_overlay(self) -> None:
        self.overlay_item = pg.ImageItem(axisOrder="row-major")
        self.overlay_item.setLookupTable(overlay_lut())
        self.overlay_item.setZValue(5)
        self.plot.addItem(self.overlay_item)

    def set_overlay(self, image: np.ndarray | None, levels: tuple[float, float], opacity: float):
        if self.overlay_item is None:
            return
        if image is None or opacity <= 0:
            self.overlay_item.setVisible(False)
            return
        self.overlay_item.setImage(image, autoLevels=False, levels=levels)
        self.overlay_item.setOpacity(opacity)
        self.overlay_item.setVisible(True)

    # --- observers ----------------------------------------------------------------------------
    def _apply_view(self, rect: QRectF | None) -> None:
        if rect is None:
            if self._shape is not None:
                h, w = self._shape
                self.view.setRange(QRectF(0, 0, w, h), padding=0.0)
            return
        if rect != self.view.viewRect():
            self.view.setRange(rect, padding=0.0)

    def _apply_window(self, low: float, high: float) -> None:
        if self.follows_window and tuple(self.colorbar.levels()) != (low, high):
            self.colorbar.setLevels((low, high))

    def _bar_moved(self, bar: pg.ColorBarItem) -> None:
        if self.follows_window:
            low, high = bar.levels()
            self.state.set_window(low, high)

    def set_follows_window(self, follows: bool, colormap: str, levels: tuple[float, float]) -> None:
        """Image mode (grey, the shared window/level) or map mode (a colour map, fixed levels):
        a panel that shows a reconstruction for one model shows a map for another."""
        self.follows_window = follows
        self.colorbar.setColorMap(pg.colormap.get(colormap))
        self.colorbar.setLevels(self.state.window if follows else levels)

    def _apply_crosshair(self, point: tuple[int, int] | None) -> None:
        for line in self._cross:
            line.setVisible(point is not None)
        if point is not None:
            row, col = point
            self._cross[0].setValue(col + 0.5)
            self._cross[1].setValue(row + 0.5)

    def _apply_orientation(self, radiological: bool) -> None:
        # Data column 0 is the patient's left; radiological flips it to screen right.
        self.view.invertX(radiological)
        left, right = ("R", "L") if radiological else ("L", "R")
        for side, text in (("left", left), ("right", right), ("top", "A"), ("bottom", "P")):
            self._labels[side].setText(text)
        self._place_labels()

    def _place_labels(self) -> None:
        place_edge_labels(self.view, self._labels, 12)

    def _clicked(self, pos) -> None:
        if self._shape is None:
            return
        row, col = int(np.floor(pos.y())), int(np.floor(pos.x()))
        h, w = self._shape
        if 0 <= row < h and 0 <= col < w:
            self.state.set_crosshair((row, col))
