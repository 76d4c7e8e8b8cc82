"""The cursor's readout: the input's own slice number, the scanner position in mm (R/L, A/P,
S/I), the intensity and every map's value there, and the ruler's length.

A strip of its own under the views (not the status bar, where other messages cut it off);
it wraps rather than cuts when the window is narrow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy

from bvae_viewer.analysis.display import Panel, panel_image
from bvae_viewer.analysis.maps import SliceResult
from bvae_viewer.gui import strings
from bvae_viewer.gui.patient_header import KEY_COLOUR, item_html
from bvae_viewer.gui.planes import point_mm, ras_text
from bvae_viewer.gui.slice_info import format_value
from bvae_viewer.pipeline.case import LoadedCase

SEPARATOR = "&nbsp;&nbsp; "  # items wrap between each other


def readout_items(
    case: LoadedCase,
    results: Sequence[SliceResult | None],
    spec: Sequence[Panel],
    titles: Mapping[str, str],
    cursor: tuple[int, int, int],
) -> list[tuple[str, str]]:
    """(label, value) pairs at the cursor (position, row, col) of the case's stack."""
    position, row, col = cursor
    geometry = case.geometry
    count = geometry.input_shape[2]  # counted from 1, as the slider and the findings count
    stack = case.stack
    value = float(stack.images[position, row, col])
    items = [
        (strings.READOUT_INPUT_SLICE, f"{geometry.input_slice(position) + 1} / {count}"),
        (strings.READOUT_POSITION, "  ".join(ras_text(point_mm(geometry, cursor))) + " mm"),
        (strings.READOUT_INTENSITY,
         strings.READOUT_INTENSITY_VALUE.format(value=value, raw=value * stack.intensity_scale)),
    ]
    result = results[position] if 0 <= position < len(results) else None
    for panel in spec[1:]:
        shown = "-" if result is None else format_value(
            float(panel_image(result.maps, panel)[row, col])
        )
        items.append((titles.get(panel.key, panel.title), shown))
    return items


def readout_html(items: Sequence[tuple[str, str]], ruler: str = "") -> str:
    parts = [item_html(label, value) for label, value in items]
    if not items:
        parts.append(f"<span style='color:{KEY_COLOUR}'>{strings.READOUT_NONE}</span>")
    if ruler:
        parts.append(item_html(strings.READOUT_RULER, ruler))
    return SEPARATOR.join(parts)


class Readout(QLabel):
    """What lies under the 3D cursor, always readable whole (it wraps)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("cursor_readout")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.items: list[tuple[str, str]] = []
        self.ruler = ""
        self.show_items([], "")

    def show_items(self, items: list[tuple[str, str]], ruler: str) -> None:
        self.items, self.ruler = list(items), ruler
        self.setText(readout_html(self.items, ruler))

    def value(self, label: str) -> str:
        """The value shown under a label (for tests)."""
        return dict(self.items).get(label, "")
