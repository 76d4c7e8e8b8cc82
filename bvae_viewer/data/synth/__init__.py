"""Synthetic BraTS-like T1ce data from the MNI152 template (needs the optional nilearn)."""

from bvae_viewer.data.synth.anatomy import SynthError
from bvae_viewer.data.synth.dataset import (
    GENERATOR_VERSION,
    MANIFEST_NAME,
    make_demo_case,
    synthesize,
)

__all__ = ["GENERATOR_VERSION", "MANIFEST_NAME", "SynthError", "make_demo_case", "synthesize"]
