"""What the window calls each map, for the model that is loaded.

The names come from the display spec (analysis.display, after analysis.methods: one copy
for the window, the reports and the CLI). An unknown method (a model.json from a newer
release) falls back to the VAE's words rather than breaking the window: loading such a
model is refused elsewhere with a sentence.
"""

from __future__ import annotations

from bvae_viewer.analysis import display
from bvae_viewer.analysis.methods import MethodInfo
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.gui import strings

ERROR_KEY = "error"  # the MapSet field the overlay and the slice's "recon_error" row name


def method_of(info: ModelInfo | None) -> MethodInfo:
    """The method of a model (the Bayesian VAE when none is loaded yet, or unknown)."""
    return display.method_of(info.method if info is not None else None)


def panel_titles(info: ModelInfo | None) -> dict[str, str]:
    """Titles of the six panels, keyed as PanelsGrid's panels."""
    return {p.key: p.title for p in display.panels(method_of(info).key)}


def panel_tips(info: ModelInfo | None) -> dict[str, str]:
    """Tooltips of the six panels, keyed as PanelsGrid's panels."""
    return {p.key: p.tip for p in display.panels(method_of(info).key)}


def overlay_names(info: ModelInfo | None) -> dict[str, str]:
    """The overlay choices (key: label): the error map under its method's name."""
    names = dict(strings.OVERLAYS)
    names[ERROR_KEY] = method_of(info).panel_titles[ERROR_KEY]
    return names


def score_rows(info: ModelInfo | None) -> tuple[tuple[str, str], ...]:
    """The slice's numbers (SliceScores field, label): recon_error is the error map's mean."""
    error = method_of(info).panel_titles[ERROR_KEY]
    return tuple(
        (field, error if field == "recon_error" else label) for field, label in strings.SCORES_ROWS
    )
