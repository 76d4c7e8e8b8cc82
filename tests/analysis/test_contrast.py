"""The input's contrast from its header words and from its image (analysis.contrast)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bvae_viewer.analysis.contrast import check_contrast, contrast_from_text, tissue_order
from bvae_viewer.data.preprocess import SliceStack, preprocess_volume
from bvae_viewer.io.volume import Volume, VolumeMetadata
from tests.volumes import brain_phantom


@pytest.mark.parametrize(
    ("text", "agent", "name"),
    [
        ("AX T1 POST GAD", "", "T1ce"),
        ("t1_mprage_sag", "GADOVIST", "T1ce"),
        ("T1+C AXIAL", "", "T1ce"),
        ("BraTS20_Training_001_t1ce.nii.gz", "", "T1ce"),
        ("AX T1 PRE", "", "T1"),
        ("AX T1 SE", "", "T1"),
        ("AX T1 FLAIR POST", "", "T1ce"),  # T1-FLAIR is T1-weighted
        ("AX T2 FLAIR", "", "FLAIR"),
        ("BraTS20_Training_001_flair.nii.gz", "", "FLAIR"),
        ("t2_tse_tra", "", "T2"),
        ("AX T2* GRE", "", "T2*"),
        ("ep2d_diff_b1000_TRACE", "", "DWI"),
        ("DWI ADC", "", "ADC"),
        ("SWI_Images", "", "SWI"),
        ("scan_0042.nii.gz", "", ""),
        ("", "", ""),
    ],
)
def test_the_header_words_name_the_contrast(text, agent, name):
    assert contrast_from_text(text, agent) == name


def _stack(t2_like: bool = False) -> SliceStack:
    """The test phantom (WM 900, GM rim 600, ventricles 150: T1 order) or the same head at
    T2 levels (fluid brightest, white matter darkest)."""
    image, _ = brain_phantom(shape=(64, 72, 40))
    if t2_like:
        image = np.where(image > 0, 1000.0 - 0.5 * image, 0.0).astype(np.float32)
    volume = Volume(image, (1.0, 1.0, 1.0), np.eye(4), VolumeMetadata("nifti"), None)
    return preprocess_volume(volume)


def test_the_image_tells_t1_order_from_bright_fluid():
    t1 = tissue_order(_stack())
    t2 = tissue_order(_stack(t2_like=True))
    assert t1 is not None and t2 is not None
    assert t1.t1_like and not t1.fluid_bright and t1.ratio > 1.3
    assert t2.fluid_bright and not t2.t1_like and t2.ratio < 0.9
    # No brain, no verdict.
    empty = _stack()
    empty = replace(empty, masks=np.zeros_like(empty.masks),
                    brain_fraction=np.zeros_like(empty.brain_fraction))
    assert tissue_order(empty) is None


def test_a_warning_when_header_or_image_say_it_is_not_t1_post_contrast():
    t1, t2 = _stack(), _stack(t2_like=True)
    post = VolumeMetadata("dicom", series_description="AX T1 POST")
    ok = check_contrast(post, "IM0001.dcm", t1)
    assert (ok.name, ok.label, ok.source, ok.warning) == ("T1ce", "T1ce", "series description", "")

    flair = check_contrast(replace(post, series_description="AX T2 FLAIR"), "", t1)
    assert flair.label == "FLAIR" and "FLAIR" in flair.warning
    assert "T1 post-contrast" in flair.warning

    pre = check_contrast(replace(post, series_description="AX T1 PRE"), "", t1)
    assert pre.name == "T1" and "before contrast" in pre.warning

    # The sequence name speaks when the description is silent; the agent makes it post.
    seq = replace(post, series_description="Series 7", sequence="t1_mprage", contrast_agent="GD")
    assert check_contrast(seq, "", t1).name == "T1ce"

    # Nothing in the header or name: the image check alone warns on bright fluid.
    silent = VolumeMetadata("nifti")
    unknown_t2 = check_contrast(silent, "scan.nii.gz", t2)
    assert unknown_t2.label == "input" and "does not look like T1" in unknown_t2.warning
    assert check_contrast(silent, "scan.nii.gz", t1).warning == ""
