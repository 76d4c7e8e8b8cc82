"""NIfTI loading: orientation to RAS+, nibabel's own test files, and every damaged variant."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from nibabel.testing import data_path

from bvae_viewer.io import (
    CorruptVolumeError,
    GeometryError,
    NonFiniteVoxelsError,
    NotThreeDimensionalError,
    TruncatedVolumeError,
    VolumeSizeError,
    load_volume,
)
from tests.io.helpers import index_of

NIBABEL_DATA = Path(data_path)


def _save(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def _rotation(z_deg: float, x_deg: float) -> np.ndarray:
    cz, sz = np.cos(np.radians(z_deg)), np.sin(np.radians(z_deg))
    cx, sx = np.cos(np.radians(x_deg)), np.sin(np.radians(x_deg))
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    return rz @ rx


def _marked(shape=(20, 18, 16), marker=(3, 11, 5)) -> np.ndarray:
    data = np.zeros(shape, dtype=np.float32)
    data[marker] = 1000.0
    return data


@pytest.mark.parametrize(
    ("linear", "code"),
    [
        (np.diag([-2.0, 1.5, 3.0]), "LAS"),  # the radiological storage of many scanners
        (np.array([[0, 0, -2.0], [-1.5, 0, 0], [0, 3.0, 0]]), "PSL"),  # sagittal, permuted
        (_rotation(20, 12) @ np.diag([-2.0, 1.5, 3.0]), "LAS"),  # oblique
    ],
)
def test_marker_lands_where_the_ras_affine_says(tmp_path, linear, code):
    marker = (3, 11, 5)
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = [40.0, -25.0, 12.0]
    path = _save(tmp_path / "scan.nii.gz", _marked(marker=marker), affine)
    world = (affine @ np.array([*marker, 1.0]))[:3]

    volume = load_volume(path)

    assert volume.metadata.original_orientation == code
    assert nib.aff2axcodes(volume.affine) == ("R", "A", "S")
    assert volume.data[index_of(volume.affine, world)] == 1000.0
    assert volume.data.sum() == 1000.0
    assert volume.data.dtype == np.float32 and volume.data.flags.c_contiguous
    np.testing.assert_allclose(sorted(volume.spacing), [1.5, 2.0, 3.0])


def test_matches_nibabel_canonical_on_bundled_files():
    for name in ("anatomical.nii", "reoriented_anat_moved.nii"):
        path = NIBABEL_DATA / name
        canonical = nib.as_closest_canonical(nib.load(path))
        volume = load_volume(path)
        np.testing.assert_allclose(volume.data, canonical.get_fdata())
        np.testing.assert_allclose(volume.affine, canonical.affine)
        assert volume.metadata.format == "nifti"
        assert volume.metadata.original_shape == nib.load(path).shape
        assert volume.identity.is_empty()


def test_bundled_four_d_and_tiny_files_are_refused():
    with pytest.raises(NotThreeDimensionalError, match="2 volumes"):
        load_volume(NIBABEL_DATA / "example4d.nii.gz")
    with pytest.raises(NotThreeDimensionalError, match="20 volumes"):
        load_volume(NIBABEL_DATA / "functional.nii")
    with pytest.raises(VolumeSizeError, match="4 x 5 x 7"):
        load_volume(NIBABEL_DATA / "standard.nii.gz")


def test_nifti2_and_scaled_integers(tmp_path):
    data = np.arange(10 * 11 * 12, dtype=np.int16).reshape(10, 11, 12)
    image = nib.Nifti2Image(data, np.eye(4))
    image.header.set_slope_inter(0.5, 10.0)
    nib.save(image, str(tmp_path / "scan2.nii"))
    volume = load_volume(tmp_path / "scan2.nii")
    np.testing.assert_allclose(volume.data, data * 0.5 + 10.0)


def test_single_volume_4d_is_squeezed(tmp_path):
    data = _marked()[..., None]
    volume = load_volume(_save(tmp_path / "one.nii.gz", data, np.eye(4)))
    assert volume.shape == (20, 18, 16)
    assert volume.metadata.original_shape == (20, 18, 16, 1)
    assert any("single volume" in note for note in volume.metadata.notes)


def test_two_d_is_refused(tmp_path):
    path = _save(tmp_path / "slice.nii", np.ones((64, 64, 1), np.float32), np.eye(4))
    with pytest.raises(NotThreeDimensionalError, match="single 2D image"):
        load_volume(path)


@pytest.mark.parametrize("shape", [(4000, 10, 10), (1024, 1024, 512), (64, 64, 3)])
def test_absurd_sizes_are_refused_from_the_header(tmp_path, shape):
    # Only the header is written: the size check must come before any allocation.
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(np.float32)
    path = tmp_path / "huge.nii.gz"
    path.write_bytes(gzip.compress(header.binaryblock + b"\0" * 4))
    with pytest.raises(VolumeSizeError, match=r"\d+ x \d+ x \d+ voxels") as error:
        load_volume(path)
    assert "huge.nii.gz" in str(error.value)


def test_truncated_nii(tmp_path):
    path = _save(tmp_path / "cut.nii", _marked(), np.eye(4))
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(TruncatedVolumeError, match="incomplete"):
        load_volume(path)


def test_truncated_header(tmp_path):
    path = _save(tmp_path / "cut.nii", _marked(), np.eye(4))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(TruncatedVolumeError, match="header"):
        load_volume(path)


def test_truncated_nii_gz(tmp_path):
    path = _save(tmp_path / "cut.nii.gz", np.random.default_rng(0).random((20, 18, 16)), np.eye(4))
    path.write_bytes(path.read_bytes()[:-300])
    with pytest.raises(TruncatedVolumeError, match="ends early"):
        load_volume(path)


def test_gzip_member_shorter_than_header_promises(tmp_path):
    # A complete, valid gzip stream whose NIfTI inside lacks its last voxels.
    path = _save(tmp_path / "short.nii", _marked(), np.eye(4))
    (tmp_path / "short.nii.gz").write_bytes(gzip.compress(path.read_bytes()[:-400]))
    with pytest.raises(TruncatedVolumeError, match="incomplete"):
        load_volume(tmp_path / "short.nii.gz")


@pytest.mark.parametrize("where", ["data", "crc"])
def test_flipped_byte_in_nii_gz_is_caught(tmp_path, where):
    rng = np.random.default_rng(1)
    path = _save(tmp_path / "flip.nii.gz", rng.random((20, 18, 16)).astype(np.float32), np.eye(4))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2 if where == "data" else -6] ^= 0x04
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptVolumeError, match=r"damaged|ends early"):
        load_volume(path)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_voxels(tmp_path, value):
    data = _marked()
    data[1, 2, 3] = value
    data[4, 5, 6] = value
    with pytest.raises(NonFiniteVoxelsError, match="2 voxel"):
        load_volume(_save(tmp_path / "nan.nii.gz", data, np.eye(4)))


def test_float64_beyond_float32_range_counts_as_non_finite(tmp_path):
    data = _marked().astype(np.float64)
    data[0, 0, 0] = 1e300
    with pytest.raises(NonFiniteVoxelsError):
        load_volume(_save(tmp_path / "big.nii", data, np.eye(4)))


@pytest.mark.parametrize(
    "affine",
    [
        np.diag([1.0, 1.0, np.nan, 1.0]),
        np.diag([1.0, np.inf, 1.0, 1.0]),
        np.diag([1.0, 1.0, 0.0, 1.0]),  # zero determinant
        np.array([[1.0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]),  # two axes alike
    ],
)
def test_unusable_affine(tmp_path, affine):
    image = nib.Nifti1Image(_marked(), None)
    image.header.set_sform(affine, code=1)  # the sform is what nibabel reports as affine
    image.header.set_qform(None, code=0)
    nib.save(image, str(tmp_path / "bad.nii"))
    with pytest.raises(GeometryError, match=r"bad\.nii"):
        load_volume(tmp_path / "bad.nii")


@pytest.mark.parametrize("pixdim", [0.0, -1.0, np.nan])
def test_impossible_voxel_size(tmp_path, pixdim):
    image = nib.Nifti1Image(_marked(), np.eye(4))
    image.header["pixdim"][2] = pixdim
    nib.save(image, str(tmp_path / "pix.nii.gz"))
    with pytest.raises(GeometryError, match="voxel size"):
        load_volume(tmp_path / "pix.nii.gz")


def test_plain_nifti_named_nii_gz_still_loads(tmp_path):
    path = _save(tmp_path / "plain.nii", _marked(), np.eye(4))
    renamed = path.rename(tmp_path / "plain.nii.gz")
    assert load_volume(renamed).data.sum() == 1000.0


def test_missing_orientation_is_noted(tmp_path):
    nib.save(nib.Nifti1Image(_marked(), None), str(tmp_path / "bare.nii"))  # no s/qform
    volume = load_volume(tmp_path / "bare.nii")
    assert any("no orientation" in note for note in volume.metadata.notes)
    assert volume.data.sum() == 1000.0
    assert not any(
        "no orientation" in n
        for n in load_volume(_save(tmp_path / "ok.nii", _marked(), np.eye(4))).metadata.notes
    )
