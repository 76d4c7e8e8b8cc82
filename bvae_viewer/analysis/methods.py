"""The model families the app can run, and what each one's six maps are called.

A model folder's model.json names its method; everything downstream (the engine's maps,
the window's panel titles, reports) reads the names from here, so a clinician is never
shown "Reconstruction" over a feature-space anomaly map.
"""

from __future__ import annotations

from dataclasses import dataclass

BVAE = "bvae"
REVERSE_DISTILLATION = "reverse_distillation"
PROB_UNET = "prob_unet"


@dataclass(frozen=True)
class MethodInfo:
    """How one method fills a MapSet, in a reader's words."""

    key: str
    display_name: str
    # Titles of the panels, keyed by MapSet field (or "total"), as gui.strings.PANEL_TITLES.
    panel_titles: dict[str, str]
    panel_tips: dict[str, str]


METHODS: dict[str, MethodInfo] = {
    BVAE: MethodInfo(
        BVAE,
        "Bayesian VAE",
        {
            "reconstruction": "Reconstruction",
            "aleatoric": "Aleatoric uncertainty",
            "epistemic": "Epistemic uncertainty",
            "total": "Total uncertainty",
            "error": "Reconstruction error",
        },
        {
            "reconstruction": "The model's mean reconstruction of this slice.",
            "aleatoric": "Noise the model expects in the image itself (data uncertainty).",
            "epistemic": "How much the model disagrees with itself (model uncertainty).",
            "total": "Aleatoric plus epistemic uncertainty.",
            "error": "Squared difference between original and reconstruction.",
        },
    ),
    REVERSE_DISTILLATION: MethodInfo(
        REVERSE_DISTILLATION,
        "Reverse Distillation",
        {
            "reconstruction": "Anomaly map",
            "aleatoric": "Augmentation uncertainty",
            "epistemic": "Dropout uncertainty",
            "total": "Total uncertainty",
            "error": "Anomaly map",
        },
        {
            "reconstruction": "1 - cosine similarity of teacher and student features, "
            "averaged over scales (there is no image reconstruction).",
            "aleatoric": "Spread of the anomaly map over flipped and shifted copies "
            "of the slice (test-time augmentation).",
            "epistemic": "Spread of the anomaly map over dropout samples at the bottleneck.",
            "total": "Augmentation plus dropout uncertainty.",
            "error": "1 - cosine similarity of teacher and student features.",
        },
    ),
    PROB_UNET: MethodInfo(
        PROB_UNET,
        "Probabilistic U-Net",
        {
            "reconstruction": "Tumour probability",
            "aleatoric": "Sample variance",
            "epistemic": "Epistemic (none)",
            "total": "Total uncertainty",
            "error": "Tumour probability",
        },
        {
            "reconstruction": "Mean over the samples of the predicted tumour probability "
            "(a segmentation, not a reconstruction).",
            "aleatoric": "Variance of the predicted tumour probability across latent samples.",
            "epistemic": "This model has no weight uncertainty: always zero.",
            "total": "Equal to the sample variance.",
            "error": "Mean predicted tumour probability; the slice score is its brain mean "
            "(the predicted tumour area).",
        },
    ),
}


class UnknownMethodError(ValueError):
    """model.json names a method this version cannot run."""


def method_info(key: str) -> MethodInfo:
    """The description of a method; UnknownMethodError (one sentence) for an unknown key."""
    try:
        return METHODS[key]
    except KeyError:
        raise UnknownMethodError(
            f"The model's method '{key}' is not one this version can run "
            f"({', '.join(METHODS)})."
        ) from None
