"""The clinical front end in the window: the brain mask's outline on the original panel
(a toggle in the View menu) and the preprocessing steps with their timings in Slice details.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg

from bvae_viewer.data.frontend import PreparedInput

OUTLINE_PEN = pg.mkPen("#00e5ff", width=1.5)
NOTE_COLOUR = "#ffb74d"


def frontend_html(prepared: PreparedInput | None) -> str:
    """Slice details' lines about the front end: what ran, how long, and any warning."""
    if prepared is None:
        return ""
    rows = ["<div style='margin-top:6px'><b>Preprocessing</b></div>",
            f"<div style='color:#9e9e9e'>Acquired slice thickness {prepared.slice_mm:.1f} mm"
            "</div>"]
    # Warnings before the steps: the dock is short, and these matter more than timings.
    for text in (*prepared.notes, prepared.review_reason or ""):
        if text:
            rows.append(f"<div style='color:{NOTE_COLOUR}'>{html.escape(text)}</div>")
    if prepared.ran:
        rows.append("<table cellspacing='1'>")
        for step in prepared.steps:
            detail = f" <span style='color:#9e9e9e'>{html.escape(step.detail)}</span>"
            rows.append(
                f"<tr><td>{html.escape(step.name)}{detail if step.detail else ''}</td>"
                f"<td align='right'>&nbsp;{step.seconds:.1f} s</td></tr>"
            )
        rows.append(f"<tr><td><b>total</b></td><td align='right'>&nbsp;"
                    f"{prepared.seconds:.1f} s</td></tr></table>")
    else:
        step = prepared.steps[0] if prepared.steps else None
        reason = f": {html.escape(step.detail)}" if step is not None and step.detail else ""
        rows.append(f"<div style='color:#9e9e9e'>none{reason}</div>")
    return "".join(rows)


class MaskOutline:
    """The brain mask's outline over the original panel's image; it observes the document
    and ViewState, and View > Brain mask outline (actions.VIEW) shows or hides it."""

    def __init__(self, panel, doc, state) -> None:
        self.doc = doc
        # Row-major like the panel's image, whatever pyqtgraph's global option says.
        self.curve = pg.IsocurveItem(level=0.5, pen=OUTLINE_PEN, axisOrder="row-major")
        # A child of the image: it follows zoom, pan and the radiological flip.
        self.curve.setParentItem(panel.image_item)
        self.curve.setZValue(6)
        state.slice_changed.connect(self.show)
        doc.case_loaded.connect(lambda case: self.show(case.start))

    def show(self, index: int) -> None:
        """The outline of the brain mask of slice index of the case on screen."""
        case = self.doc.case
        if case is None or not 0 <= index < len(case.stack):
            self.curve.setData(None)
            return
        mask = case.stack.masks[index]
        self.curve.setData(mask.astype(np.float32) if mask.any() else None)

    def set_visible(self, visible: bool) -> None:
        self.curve.setVisible(bool(visible))

    @property
    def visible(self) -> bool:
        return self.curve.isVisible()
