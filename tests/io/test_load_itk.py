"""MetaImage and NRRD files written with SimpleITK: geometry round trip and damage."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from bvae_viewer.io import (
    CorruptVolumeError,
    NonFiniteVoxelsError,
    NotAnImageError,
    NotThreeDimensionalError,
    TruncatedVolumeError,
    VolumeSizeError,
    load_volume,
)
from tests.io.helpers import index_of

# An oblique, axis-permuted LPS direction matrix (columns: where each ITK index axis points).
_ANGLE = np.radians(15)
DIRECTION = np.array(
    [
        [0.0, np.cos(_ANGLE), -np.sin(_ANGLE)],
        [0.0, np.sin(_ANGLE), np.cos(_ANGLE)],
        [-1.0, 0.0, 0.0],
    ]
)


def _image(array_zyx: np.ndarray) -> sitk.Image:
    image = sitk.GetImageFromArray(array_zyx)
    image.SetSpacing((0.9, 1.2, 2.5))
    image.SetOrigin((12.0, -40.0, 7.5))
    image.SetDirection(tuple(DIRECTION.ravel()))
    return image


def _marked(dtype=np.float32) -> tuple[np.ndarray, tuple[int, int, int]]:
    """A (z, y, x) array with one marker at ITK index (x, y, z)."""
    index = (4, 9, 2)
    array = np.zeros((11, 13, 10), dtype=dtype)
    array[index[::-1]] = 500
    return array, index


@pytest.mark.parametrize("name", ["scan.mha", "scan.mhd", "scan.nrrd", "scan.nhdr"])
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_puts_marker_at_its_world_position(tmp_path, name, compress):
    array, index = _marked(np.int16)
    image = _image(array)
    path = tmp_path / name
    sitk.WriteImage(image, str(path), useCompression=compress)
    world_lps = np.array(image.TransformIndexToPhysicalPoint(index))
    world_ras = world_lps * [-1, -1, 1]

    volume = load_volume(path)

    assert volume.metadata.format == ("nrrd" if "nrrd" in name or "nhdr" in name else "mha")
    assert nib.aff2axcodes(volume.affine) == ("R", "A", "S")
    assert volume.data[index_of(volume.affine, world_ras)] == 500
    assert volume.data.sum() == 500
    assert volume.metadata.original_shape == (10, 13, 11)
    np.testing.assert_allclose(sorted(volume.spacing), [0.9, 1.2, 2.5])
    assert volume.identity.is_empty()


def _write_raw(tmp_path: Path, name: str, array: np.ndarray) -> Path:
    path = tmp_path / name
    sitk.WriteImage(_image(array), str(path), useCompression=False)
    return path


@pytest.mark.parametrize("name", ["cut.mha", "cut.nrrd"])
def test_truncated_raw_single_file(tmp_path, name):
    path = _write_raw(tmp_path, name, _marked()[0])
    path.write_bytes(path.read_bytes()[:-700])
    with pytest.raises(TruncatedVolumeError, match=r"5,020 bytes are there") as error:
        load_volume(path)
    assert name in str(error.value)


@pytest.mark.parametrize(("name", "data_suffix"), [("cut.mhd", ".raw"), ("cut.nhdr", ".raw.gz")])
def test_truncated_detached_data_file(tmp_path, name, data_suffix):
    path = _write_raw(tmp_path, name, _marked()[0])
    data_file = next(p for p in tmp_path.iterdir() if p != path)
    data_file.write_bytes(data_file.read_bytes()[:-64])
    with pytest.raises((TruncatedVolumeError, CorruptVolumeError)):
        load_volume(path)


@pytest.mark.parametrize("name", ["cut.mha", "cut.nrrd"])
def test_truncated_compressed_file(tmp_path, name):
    path = tmp_path / name
    array = np.random.default_rng(0).random((11, 13, 10)).astype(np.float32)
    sitk.WriteImage(_image(array), str(path), useCompression=True)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(CorruptVolumeError, match=name):
        load_volume(path)


@pytest.mark.parametrize("name", ["nan.mha", "nan.nrrd"])
@pytest.mark.parametrize("compress", [False, True])
def test_nan_survives_to_the_check(tmp_path, name, compress):
    array = _marked()[0]
    array[3, 4, 5] = np.nan
    sitk.WriteImage(_image(array), str(tmp_path / name), useCompression=compress)
    with pytest.raises(NonFiniteVoxelsError, match="1 voxel"):
        load_volume(tmp_path / name)


def test_two_d_and_vector_images_are_refused(tmp_path):
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((32, 32), np.float32)), str(tmp_path / "a.mha"))
    with pytest.raises(NotThreeDimensionalError):
        load_volume(tmp_path / "a.mha")
    rgb = sitk.GetImageFromArray(np.zeros((10, 10, 10, 3), np.uint8), isVector=True)
    sitk.WriteImage(rgb, str(tmp_path / "rgb.nrrd"))
    with pytest.raises(NotAnImageError, match="colour"):
        load_volume(tmp_path / "rgb.nrrd")


def test_four_d_with_one_volume_is_squeezed_and_with_two_refused(tmp_path):
    volume_3d = sitk.GetImageFromArray(np.ones((9, 10, 11), np.float32))
    sitk.WriteImage(sitk.JoinSeries([volume_3d]), str(tmp_path / "one.nrrd"))
    volume = load_volume(tmp_path / "one.nrrd")
    assert volume.shape == (11, 10, 9)
    assert volume.metadata.original_shape == (11, 10, 9, 1)
    sitk.WriteImage(sitk.JoinSeries([volume_3d, volume_3d]), str(tmp_path / "two.mha"))
    with pytest.raises(NotThreeDimensionalError, match="2 volumes"):
        load_volume(tmp_path / "two.mha")


def test_absurd_header_size_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.mha"
    path.write_text(
        "ObjectType = Image\nNDims = 3\nDimSize = 3000 3000 3000\nElementType = MET_FLOAT\n"
        "ElementSpacing = 1 1 1\nElementDataFile = LOCAL\n"
    )
    with pytest.raises(VolumeSizeError, match="implausibly large"):
        load_volume(path)


def test_garbage_with_itk_suffix(tmp_path):
    path = tmp_path / "noise.nrrd"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(NotAnImageError, match=r"noise\.nrrd"):
        load_volume(path)
