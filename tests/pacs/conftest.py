"""One real Orthanc for the PACS tests of a session; each test uses studies of its own."""

from __future__ import annotations

import pytest

from bvae_viewer.pacs.connection import PacsSettings, open_client
from tests.pacs.orthanc import Orthanc, running_orthanc


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory) -> Orthanc:
    with running_orthanc(tmp_path_factory.mktemp("orthanc")) as server:
        yield server


@pytest.fixture
def client(orthanc):
    return open_client(PacsSettings(url=orthanc.dicomweb_url, timeout_s=10))
