"""How a slice's six maps are shown: one spec for the window and the report.

Panels (order, titles after the model's method, colour maps, units), what each panel shows
of a MapSet, and the display levels of the maps: the model's calibrated ones, else the levels
measured on this case, else fixed defaults. The window (gui/panels_grid) draws from it with
pyqtgraph, a report (review/report_images) with matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bvae_viewer.analysis.maps import MapSet, SliceScores
from bvae_viewer.analysis.methods import (
    BVAE,
    PROB_UNET,
    REVERSE_DISTILLATION,
    MethodInfo,
    UnknownMethodError,
    method_info,
)

ORIGINAL_TITLE = "Original (T1ce)"
ORIGINAL_TIP = "The preprocessed slice the model saw. Right-drag or Ctrl+drag: window/level."
# The maps whose levels are measured and calibrated (MapSet fields, and "total").
LEVEL_MAPS = ("aleatoric", "epistemic", "total", "error", "pixel_score")
# Used only where neither model.json nor the case gives a level (an uncalibrated model).
DEFAULT_MAP_LEVELS: dict[str, tuple[float, float]] = {
    "aleatoric": (0.0, 0.01),
    "epistemic": (0.0, 0.002),
    "total": (0.0, 0.01),
    "error": (0.0, 0.05),
    "pixel_score": (0.0, 20.0),
}
IMAGE_LEVELS = (0.0, 1.0)  # the preprocessed input (and a VAE's reconstruction) in [0, 1]
# What the error map measures, for methods whose "error" is not a squared difference.
_ERROR_UNITS = {REVERSE_DISTILLATION: "1 - cosine", PROB_UNET: "probability"}


@dataclass(frozen=True)
class Panel:
    """One of the six panels, for one method."""

    key: str  # MapSet attribute ("total" is its property)
    title: str
    tip: str
    cmap: str  # a matplotlib colour map name ("gray": an image under the window/level)
    unit: str
    levels_key: str = ""  # for a map: whose display levels it uses ("" for an image)

    @property
    def image(self) -> bool:
        """An image (the input, a VAE's reconstruction): shown under the window/level."""
        return not self.levels_key


# Order and colour maps (the window's grid: top row, then bottom row).
_LAYOUT = (
    ("original", "gray", "intensity"),
    ("reconstruction", "gray", "intensity"),
    ("error", "inferno", "squared error"),
    ("aleatoric", "viridis", "uncertainty"),
    ("epistemic", "viridis", "uncertainty"),
    ("total", "viridis", "uncertainty"),
)


def method_of(method: str | None) -> MethodInfo:
    """A method's description; the Bayesian VAE's for None (no model yet) or an unknown key
    (a model.json from a newer release: loading one is refused elsewhere with a sentence)."""
    try:
        return method_info(method if method is not None else BVAE)
    except UnknownMethodError:
        return method_info(BVAE)


def panels(method: str | None) -> tuple[Panel, ...]:
    """The six panels titled after a method. Another method's "reconstruction" is its anomaly
    or probability map: shown like the error map (its colours and levels), not in grey."""
    info = method_of(method)
    titles = {"original": ORIGINAL_TITLE, **info.panel_titles}
    tips = {"original": ORIGINAL_TIP, **info.panel_tips}
    image_like = info.key == BVAE
    error_unit = _ERROR_UNITS.get(info.key, "score") if not image_like else "squared error"
    out = []
    for key, cmap, unit in _LAYOUT:
        levels_key = "" if cmap == "gray" else key
        if key == "reconstruction" and not image_like:
            cmap, unit, levels_key = "inferno", error_unit, "error"
        if key == "error":
            unit = error_unit
        out.append(Panel(key, titles[key], tips[key], cmap, unit, levels_key))
    return tuple(out)


PANELS = panels(BVAE)


def panel_image(maps: MapSet, panel: Panel) -> np.ndarray:
    """What a panel shows of a slice's maps: the model's maps on the brain only.

    They mean nothing off the brain (scores are brain means), and the variance head's noise
    there would draw the eye away from the brain. Images are shown whole.
    """
    image = getattr(maps, panel.key)
    if panel.image:
        return image
    return np.where(maps.brain_mask, image, 0.0).astype(np.float32)


def _valid(value: object) -> tuple[float, float] | None:
    try:
        low, high = float(value[0]), float(value[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        return None
    return (low, high) if np.isfinite(low) and np.isfinite(high) and high > low else None


def map_levels(
    calibrated: Mapping[str, object], measured: Mapping[str, float] | None = None
) -> dict[str, tuple[float, float]]:
    """Display levels per map: the model's calibrated ones, else this case's 99.5th
    percentile over brain pixels (measured), else the defaults; broken values are skipped."""
    levels = dict(DEFAULT_MAP_LEVELS)
    for name, high in (measured or {}).items():
        if (valid := _valid((0.0, high))) is not None:
            levels[name] = valid
    for name, value in calibrated.items():
        if (valid := _valid(value)) is not None:
            levels[name] = valid
    return levels


def panel_levels(panel: Panel, levels: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    """A map panel's fixed levels (an image's are the window/level, or IMAGE_LEVELS)."""
    if panel.image:
        return IMAGE_LEVELS
    return levels.get(panel.levels_key, DEFAULT_MAP_LEVELS.get(panel.levels_key, IMAGE_LEVELS))


class LevelSampler:
    """The 99.5th percentile over brain pixels of each map, measured as slices stream in.

    A thinned sample (every 7th brain pixel) keeps the percentile honest without holding
    every pixel of the volume.
    """

    def __init__(self) -> None:
        self._samples: dict[str, list[np.ndarray]] = {name: [] for name in LEVEL_MAPS}

    def add(self, maps: MapSet, scores: SliceScores) -> None:
        if scores.empty:
            return
        for name, values in self._samples.items():
            values.append(getattr(maps, name)[maps.brain_mask][::7])

    def levels(self) -> dict[str, float]:
        return {
            name: float(np.percentile(np.concatenate(v), 99.5)) if v else 1.0
            for name, v in self._samples.items()
        }
