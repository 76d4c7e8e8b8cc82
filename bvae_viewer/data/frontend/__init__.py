"""Clinical preprocessing front end: scans as acquired -> the model's space, and back.

One entry: ``prepare_input(volume, mode) -> PreparedInput`` (see prepare.py).
"""

from bvae_viewer.data.frontend.prepare import prepare_input, set_default_mode, thick_slice_note
from bvae_viewer.data.frontend.record import (
    FrontendTransform,
    PreparedInput,
    PreprocessMode,
    StepRecord,
)
from bvae_viewer.data.frontend.template import TemplateMissingError

__all__ = [
    "FrontendTransform",
    "PreparedInput",
    "PreprocessMode",
    "StepRecord",
    "TemplateMissingError",
    "prepare_input",
    "set_default_mode",
    "thick_slice_note",
]
