"""The six linked panels in a 2x3 grid, drawn from the display spec (analysis.display)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtWidgets import QGridLayout, QWidget

from bvae_viewer.analysis.display import Panel, map_levels, panel_image, panel_levels, panels
from bvae_viewer.analysis.geometry import SliceGeometry
from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.gui import strings
from bvae_viewer.gui.map_panel import MapPanel
from bvae_viewer.gui.planes import Plane
from bvae_viewer.gui.view_state import ViewState

# The window's colour map for images (the spec's "gray"): pyqtgraph's perceptual grey.
IMAGE_COLORMAP = "CET-L1"


def colormap(panel: Panel) -> str:
    """The pyqtgraph colour map of a panel."""
    return IMAGE_COLORMAP if panel.cmap == "gray" else panel.cmap


class PanelsGrid(QWidget):
    """Original, reconstruction, error on top; aleatoric, epistemic, total below."""

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.levels = map_levels({})
        self.spec = panels(None)  # the VAE's until a model is loaded
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self.panels: dict[str, MapPanel] = {}
        for i, p in enumerate(self.spec):
            levels = state.window if p.image else panel_levels(p, self.levels)
            panel = MapPanel(p.key, state, colormap(p), levels, p.image)
            layout.addWidget(panel, i // 3, i % 3)
            self.panels[p.key] = panel
        self.panels["original"].enable_overlay()
        self.input_contrast: str | None = None  # the open case's, else the spec's title
        self.name_panels(None)
        state.overlay_changed.connect(lambda *_: self._refresh_overlay())
        self._maps: MapSet | None = None

    def name_panels(self, method: str | None) -> None:
        """Titles, tooltips, colours and levels after the method of the loaded model (None:
        not loaded yet)."""
        self.spec = panels(method)
        for p in self.spec:
            self.panels[p.key].set_title(p.title, p.tip)
        self.set_input_contrast(self.input_contrast)
        self._apply_modes()

    def set_input_contrast(self, contrast: str | None) -> None:
        """Name the Original panel after the open input's contrast ("FLAIR", "input"...),
        not the model's training contrast (None: no case, the spec's title)."""
        self.input_contrast = contrast
        spec = next(p for p in self.spec if p.key == "original")
        title = spec.title
        if contrast is not None:
            title = strings.ORIGINAL_CONTRAST_TITLE.format(contrast=contrast)
        self.panels["original"].set_title(title, spec.tip)

    def set_geometry(self, plane: Plane | None, geometry: SliceGeometry | None) -> None:
        """The open case's axial plane and mm geometry, for the panels' rulers."""
        for panel in self.panels.values():
            panel.ruler.set_plane(plane, geometry)

    def _apply_modes(self) -> None:
        for p in self.spec:
            panel = self.panels[p.key]
            if p.image != panel.follows_window or not p.image:
                panel.set_follows_window(p.image, colormap(p), panel_levels(p, self.levels))

    def titles(self) -> dict[str, str]:
        """The panels' titles as shown, keyed as self.panels."""
        return {key: panel.title for key, panel in self.panels.items()}

    def set_map_levels(self, calibrated: Mapping[str, tuple[float, float]]) -> None:
        """Fixed levels from the model's calibration, so two slices look comparable."""
        self.levels = map_levels(calibrated)
        self._apply_modes()

    def show_slice(self, original: np.ndarray | None, maps: MapSet | None) -> None:
        """The input image always; the model's maps once this slice has been analysed."""
        self._maps = maps
        if maps is None:
            self.panels["original"].set_image(original)
            for p in self.spec[1:]:
                self.panels[p.key].set_image(None)
        else:
            for p in self.spec:
                self.panels[p.key].set_image(panel_image(maps, p))
        self._refresh_overlay()

    def _refresh_overlay(self) -> None:
        kind, opacity = self.state.overlay, self.state.overlay_opacity
        image = None
        if kind != "none" and self._maps is not None:
            # Only on the brain: the scores are brain means, and colour over the background
            # (where an error means nothing) would hide the image it is meant to annotate.
            image = np.where(self._maps.brain_mask, getattr(self._maps, kind), 0.0)
        levels = self.levels.get(kind, (0.0, 1.0))
        self.panels["original"].set_overlay(image, levels, opacity)

    def values_at(self, row: int, col: int) -> dict[str, float]:
        """Each panel's value at one pixel (for the read-out in the status bar)."""
        values = {}
        for key, panel in self.panels.items():
            image = panel.shown()
            if image is not None and 0 <= row < image.shape[0] and 0 <= col < image.shape[1]:
                values[key] = float(image[row, col])
        return values
