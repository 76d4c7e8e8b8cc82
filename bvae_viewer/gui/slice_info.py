"""The current slice's scores and triage decision, as text beside the maps."""

from __future__ import annotations

import html
import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from bvae_viewer.analysis.maps import SliceScores
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.gui import strings
from bvae_viewer.gui.map_names import score_rows
from bvae_viewer.gui.profile_plot import DECISION_COLOURS
from bvae_viewer.review.store import DecisionRecord


def format_value(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.4g}"
    return f"{value:.3e}"


def slice_html(
    index: int,
    scores: SliceScores | None,
    decision: Decision | None,
    thresholds: tuple[float, float],
    review: DecisionRecord | None = None,
    rows_shown: tuple[tuple[str, str], ...] = strings.SCORES_ROWS,
) -> str:
    """Rich text for one slice: decision in its triage colour, the reviewer's, the numbers.

    rows_shown: (SliceScores field, label) pairs, named after the model (map_names.score_rows).
    """
    if decision is None:
        word, colour = strings.DECISION_WORDS["pending"], "#bdbdbd"
    else:
        word, colour = strings.DECISION_WORDS[decision.value], DECISION_COLOURS[decision]
    rows = [
        f"<div style='font-size:13pt'><b>{strings.SCORES_TITLE} {index}</b></div>",
        f"<div style='font-size:13pt; color:{colour}'><b>{word}</b></div>",
    ]
    if review is not None:
        line = strings.REVIEWER_LINE.format(
            decision=strings.REVIEWER_WORDS[review.decision.value],
            reviewer=html.escape(review.reviewer),
        )
        rows.append(f"<div style='font-size:11pt'><b>{line}</b></div>")
        if review.note:
            rows.append(f"<div style='color:#bdbdbd'><i>{html.escape(review.note)}</i></div>")
    rows.append("<table cellspacing='2'>")
    if scores is not None and not scores.empty:
        for field, label in rows_shown:
            value = getattr(scores, field)
            text = f"{100 * value:.0f} %" if field == "brain_fraction" else format_value(value)
            rows.append(f"<tr><td>{label}</td><td align='right'>&nbsp;&nbsp;{text}</td></tr>")
    rows.append("</table>")
    score_t, unc_t = (
        format_value(t) if math.isfinite(t) else strings.NO_THRESHOLD for t in thresholds
    )
    rows.append(
        f"<div style='color:#9e9e9e'>{strings.THRESHOLDS_LINE.format(score=score_t, unc=unc_t)}"
        "</div>"
    )
    return "".join(rows)


class SliceInfo(QLabel):
    """A read-only rich-text label; the window feeds it the current slice."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWordWrap(True)
        self.setMinimumWidth(230)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setText(strings.SLICE_NONE)
        self.rows = score_rows(None)

    def name_rows(self, info: ModelInfo | None) -> None:
        """Label the numbers after the loaded model's method (shown from the next slice on)."""
        self.rows = score_rows(info)

    def show_slice(
        self,
        index: int,
        scores: SliceScores | None,
        decision: Decision | None,
        thresholds: tuple[float, float],
        review: DecisionRecord | None = None,
    ) -> None:
        self.setText(slice_html(index, scores, decision, thresholds, review, self.rows))
