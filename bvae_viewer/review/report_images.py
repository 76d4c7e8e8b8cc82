"""The pictures of a report as PNG bytes: map thumbnails, colour bars, the slice profile."""

from __future__ import annotations

import base64
import io
import math

import matplotlib.image as mpimg
import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from scipy import ndimage

from bvae_viewer.analysis.display import Panel
from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.review.report_data import ReportData, reported_slices

FLAGGED_COLOUR = "#b03a2e"
REVIEW_COLOUR = "#b9770e"
OUTLINE_RGB = (1.0, 0.15, 0.1)
KEY_UPSCALE = 4  # grid pixels to image pixels: an outline thinner than a grid pixel


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def map_png(maps: MapSet, panel: Panel, levels: tuple[float, float], radiological: bool) -> bytes:
    """One map as a colour-mapped PNG at the model's resolution.

    The model's maps are shown inside the brain mask only (black outside): the scores are
    computed there, and the background of an image is not what the reader is asked about.
    """
    image = np.nan_to_num(np.asarray(getattr(maps, panel.key), dtype=np.float32))
    lo, hi = levels
    rgba = colormaps[panel.cmap](np.clip((image - lo) / (hi - lo), 0.0, 1.0))
    if not panel.image:
        rgba[~np.asarray(maps.brain_mask, dtype=bool)] = (0.0, 0.0, 0.0, 1.0)
    if radiological:
        rgba = rgba[:, ::-1]  # column 0 is the patient's left
    buf = io.BytesIO()
    mpimg.imsave(buf, np.ascontiguousarray(rgba), format="png")
    return buf.getvalue()


def key_image_png(image: np.ndarray, region: np.ndarray, radiological: bool) -> bytes:
    """A finding's key image: the slice in grey, the region's outline in red, flipped to the
    report's view (the arrays are neurological: column 0 is the patient's left)."""
    grey = np.clip(np.nan_to_num(np.asarray(image, dtype=np.float32)), 0.0, 1.0)
    grey = np.kron(grey, np.ones((KEY_UPSCALE, KEY_UPSCALE), dtype=np.float32))
    inside = np.kron(np.asarray(region, dtype=bool), np.ones((KEY_UPSCALE,) * 2, dtype=bool))
    outline = inside & ~ndimage.binary_erosion(inside, iterations=2)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    rgb[outline] = OUTLINE_RGB
    if radiological:
        rgb = rgb[:, ::-1]
    buf = io.BytesIO()
    mpimg.imsave(buf, np.ascontiguousarray(rgb), format="png")
    return buf.getvalue()


def colourbar_png(cmap: str, width: int = 256, height: int = 10) -> bytes:
    ramp = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))
    buf = io.BytesIO()
    mpimg.imsave(buf, ramp, cmap=cmap, vmin=0.0, vmax=1.0, format="png")
    return buf.getvalue()


def _threshold_line(ax, value: float, top: float, colour: str, label: str, x: float) -> float:
    """Draw a threshold; one far above the data is named instead (at x, in axes units), so
    the data stays legible."""
    if math.isfinite(value) and value <= 3 * top:
        ax.axhline(value, color=colour, linestyle="--", linewidth=0.9)
        return max(top, value)
    if math.isfinite(value):
        ax.text(
            x,
            1.02,
            f"{label} threshold {value:.3g}, above the plot",
            transform=ax.transAxes,
            ha="left" if x < 0.5 else "right",
            va="bottom",
            fontsize=6.5,
            color=colour,
        )
    return top


def profile_png(data: ReportData, width_in: float = 7.1, height_in: float = 2.1) -> bytes:
    """Anomaly score and total uncertainty along the axial slices, thresholds dashed, flagged
    and uncertain slices shaded, reported ones ticked."""
    res = data.result
    index = np.array([s.slice_index for s in res.scores])
    score = np.array([s.anomaly_score for s in res.scores], dtype=float)
    unc = np.array([s.unc_total for s in res.scores], dtype=float)
    fig = Figure(figsize=(width_in, height_in), dpi=150)
    ax = fig.add_axes((0.075, 0.2, 0.845, 0.7))
    ax2 = ax.twinx()
    for d, colour in ((Decision.FLAGGED, FLAGGED_COLOUR), (Decision.REVIEW, REVIEW_COLOUR)):
        own = [res.policy.decide_slice(s) == d for s in res.scores]
        for i in index[np.array(own, dtype=bool)]:
            ax.axvspan(i - 0.5, i + 0.5, color=colour, alpha=0.18, linewidth=0)
    ax.plot(index, score, color="#1f3a93", linewidth=1.1, label="anomaly score")
    ax2.plot(index, unc, color="#117a65", linewidth=1.0, label="total uncertainty")
    top = float(np.nanmax(score)) if np.isfinite(score).any() else 1.0
    top2 = float(np.nanmax(unc)) if np.isfinite(unc).any() else 1.0
    top = _threshold_line(ax, res.policy.score_threshold, top, "#1f3a93", "score", 0.0)
    top2 = _threshold_line(
        ax2, res.policy.uncertainty_threshold, top2, "#117a65", "uncertainty", 1.0
    )
    ax.set_ylim(0, top * 1.1 or 1.0)
    ax2.set_ylim(0, top2 * 1.1 or 1.0)
    reported = reported_slices(data)
    ax.plot(reported, [0] * len(reported), "|", color="black", markersize=6, clip_on=False)
    ax.set_xlim(index.min() - 0.5 if index.size else 0, index.max() + 0.5 if index.size else 1)
    numbers = data.numbers()
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{numbers.number(round(x))}"))
    ax.set_xlabel("input slice (inferior → superior)", fontsize=7)
    ax.set_ylabel("anomaly score", fontsize=7, color="#1f3a93")
    ax2.set_ylabel("total uncertainty", fontsize=7, color="#117a65")
    for a in (ax, ax2):
        a.tick_params(labelsize=6.5)
        a.spines["top"].set_visible(False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    return buf.getvalue()
