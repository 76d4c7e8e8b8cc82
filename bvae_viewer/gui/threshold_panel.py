"""Triage thresholds: two spin boxes, live counts and a small risk-coverage preview."""

from __future__ import annotations

import math
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bvae_viewer.analysis.triage import Decision
from bvae_viewer.gui import strings
from bvae_viewer.gui.profile_plot import (
    AXIS_COLOUR,
    DECISION_COLOURS,
    THRESHOLD_HOVER_PEN,
    THRESHOLD_PEN,
)
from bvae_viewer.gui.queue_items import Coverage, ValidationPreview, coverage_curve
from bvae_viewer.gui.slice_info import format_value

OFF = 1e12  # the spin boxes' top: "off", an infinite threshold (an uncalibrated model's)
STEP = 1.05  # one arrow press moves a threshold by 5 %: scores span orders of magnitude
SMALLEST = 1e-9  # stepping up from zero starts here
PLOT_HEIGHT = 100
NUMBER = re.compile(r"^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
PARTIAL = re.compile(r"^[+]?\d*\.?\d*([eE][+-]?\d*)?$")


class ThresholdSpinBox(QDoubleSpinBox):
    """A non-negative threshold in four significant digits, stepped by a ratio, "off" at top."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setDecimals(12)  # values are shown by textFromValue; this only limits rounding
        self.setRange(0.0, OFF)
        self.setKeyboardTracking(False)  # typing commits on Enter, not on every digit
        self.setAccelerated(True)
        self.setMinimumWidth(96)

    def set_threshold(self, value: float) -> None:
        self.setValue(OFF if not math.isfinite(value) or value >= OFF else max(0.0, value))

    def threshold(self) -> float:
        value = self.value()
        return math.inf if value >= OFF else value

    def textFromValue(self, value: float) -> str:
        return strings.THRESH_OFF if value >= OFF else f"{value:.4g}"

    def valueFromText(self, text: str) -> float:
        text = text.strip().lower()
        if text in (strings.THRESH_OFF, "inf", "infinity"):
            return OFF
        try:
            return min(OFF, max(0.0, float(text)))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        stripped = text.strip().lower()
        if NUMBER.match(stripped) or stripped in (strings.THRESH_OFF, "inf"):
            return QValidator.State.Acceptable, text, pos
        if PARTIAL.match(stripped) or strings.THRESH_OFF.startswith(stripped):
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Invalid, text, pos

    def stepBy(self, steps: int) -> None:
        value = self.value()
        if value >= OFF:
            if steps < 0:
                return  # no finite value to step down to; type one instead
        elif value <= 0.0:
            value = SMALLEST if steps > 0 else 0.0
        else:
            value *= STEP**steps
        self.setValue(min(OFF, value))


class ThresholdPanel(QWidget):
    """Edits the score and uncertainty thresholds; shows what they do to the open case."""

    thresholds_changed = Signal(float, float)  # score, uncertainty (inf: off)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._calibrated = (math.inf, math.inf)
        self.score_box = ThresholdSpinBox()
        self.score_box.setToolTip(strings.THRESH_SCORE_TIP)
        self.unc_box = ThresholdSpinBox()
        self.unc_box.setToolTip(strings.THRESH_UNC_TIP)
        self.reset_button = QPushButton(strings.THRESH_RESET)
        self.reset_button.setToolTip(strings.THRESH_RESET_TIP)
        self.reset_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.reset_button.clicked.connect(self.reset)
        for box in (self.score_box, self.unc_box):
            box.valueChanged.connect(self._edited)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow(strings.THRESH_SCORE, self.score_box)
        form.addRow(strings.THRESH_UNC, self.unc_box)
        self.calibrated_label = self._label("color:#9e9e9e")
        reset_row = QHBoxLayout()
        reset_row.addWidget(self.calibrated_label, 1)
        reset_row.addWidget(self.reset_button)
        self.counts_label = self._label("")
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.case_label = self._label("")
        self.validation_label = self._label("color:#9e9e9e")
        self.plot = self._make_plot()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addLayout(form)
        layout.addLayout(reset_row)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.case_label)
        layout.addWidget(self.plot)
        layout.addWidget(self.validation_label)
        layout.addStretch(1)  # spare height goes below, not between the lines
        self.set_counts({d: 0 for d in Decision})

    @staticmethod
    def _label(style: str) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        if style:
            label.setStyleSheet(style)
        return label

    def _make_plot(self) -> pg.PlotWidget:
        plot = pg.PlotWidget(background="#111111")
        plot.setFixedHeight(PLOT_HEIGHT)
        plot.setToolTip(strings.PREVIEW_TIP)
        item = plot.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.setYRange(0.0, 1.0, padding=0.05)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setTextPen(AXIS_COLOUR)
            axis.setPen(AXIS_COLOUR)
            axis.enableAutoSIPrefix(False)  # "x0.001" beside the title reads as part of it
        item.getAxis("left").setTicks([[(0.0, "0"), (0.5, "50%"), (1.0, "100%")]])
        item.getAxis("left").setWidth(40)
        item.setLabel("bottom", strings.PREVIEW_PLOT_X, color=AXIS_COLOUR)
        self._case_curve = item.plot([], [], pen=pg.mkPen("#e0e0e0", width=1.5), stepMode=None)
        self._val_curve = item.plot([], [], pen=pg.mkPen("#4fc3f7", width=1.2))
        # Dragging the dashed line sets the uncertainty threshold through its spin box.
        self._unc_line = pg.InfiniteLine(
            angle=90, pen=THRESHOLD_PEN, hoverPen=THRESHOLD_HOVER_PEN, movable=True,
            bounds=[0.0, None],
        )
        self._unc_line.setToolTip(strings.THRESHOLD_LINE_TIP)
        self._unc_line.setVisible(False)
        self._unc_line.sigPositionChanged.connect(self._unc_line_dragged)
        item.addItem(self._unc_line, ignoreBounds=True)
        plot.scene().sigMouseClicked.connect(self._plot_clicked)
        return plot

    # --- thresholds -----------------------------------------------------------------------
    def set_calibrated(self, score: float, uncertainty: float) -> None:
        """The model's own values: shown, and where Reset goes."""
        self._calibrated = (score, uncertainty)
        self.calibrated_label.setText(
            strings.THRESH_CALIBRATED.format(score=_fmt(score), unc=_fmt(uncertainty))
        )

    def show_thresholds(self, score: float, uncertainty: float) -> None:
        """Display values set elsewhere, without announcing them as an edit."""
        for box, value in ((self.score_box, score), (self.unc_box, uncertainty)):
            box.blockSignals(True)
            box.set_threshold(value)
            box.blockSignals(False)
        self._show_unc_line(uncertainty)

    def thresholds(self) -> tuple[float, float]:
        return self.score_box.threshold(), self.unc_box.threshold()

    def reset(self) -> None:
        self.show_thresholds(*self._calibrated)
        self.thresholds_changed.emit(*self.thresholds())

    def _edited(self, _value: float) -> None:
        self._show_unc_line(self.unc_box.threshold())
        self.thresholds_changed.emit(*self.thresholds())

    def _plot_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.plot.getPlotItem().vb
        if vb.sceneBoundingRect().contains(ev.scenePos()):
            x = vb.mapSceneToView(ev.scenePos()).x()
            if x > 0:
                self.unc_box.set_threshold(x)  # valueChanged announces it

    def _unc_line_dragged(self, line: pg.InfiniteLine) -> None:
        self.unc_box.set_threshold(max(0.0, float(line.value())))  # valueChanged announces it

    def _show_unc_line(self, value: float) -> None:
        line = self._unc_line
        line.setVisible(math.isfinite(value))
        if math.isfinite(value) and line.value() != value:
            line.blockSignals(True)  # the box's own value, said back: not a drag
            line.setValue(value)
            line.blockSignals(False)

    # --- what they do ---------------------------------------------------------------------
    def set_counts(self, counts: dict[Decision, int]) -> None:
        colours = {f"c_{d.value}": DECISION_COLOURS[d] for d in Decision}
        self.counts_label.setText(
            strings.COUNTS_HTML.format(**{d.value: counts.get(d, 0) for d in Decision}, **colours)
        )

    def set_case_preview(
        self, coverage: Coverage, uncertainties: np.ndarray, out_of_distribution: bool
    ) -> None:
        if coverage.brain == 0:
            self.case_label.setText(strings.PREVIEW_CASE_NONE)
        else:
            text = strings.PREVIEW_CASE.format(
                auto=coverage.automatic,
                brain=coverage.brain,
                pct=100 * coverage.fraction,
                review=coverage.review,
            )
            if out_of_distribution:
                text += " " + strings.PREVIEW_OOD
            self.case_label.setText(text)
        x, y = coverage_curve(uncertainties)
        if out_of_distribution:
            y = np.zeros_like(y)  # nothing is decided automatically, whatever the threshold
        self._case_curve.setData(*_steps(x, y))
        self._fit_x(x)

    def set_validation_preview(
        self, preview: ValidationPreview | None, uncertainties: np.ndarray | None
    ) -> None:
        if preview is None:
            self.validation_label.setText(strings.PREVIEW_NO_VALIDATION)
            self._val_curve.setData([], [])
            return
        err = "-" if preview.error_rate is None else f"{100 * preview.error_rate:.1f} %"
        self.validation_label.setText(
            strings.PREVIEW_VALIDATION.format(
                cov=100 * preview.coverage, err=err, missed=100 * preview.abnormal_in_review
            )
        )
        if uncertainties is not None:
            self._val_curve.setData(*_steps(*coverage_curve(list(uncertainties))))

    def _fit_x(self, x: np.ndarray) -> None:
        values = list(x)
        unc = self.unc_box.threshold()
        if math.isfinite(unc):
            values.append(unc)
        if not values or self._unc_line.moving:  # the range stays put under the hand
            return
        high = max(values)
        self.plot.getPlotItem().setXRange(0.0, high * 1.05 if high > 0 else 1.0, padding=0.0)


def _steps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An empirical distribution drawn as steps from zero, as it is."""
    if x.size == 0:
        return x, y
    xs = np.repeat(x, 2)
    ys = np.concatenate([[0.0], np.repeat(y, 2)[:-1]])
    return np.concatenate([[0.0], xs]), np.concatenate([[0.0], ys])


def _fmt(value: float) -> str:
    return format_value(value) if math.isfinite(value) else strings.THRESH_OFF
