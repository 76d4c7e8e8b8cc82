"""Three orthogonal views (axial, coronal, sagittal) of the input and of one chosen map.

As in ITK-SNAP and FSLeyes: one 3D cursor (ViewState.cursor) is drawn in every view and a
click in any of them moves it, so the other views follow; the wheel walks through a view's
own sections. The views observe ViewState and never call each other; what they show (the
volumes, the case's geometry) is handed to them (gui.ortho_feed). Sections are drawn at the
stack's true aspect (slice_mm against pixel_mm; gui.planes).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.gui import strings
from bvae_viewer.gui.acquired_plane import AcquiredPlane
from bvae_viewer.gui.map_panel import LABEL_COLOUR, TITLE_COLOUR
from bvae_viewer.gui.planes import PLANES, Plane
from bvae_viewer.gui.ruler import RulerOverlay, through_point
from bvae_viewer.gui.slice_view import (
    SliceViewBox,
    crosshair_lines,
    edge_labels,
    place_edge_labels,
)
from bvae_viewer.gui.view_state import ViewState

# Screen edges (left, right, top, bottom) of each plane; radiological flips left and right
# of the views that show the patient's left-right axis.
EDGES = {
    "axial": ("L", "R", "A", "P"),
    "coronal": ("L", "R", "S", "I"),
    "sagittal": ("A", "P", "S", "I"),
}


ViewPlane = Plane | AcquiredPlane


class OrthoView(pg.GraphicsLayoutWidget):
    """One plane of one volume, with the cursor's crosshair, edge labels and the ruler."""

    def __init__(self, plane: str, state: ViewState, colormap: str, follows_window: bool):
        super().__init__()
        self.name, self.state = plane, state
        self.follows_window = follows_window
        self.setBackground("k")
        self.ci.layout.setContentsMargins(1, 1, 1, 1)
        self.view = SliceViewBox()
        self.plot = self.addPlot(viewBox=self.view)
        for axis in ("left", "bottom"):
            self.plot.hideAxis(axis)
        self.plot.hideButtons()
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setColorMap(pg.colormap.get(colormap))
        self.image_item.setLevels(state.window)
        self.plot.addItem(self.image_item)
        self._cross = crosshair_lines(self.plot)
        self._labels = edge_labels(self.view, LABEL_COLOUR, 10)
        self.view.sigResized.connect(self._place_labels)
        self.ruler = RulerOverlay(self.plot, self.view, state, plane)
        self.plane: ViewPlane | None = None
        self.volume: np.ndarray | None = None
        self._section: int | None = None  # the index of the section on screen
        self.set_title(plane)
        self._bind()

    def _bind(self) -> None:
        s, v = self.state, self.view
        v.clicked.connect(self._clicked)
        v.slice_step.connect(self._wheel)
        v.reset_requested.connect(self.fit)
        v.window_drag.connect(lambda dx, dy: self.follows_window and s.drag_window(dx, dy))
        s.window_changed.connect(self._window)
        s.cursor_changed.connect(lambda _c: self.refresh())
        s.orientation_changed.connect(self._orientation)
        self._orientation(s.radiological)

    def set_title(self, title: str) -> None:
        self.title = title
        self.plot.setTitle(title, color=TITLE_COLOUR, size="10pt")

    def _window(self, low: float, high: float) -> None:
        if self.follows_window:
            self.image_item.setLevels((low, high))

    def set_follows_window(self, follows: bool) -> None:
        """An image follows the shared window/level; a map keeps its calibrated levels."""
        self.follows_window = follows

    def set_colormap(self, colormap: str, levels: tuple[float, float]) -> None:
        self.image_item.setColorMap(pg.colormap.get(colormap))
        self.image_item.setLevels(levels)

    def set_volume(
        self, volume: np.ndarray | None, plane: ViewPlane | None, geometry: SliceGeometry | None
    ) -> None:
        """The (N, S, S) volume this view cuts (None: nothing), its plane and mm geometry:
        a Plane of the model's stack, or an AcquiredPlane of the input as acquired."""
        refit = plane != self.plane
        self.volume, self.plane = volume, plane
        self.ruler.set_plane(plane, geometry)
        self._section = None
        self.refresh()
        if refit:
            self.fit()

    def refresh(self, force: bool = False) -> None:
        """The section through the cursor, and the crosshair on it."""
        plane = self.plane
        if plane is None or self.volume is None:
            self.image_item.clear()
            self._show_cross(None)
            return
        through = through_point(self.state, plane.size)
        section = plane.section(through)
        if force or section != self._section:
            self._section = section
            self.image_item.setImage(plane.image(self.volume, through), autoLevels=False)
            width, height = plane.extent()
            self.image_item.setRect(QRectF(0, 0, width, height))
        self._show_cross(self.state.cursor)

    def _show_cross(self, cursor) -> None:
        for line in self._cross:
            line.setVisible(cursor is not None and self.plane is not None)
        if cursor is not None and self.plane is not None:
            x, y = self.plane.to_view(tuple(float(v) for v in cursor))
            self._cross[0].setValue(x)
            self._cross[1].setValue(y)

    def shown(self) -> np.ndarray | None:
        """The section on screen (for tests and read-outs)."""
        return self.image_item.image

    def fit(self) -> None:
        if self.plane is not None:
            width, height = self.plane.extent()
            self.view.setRange(QRectF(0, 0, width, height), padding=0.0)

    def scene_point(self, x: float, y: float) -> QPointF:
        """Widget pixel of a view point (tests click there)."""
        return QPointF(self.mapFromScene(self.view.mapViewToScene(QPointF(x, y))))

    # --- the reader's hand ------------------------------------------------------------------
    def _clicked(self, pos: QPointF) -> None:
        plane = self.plane
        if plane is None:
            return
        point = plane.from_view(pos.x(), pos.y(), through_point(self.state, plane.size))
        width, height = plane.extent()
        if 0 <= pos.x() < width and 0 <= pos.y() < height:
            self.state.set_cursor(*plane.clamp(point))

    def _wheel(self, steps: int) -> None:
        """Away from the reader: superior (axial), anterior (coronal), right (sagittal)."""
        plane = self.plane
        if plane is None:
            return
        through = through_point(self.state, plane.size)
        if isinstance(plane, AcquiredPlane):  # the scan's own sections, however thick
            self.state.set_cursor(*plane.stepped(through, steps))
            return
        p, r, c = plane.clamp(through)
        if self.name == "axial":
            self.state.step_slice(steps)
        elif self.name == "coronal":
            self.state.set_cursor(p, max(0, min(plane.size - 1, r - steps)), c)
        else:
            self.state.set_cursor(p, r, max(0, min(plane.size - 1, c + steps)))

    def _orientation(self, radiological: bool) -> None:
        flips = self.name != "sagittal"
        self.view.invertX(radiological and flips)
        left, right, top, bottom = EDGES[self.name]
        if radiological and flips:
            left, right = right, left
        for side, text in zip(("left", "right", "top", "bottom"), (left, right, top, bottom),
                              strict=True):
            self._labels[side].setText(text)
        self._place_labels()

    def _place_labels(self) -> None:
        place_edge_labels(self.view, self._labels, 10)


class OrthoViews(QWidget):
    """Top row: the input in three planes; bottom row: the chosen map in the same planes."""

    map_chosen = Signal(str)  # the key of the map the bottom row shows

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.image_views = {p: OrthoView(p, state, "CET-L1", True) for p in PLANES}
        self.map_views = {p: OrthoView(p, state, "inferno", False) for p in PLANES}
        for plane in PLANES:  # the same zoom and pan for a plane's two views
            self.map_views[plane].view.setXLink(self.image_views[plane].view)
            self.map_views[plane].view.setYLink(self.image_views[plane].view)
        self.map_combo = QComboBox()
        self.map_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.map_combo.activated.connect(lambda i: self.map_chosen.emit(self.map_combo.itemData(i)))
        choose = QHBoxLayout()
        choose.setContentsMargins(2, 0, 2, 0)
        choose.addWidget(QLabel(strings.ORTHO_MAP_LABEL))
        choose.addWidget(self.map_combo)
        choose.addStretch(1)
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(3)
        for col, plane in enumerate(PLANES):
            grid.addWidget(self.image_views[plane], 0, col)
            grid.addWidget(self.map_views[plane], 1, col)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(choose)
        layout.addLayout(grid, 1)

    def views(self) -> list[OrthoView]:
        return [*self.image_views.values(), *self.map_views.values()]

    def set_map_choices(self, choices: list[tuple[str, str]], current: str) -> None:
        """(key, title) of the maps the bottom row can show, and the one it shows."""
        self.map_combo.clear()
        for key, title in choices:
            self.map_combo.addItem(title, key)
        self.map_combo.setCurrentIndex(max(0, self.map_combo.findData(current)))

    def set_titles(self, image_title: str, map_title: str, acquired: bool = False) -> None:
        """Titles of the rows; ``acquired``: the views show the input's own grid."""
        for plane in PLANES:
            name = strings.ORTHO_PLANES[plane]
            if acquired:
                name = strings.ORTHO_ACQUIRED.format(plane=name)
            self.image_views[plane].set_title(f"{image_title}: {name}")
            self.map_views[plane].set_title(f"{map_title}: {name}")
