"""GUI tests run offscreen, with state in a temp folder, an untrained model and phantoms."""

from __future__ import annotations

import gc
import os
import tempfile
import warnings

os.environ["QT_QPA_PLATFORM"] = "offscreen"
# Before anything reads paths: no test may touch the user's real settings.
os.environ.setdefault("BVAE_VIEWER_STATE_DIR", tempfile.mkdtemp(prefix="bvae-gui-state-"))

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QThread

from bvae_viewer.analysis.model_info import Calibration, ModelInfo
from bvae_viewer.gui.app import make_application
from bvae_viewer.gui.main_window import MainWindow
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.nn.bundle import save_bundle
from bvae_viewer.nn.config import ModelConfig
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.network import build_network
from tests.volumes import brain_phantom, write_nifti


@pytest.fixture(scope="session")
def qapp():
    """The application as the app itself configures it (row-major pyqtgraph, dark palette)."""
    return make_application()


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("BVAE_VIEWER_STATE_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """The real network, untrained (random init, fixed seed), saved as a bundle."""
    folder = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    network = build_network(ModelConfig.fast())
    info = ModelInfo(name="untrained-test", config={}, weights_file="", sha256="")
    save_bundle(network, info, folder)
    return folder


@pytest.fixture(scope="session")
def volume_path(tmp_path_factory) -> Path:
    """A small brain phantom with a tumour (40 axial slices)."""
    image, _seg = brain_phantom(shape=(64, 72, 40), tumour=True, seed=1)
    return write_nifti(tmp_path_factory.mktemp("vol") / "phantom_t1ce.nii.gz", image)


@pytest.fixture(scope="session")
def long_volume_path(tmp_path_factory) -> Path:
    """More slices, so a run lasts long enough to be cancelled midway."""
    image, _seg = brain_phantom(shape=(64, 72, 96), tumour=True, seed=2)
    return write_nifti(tmp_path_factory.mktemp("vol") / "long_t1ce.nii.gz", image)


@pytest.fixture
def engine_runs(monkeypatch) -> list[int]:
    """Every InferenceEngine.run call (the real engine, counted): a model run, not a cache read."""
    runs: list[int] = []
    real_run = InferenceEngine.run

    def counting_run(self, *args, **kwargs):
        runs.append(1)
        yield from real_run(self, *args, **kwargs)

    monkeypatch.setattr(InferenceEngine, "run", counting_run)
    return runs


def running_threads() -> list[QThread]:
    with warnings.catch_warnings():  # isinstance() on some torch objects warns
        warnings.simplefilter("ignore")
        return [o for o in gc.get_objects() if isinstance(o, QThread) and o.isRunning()]


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    """Fail any test that leaves a QThread running."""
    yield
    left = running_threads()
    for thread in left:  # clean up so the next test starts fresh, then fail this one
        if hasattr(thread, "cancel"):
            thread.cancel()
        thread.wait(30_000)
    assert not left, f"{len(left)} QThread(s) still running after the test"


@pytest.fixture(scope="session")
def validated_model_dir(tmp_path_factory) -> Path:
    """The same untrained network, with per-slice validation scores in model.json (as a
    trained model may carry them) and finite calibrated thresholds."""
    folder = tmp_path_factory.mktemp("model_val")
    torch.manual_seed(0)
    network = build_network(ModelConfig.fast())
    rng = np.random.default_rng(0)
    n = 400
    abnormal = rng.random(n) < 0.3
    score = np.where(abnormal, rng.normal(3.0, 1.0, n), rng.normal(1.0, 0.5, n))
    unc = rng.gamma(2.0, 0.01, n)
    info = ModelInfo(
        name="untrained-validated",
        config={},
        weights_file="",
        sha256="",
        calibration=Calibration(score_threshold=2.0, uncertainty_threshold=0.05),
        metrics={
            "validation": {
                "slices": {
                    "anomaly_score": score.tolist(),
                    "unc_total": unc.tolist(),
                    "abnormal": abnormal.tolist(),
                }
            }
        },
    )
    save_bundle(network, info, folder)
    return folder


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Review windows on a given model (default: the untrained one), all closed after."""
    made: list[MainWindow] = []

    def make(model: Path) -> MainWindow:
        win = MainWindow(model_dir=model, settings=GuiSettings(tmp_path / "gui.ini"), device="cpu")
        qtbot.addWidget(win)
        win.resize(1600, 1000)
        win.show()
        qtbot.waitExposed(win)
        made.append(win)
        return win

    yield make
    for win in made:
        win.close()


@pytest.fixture
def window(make_window, model_dir):
    """The review window on the untrained model, 1600x1000, closed (workers joined) after."""
    return make_window(model_dir)
