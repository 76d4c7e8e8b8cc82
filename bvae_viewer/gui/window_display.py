"""The review window's display commands: window/level presets, the pixel read-out, keys.

A mixin of MainWindow (kept apart so the window's module holds the analysis flow only); it
reads the window's case, results and ViewState and changes only the ViewState.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

from bvae_viewer.gui import strings

NAV_KEYS = {
    Qt.Key.Key_Up: 1,
    Qt.Key.Key_Right: 1,
    Qt.Key.Key_Down: -1,
    Qt.Key.Key_Left: -1,
    Qt.Key.Key_PageUp: 10,
    Qt.Key.Key_PageDown: -10,
}


class DisplayMixin:
    """Window/level, the most anomalous slice, the crosshair's values, slice keys."""

    def _show_pixel(self, point) -> None:
        if point is None:
            return
        values, titles = self.grid.values_at(*point), self.grid.titles()
        text = ", ".join(f"{titles[k].split(' (')[0]} {v:.3g}" for k, v in values.items())
        self.statusBar().showMessage(
            strings.PIXEL_VALUES.format(row=point[0], col=point[1], values=text)
        )

    def auto_window(self) -> None:
        """Window from the whole volume's brain pixels, so every slice uses the same one."""
        if self.case is None:
            self.state.set_window(0.0, 1.0)
            return
        brain = self.case.stack.images[self.case.stack.masks]
        high = float(np.percentile(brain, 99.5)) if brain.size else 1.0
        self.auto_levels = (0.0, max(high, 0.05))
        self.state.set_window(*self.auto_levels)

    def window_preset_name(self) -> str:
        """The preset the current window/level is, or the word for a hand-set one."""
        low, high = self.state.window
        if self.auto_levels is not None and np.allclose((low, high), self.auto_levels):
            return next(iter(strings.WL_PRESETS))
        for name, levels in strings.WL_PRESETS.items():
            if levels is not None and np.allclose((low, high), levels):
                return name
        return strings.WL_CUSTOM

    def apply_preset(self, name: str) -> None:
        if name not in strings.WL_PRESETS:  # "Custom": whatever the mouse set, kept
            return
        levels = strings.WL_PRESETS[name]
        if levels is None:
            self.auto_window()
        else:
            self.state.set_window(*levels)

    def jump_to_top_score(self) -> None:
        """Go to the analysed slice with the highest anomaly score."""
        best, best_score = None, -np.inf
        for i, r in enumerate(self.results):
            if r is not None and not r.scores.empty and r.scores.anomaly_score > best_score:
                best, best_score = i, r.scores.anomaly_score
        if best is not None:
            self.state.set_slice(best)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in NAV_KEYS:
            self.state.step_slice(NAV_KEYS[key])
        elif key == Qt.Key.Key_Home:
            self.state.set_slice(0)
        elif key == Qt.Key.Key_End:
            self.state.set_slice(self.state.n_slices - 1)
        else:
            super().keyPressEvent(event)
            return
        event.accept()
