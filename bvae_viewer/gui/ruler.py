"""The ruler as a view draws it: drag between two points, read the distance in mm.

Every view (the six-map grid's axial panels, the three orthogonal views) carries one
RulerOverlay. With the ruler tool on (ViewState.ruler_tool), a left drag in the view puts a
Ruler into ViewState; every view whose section holds it draws it, with its length in scanner
mm (gui.planes.distance_mm, through analysis.geometry). Clearing the crosshair (Esc) or the
ruler command again clears it.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFont

from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.gui import strings
from bvae_viewer.gui.planes import Plane, Point, distance_mm
from bvae_viewer.gui.slice_view import SliceViewBox
from bvae_viewer.gui.view_state import Ruler, ViewState

RULER_COLOUR = "#ffee58"
RULER_PEN = pg.mkPen(RULER_COLOUR, width=2)
MIN_LENGTH = 0.5  # view units: a click is not a ruler


def through_point(state: ViewState, size: int) -> Point:
    """The point the sections go through: the cursor, or the slice's centre without one."""
    cursor = state.cursor
    if cursor is not None:
        return tuple(float(v) for v in cursor)  # type: ignore[return-value]
    return float(state.slice), (size - 1) / 2, (size - 1) / 2


def ruler_text(geometry: SliceGeometry | None, ruler: Ruler) -> str:
    if geometry is None:
        return ""
    return strings.RULER_TEXT.format(mm=distance_mm(geometry, ruler.start, ruler.end))


class RulerOverlay:
    """One view's ruler: it writes drags into ViewState and draws the ruler it holds."""

    def __init__(self, plot: pg.PlotItem, view: SliceViewBox, state: ViewState, plane: str):
        self.state, self.view, self.name = state, view, plane
        self.plane: Plane | None = None
        self.geometry: SliceGeometry | None = None
        self.line = pg.PlotDataItem(
            [], [], pen=RULER_PEN, symbol="+", symbolSize=9, symbolPen=RULER_PEN
        )
        self.line.setZValue(20)
        plot.addItem(self.line, ignoreBounds=True)
        self.label = pg.TextItem(color=RULER_COLOUR, anchor=(0, 1), fill=(0, 0, 0, 170))
        self.label.setFont(QFont("Sans Serif", 10, QFont.Weight.Bold))
        self.label.setZValue(21)
        plot.addItem(self.label, ignoreBounds=True)
        view.measured.connect(self._measured)
        state.ruler_tool_changed.connect(self._tool)
        state.ruler_changed.connect(lambda _r: self.refresh())
        state.cursor_changed.connect(lambda _c: self.refresh())
        self._tool(state.ruler_tool)
        self.refresh()

    def set_plane(self, plane: Plane | None, geometry: SliceGeometry | None) -> None:
        """The stack's plane this view shows, and the case's geometry that measures."""
        self.plane, self.geometry = plane, geometry
        self.refresh()

    def _tool(self, on: bool) -> None:
        self.view.measuring = on

    def _measured(self, start: QPointF, end: QPointF, _finished: bool) -> None:
        plane = self.plane
        if plane is None or (end - start).manhattanLength() < MIN_LENGTH:
            return
        through = through_point(self.state, plane.size)
        a = plane.from_view(start.x(), start.y(), through)
        b = plane.from_view(end.x(), end.y(), through)
        self.state.set_ruler(Ruler(self.name, a, b))

    def refresh(self) -> None:
        ruler, plane = self.state.ruler, self.plane
        shown = (
            ruler is not None
            and plane is not None
            and ruler.plane == self.name
            and plane.holds(ruler.start, through_point(self.state, plane.size))
        )
        self.line.setVisible(shown)
        self.label.setVisible(shown)
        if not shown:
            return
        (x0, y0), (x1, y1) = plane.to_view(ruler.start), plane.to_view(ruler.end)
        self.line.setData([x0, x1], [y0, y1])
        self.label.setText(ruler_text(self.geometry, ruler))
        self.label.setPos(x1, y1)
