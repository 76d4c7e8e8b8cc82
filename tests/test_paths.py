from bvae_viewer import paths


def test_state_folders_follow_the_override(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.STATE_ENV, str(tmp_path))
    for folder in (paths.config_dir(), paths.data_dir(), paths.cache_dir(), paths.log_dir()):
        assert folder.is_dir() and folder.parent == tmp_path


def test_state_folders_default_to_platformdirs(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.STATE_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert paths.config_dir() == tmp_path / "cfg" / "bvae-viewer"
    assert paths.data_dir() == tmp_path / "data" / "bvae-viewer"


def test_bundled_locations_are_in_the_install_root():
    assert paths.model_dir().parent == paths.install_root()
    assert paths.demo_case().is_relative_to(paths.resources_dir())
