"""The six linked panels in a 2x3 grid, and which map each one shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from PySide6.QtWidgets import QGridLayout, QWidget

from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.analysis.methods import BVAE
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.gui.map_names import method_of, panel_tips, panel_titles
from bvae_viewer.gui.map_panel import MapPanel
from bvae_viewer.gui.view_state import ViewState


@dataclass(frozen=True)
class PanelSpec:
    key: str  # MapSet attribute ("total" is its property)
    colormap: str
    follows_window: bool  # True: the image window/level; False: fixed calibrated levels


PANELS = (
    PanelSpec("original", "CET-L1", True),
    PanelSpec("reconstruction", "CET-L1", True),
    PanelSpec("error", "inferno", False),
    PanelSpec("aleatoric", "viridis", False),
    PanelSpec("epistemic", "viridis", False),
    PanelSpec("total", "viridis", False),
)
# Used only where model.json carries no level for a map (e.g. an uncalibrated model).
DEFAULT_MAP_LEVELS: dict[str, tuple[float, float]] = {
    "aleatoric": (0.0, 0.01),
    "epistemic": (0.0, 0.002),
    "total": (0.0, 0.01),
    "error": (0.0, 0.05),
    "pixel_score": (0.0, 20.0),
}


def map_levels(calibrated: Mapping[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Calibrated display levels per map, with defaults for any that are missing or broken."""
    levels = dict(DEFAULT_MAP_LEVELS)
    for name, value in calibrated.items():
        try:
            low, high = float(value[0]), float(value[1])
        except (TypeError, ValueError, IndexError):
            continue
        if np.isfinite(low) and np.isfinite(high) and high > low:
            levels[name] = (low, high)
    return levels


def panel_image(maps: MapSet, key: str, image_like: bool = True) -> np.ndarray:
    """What panel ``key`` shows of a slice's maps: the model's maps on the brain only.

    They mean nothing off the brain (scores are brain means), and the variance head's
    noise there would draw the eye away from the brain. ``image_like``: the reconstruction
    panel holds an image (the VAE's), not another method's map.
    """
    image = getattr(maps, key)
    if key == "original" or (key == "reconstruction" and image_like):
        return image
    return np.where(maps.brain_mask, image, 0.0).astype(np.float32)


class PanelsGrid(QWidget):
    """Original, reconstruction, error on top; aleatoric, epistemic, total below."""

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.levels = map_levels({})
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        self.panels: dict[str, MapPanel] = {}
        for i, spec in enumerate(PANELS):
            levels = state.window if spec.follows_window else self.levels[spec.key]
            panel = MapPanel(spec.key, state, spec.colormap, levels, spec.follows_window)
            layout.addWidget(panel, i // 3, i % 3)
            self.panels[spec.key] = panel
        self.panels["original"].enable_overlay()
        self.image_like = True  # the reconstruction panel shows an image (the VAE's)
        self.name_panels(None)
        state.overlay_changed.connect(lambda *_: self._refresh_overlay())
        self._maps: MapSet | None = None

    def name_panels(self, info: ModelInfo | None) -> None:
        """Titles and tooltips after the method of the loaded model (None: not loaded yet)."""
        titles, tips = panel_titles(info), panel_tips(info)
        for key, panel in self.panels.items():
            panel.set_title(titles[key], tips[key])
        # Another method's "reconstruction" is its anomaly or probability map: shown like
        # the error map (its colours and levels), not in grey under the image window.
        self.image_like = method_of(info).key == BVAE  # unknown methods: the VAE's, as titles
        self._reconstruction_mode()

    def _reconstruction_mode(self) -> None:
        recon = PANELS[1]
        colormap = recon.colormap if self.image_like else PANELS[2].colormap
        self.panels[recon.key].set_follows_window(
            self.image_like, colormap, self.levels["error"]
        )

    def titles(self) -> dict[str, str]:
        """The panels' titles as shown, keyed as self.panels."""
        return {key: panel.title for key, panel in self.panels.items()}

    def set_map_levels(self, calibrated: Mapping[str, tuple[float, float]]) -> None:
        """Fixed levels from the model's calibration, so two slices look comparable."""
        self.levels = map_levels(calibrated)
        for spec in PANELS:
            if not spec.follows_window:
                self.panels[spec.key].set_levels(self.levels[spec.key])
        self._reconstruction_mode()

    def show_slice(self, original: np.ndarray | None, maps: MapSet | None) -> None:
        """The input image always; the model's maps once this slice has been analysed."""
        self._maps = maps
        if maps is None:
            self.panels["original"].set_image(original)
            for spec in PANELS[1:]:
                self.panels[spec.key].set_image(None)
        else:
            for spec in PANELS:
                self.panels[spec.key].set_image(panel_image(maps, spec.key, self.image_like))
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
