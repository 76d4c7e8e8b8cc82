"""Per-slice profile: anomaly score and total uncertainty against slice, with thresholds."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.gui import strings
from bvae_viewer.gui.view_state import ViewState

DECISION_COLOURS = {
    Decision.NORMAL: "#43a047",
    Decision.FLAGGED: "#e53935",
    Decision.REVIEW: "#ffb300",
    Decision.EMPTY: "#8a8a8a",  # also a text colour: lighter than the dark panels
}
# Made once: a brush per point per redraw costs more than the redraw while results stream in.
DECISION_BRUSHES = {d: pg.mkBrush(c) for d, c in DECISION_COLOURS.items()}
PENDING_BRUSH = pg.mkBrush("#9e9e9e")
AXIS_COLOUR = "#cfcfcf"
MIN_RELATIVE_SPAN = 0.05  # of the values' magnitude: the narrowest y range a profile shows
THRESHOLD_PEN = pg.mkPen("#ff7043", width=1.5, style=Qt.PenStyle.DashLine)
THRESHOLD_HOVER_PEN = pg.mkPen("#ffab91", width=3, style=Qt.PenStyle.DashLine)
CURRENT_PEN = pg.mkPen("#4fc3f7", width=2)


class SliceNumberAxis(pg.AxisItem):
    """Stack positions on the x axis, labelled with the input's own slice numbers (from 1),
    as the slider, the queue, the findings and the report count them."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self.numbers: Sequence[int] = ()

    def tickStrings(self, values, scale, spacing):  # pyqtgraph names it
        out = []
        for v in values:
            p = round(v)
            known = 0 <= p < len(self.numbers) and abs(v - p) < 1e-6
            out.append(str(self.numbers[p]) if known else str(p + 1))
        return out


class ProfilePlot(pg.GraphicsLayoutWidget):
    """Two stacked, x-linked plots; clicking or dragging the marker moves to that slice.

    The dashed threshold lines can be dragged: the plot announces the new pair of thresholds
    (thresholds_changed, the same path as the threshold spin boxes) and shows the values in
    force when the document says them back (set_thresholds).
    """

    thresholds_changed = Signal(float, float)  # score, uncertainty (inf: off)

    def __init__(self, state: ViewState, parent=None) -> None:
        super().__init__(parent=parent)
        self.state = state
        self.setBackground("#111111")
        self.score_plot = self._make_plot(strings.PROFILE_SCORE, 0)
        self.unc_plot = self._make_plot(strings.PROFILE_UNC, 1)
        self.unc_plot.setXLink(self.score_plot)
        self.unc_plot.setLabel("bottom", strings.PROFILE_X, color=AXIS_COLOUR)
        self.score_plot.hideAxis("bottom")
        self.ci.layout.setSpacing(0)

        self._curves = {}
        self._values: dict[int, np.ndarray] = {}
        self._dots = {}
        self._thresholds = {}
        self._markers = []
        for plot in (self.score_plot, self.unc_plot):
            curve = plot.plot([], [], pen=pg.mkPen("#9e9e9e", width=1))
            dots = pg.ScatterPlotItem(size=6, pen=None)
            plot.addItem(dots)
            line = pg.InfiniteLine(
                angle=0, pen=THRESHOLD_PEN, hoverPen=THRESHOLD_HOVER_PEN, movable=True,
                bounds=[0.0, None],  # a threshold is never negative
            )
            line.setToolTip(strings.THRESHOLD_LINE_TIP)
            line.setVisible(False)
            line.sigPositionChanged.connect(self._threshold_dragged)
            line.sigPositionChangeFinished.connect(lambda _line, p=plot: self._fit_y(p))
            plot.addItem(line, ignoreBounds=True)
            marker = pg.InfiniteLine(angle=90, pen=CURRENT_PEN, movable=True)
            marker.sigPositionChanged.connect(self._marker_moved)
            plot.addItem(marker, ignoreBounds=True)
            self._curves[id(plot)], self._dots[id(plot)] = curve, dots
            self._thresholds[id(plot)] = line
            self._markers.append(marker)
        self.scene().sigMouseClicked.connect(self._scene_clicked)
        state.slice_changed.connect(self._show_current)

    def _make_plot(self, title: str, row: int) -> pg.PlotItem:
        plot = self.addPlot(row=row, col=0, axisItems={"bottom": SliceNumberAxis()})
        for name in ("left", "bottom"):
            plot.getAxis(name).setTextPen(AXIS_COLOUR)
            plot.getAxis(name).setPen(AXIS_COLOUR)
            plot.getAxis(name).enableAutoSIPrefix(False)
        plot.getAxis("left").setWidth(64)
        # The name sits inside the plot: rotated axis labels do not fit these short plots.
        label = pg.TextItem(title, color=AXIS_COLOUR, anchor=(0, 0), fill=(17, 17, 17, 200))
        label.setParentItem(plot.vb)
        label.setPos(6, 2)
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        return plot

    def set_thresholds(self, score: float, uncertainty: float) -> None:
        """The thresholds in force, as the document says them (no announcement)."""
        for plot, value in ((self.score_plot, score), (self.unc_plot, uncertainty)):
            line = self._thresholds[id(plot)]
            line.setVisible(math.isfinite(value))
            if math.isfinite(value) and line.value() != value:
                line.blockSignals(True)
                line.setValue(value)
                line.blockSignals(False)
            self._fit_y(plot)

    def thresholds(self) -> tuple[float, float]:
        """The (score, uncertainty) pair the lines show; inf where a line is off."""
        score, unc = (self._thresholds[id(p)] for p in (self.score_plot, self.unc_plot))
        return tuple(  # type: ignore[return-value]
            float(line.value()) if line.isVisible() else math.inf for line in (score, unc)
        )

    def _threshold_dragged(self, _line: pg.InfiniteLine) -> None:
        self.thresholds_changed.emit(*self.thresholds())

    def set_profile(
        self,
        n_slices: int,
        scores: Sequence[SliceScores | None],
        decisions: Sequence[Decision | None],
        numbers: Sequence[int] | None = None,
    ) -> None:
        """Redraw from the slices analysed so far (None: not yet)."""
        if numbers is not None:
            self.unc_plot.getAxis("bottom").numbers = list(numbers)
        x = np.arange(n_slices, dtype=float)
        for plot, field in ((self.score_plot, "anomaly_score"), (self.unc_plot, "unc_total")):
            y = np.array(
                [getattr(s, field) if s is not None and not s.empty else np.nan for s in scores],
                dtype=float,
            )
            self._curves[id(plot)].setData(x, y, connect="finite")
            keep = np.isfinite(y)
            brushes = [
                DECISION_BRUSHES.get(d, PENDING_BRUSH)
                for d, k in zip(decisions, keep, strict=True)
                if k
            ]
            self._dots[id(plot)].setData(x[keep], y[keep], brush=brushes)
            self._values[id(plot)] = y[keep]
            plot.setXRange(-0.5, max(0.5, n_slices - 0.5), padding=0.0)
            self._fit_y(plot)
        self._show_current(self.state.slice)

    def _fit_y(self, plot: pg.PlotItem) -> None:
        """The values and the threshold in view, never narrower than MIN_RELATIVE_SPAN.

        A near-constant curve then reads as flat (which it is) with short tick labels, instead
        of magnifying noise in the seventh digit behind labels too long to draw.
        """
        values = list(self._values.get(id(plot), ()))
        line = self._thresholds[id(plot)]
        if line.moving:  # rescaling under the hand would move the line away from it
            return
        if line.isVisible():
            values.append(line.value())
        if not values:
            return
        low, high = float(min(values)), float(max(values))
        span = max(high - low, MIN_RELATIVE_SPAN * max(abs(low), abs(high)), 1e-12)
        centre = (low + high) / 2
        plot.setYRange(centre - span / 2, centre + span / 2, padding=0.1)

    def _show_current(self, index: int) -> None:
        for marker in self._markers:
            if marker.value() != index:
                marker.blockSignals(True)
                marker.setValue(index)
                marker.blockSignals(False)

    def _marker_moved(self, marker: pg.InfiniteLine) -> None:
        self.state.set_slice(round(marker.value()))

    def _scene_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        for plot in (self.score_plot, self.unc_plot):
            if plot.sceneBoundingRect().contains(ev.scenePos()):
                x = plot.vb.mapSceneToView(ev.scenePos()).x()
                self.state.set_slice(round(x))
                return
