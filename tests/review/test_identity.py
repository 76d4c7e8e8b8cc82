from pathlib import Path

import numpy as np

from bvae_viewer.io.volume import PatientIdentity, Volume, VolumeMetadata
from bvae_viewer.review.identity import case_fingerprint


def _vol(data, name="a.nii.gz", patient="DOE^JANE"):
    return Volume(
        data,
        (1.0, 1.0, 2.0),
        np.eye(4),
        VolumeMetadata("nifti"),
        Path(name),
        PatientIdentity(patient_name=patient),
    )


def test_fingerprint_depends_on_content_not_on_name_or_patient():
    data = np.random.default_rng(0).random((8, 8, 4)).astype(np.float32)
    a = case_fingerprint(_vol(data))
    assert a == case_fingerprint(_vol(data.copy(), name="b.nii", patient="SMITH^JOHN"))
    changed = data.copy()
    changed[0, 0, 0] += 1
    assert a != case_fingerprint(_vol(changed))
    assert "DOE" not in a and len(a) == 64
