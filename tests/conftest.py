"""Every test keeps its state (settings, sessions, cache) in a temporary folder."""

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("BVAE_VIEWER_STATE_DIR", str(tmp_path_factory.mktemp("state")))
