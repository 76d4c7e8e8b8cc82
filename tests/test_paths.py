from bvae_viewer import paths


def test_state_folders_follow_the_override(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.STATE_ENV, str(tmp_path))
    for folder in (paths.config_dir(), paths.data_dir(), paths.cache_dir(), paths.log_dir()):
        assert folder.is_dir() and folder.parent == tmp_path


def test_state_folders_default_to_platformdirs(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.STATE_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert paths.config_dir() == tmp_path / "cfg" / "bvae-viewer"
    assert paths.data_dir() == tmp_path / "data" / "bvae-viewer"
    assert paths.cache_dir() == tmp_path / "cache" / "bvae-viewer"
    assert paths.log_dir() == tmp_path / "state" / "bvae-viewer" / "log"
    assert paths.log_dir().is_dir()


def test_bundled_locations_are_in_the_install_root():
    assert paths.model_dir().parent == paths.install_root()
    assert paths.demo_case().is_relative_to(paths.resources_dir())
