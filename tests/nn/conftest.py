import pytest

from tests.nn.nnkit import make_bundle, tiny_config


@pytest.fixture
def tiny_bundle(tmp_path):
    """A saved-and-reloaded bundle of a fresh tiny network (paper layout, 32 px)."""
    return make_bundle(tmp_path / "model", tiny_config())
