"""The Model menu: the maps are named after the model's method, another model folder can be
chosen (checked off the GUI thread, refused with one sentence when broken), the open case is
analysed again with it, the choice survives a restart and falls back when it cannot load.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from bvae_viewer import paths
from bvae_viewer.analysis.display import ORIGINAL_TIP, ORIGINAL_TITLE
from bvae_viewer.analysis.methods import METHODS, REVERSE_DISTILLATION
from bvae_viewer.analysis.model_info import ModelInfo, read_model_info
from bvae_viewer.gui.map_names import panel_tips, panel_titles, score_rows
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.nn.bundle import WEIGHTS_FILE
from tests.gui.test_review_window import RUN_TIMEOUT_MS, open_and_wait

pytestmark = pytest.mark.gui
LOAD_TIMEOUT_MS = 60_000


@pytest.fixture
def bundled_copy(tmp_path) -> Path:
    """The bundled model, copied to a folder of its own (as a user's trained model would be)."""
    return Path(shutil.copytree(paths.model_dir(), tmp_path / "my model"))


def switch_and_wait(qtbot, window, folder: Path):
    """Choose a model folder; returns the RunSummary of the re-analysis of the open case."""
    with qtbot.waitSignal(window.analysis.done, timeout=RUN_TIMEOUT_MS) as blocker:
        window.models.switch_to(folder)
    return blocker.args[0]


def rd_info() -> ModelInfo:
    return ModelInfo(
        name="rd-test", config={}, weights_file="", sha256="ab" * 32, method=REVERSE_DISTILLATION
    )


def test_the_maps_are_named_after_the_method(window):
    rd = METHODS[REVERSE_DISTILLATION]
    titles = panel_titles(rd_info())
    assert titles == {"original": ORIGINAL_TITLE, **rd.panel_titles}
    assert panel_tips(rd_info())["epistemic"] == rd.panel_tips["epistemic"]
    assert dict(score_rows(rd_info()))["recon_error"] == rd.panel_titles["error"]

    vae = window.grid.titles()  # before any model is loaded: the Bayesian VAE's words
    assert vae["reconstruction"] == "Reconstruction" and vae["error"] == "Reconstruction error"
    window.doc.show_model(rd_info())
    assert window.grid.titles() == titles
    assert window.grid.panels["aleatoric"].toolTip() == rd.panel_tips["aleatoric"]
    assert window.grid.panels["original"].toolTip() == ORIGINAL_TIP
    combo = window.controls.overlay_combo
    assert combo.itemText(combo.findData("error")) == rd.panel_titles["error"]
    assert dict(window.info.rows)["recon_error"] == rd.panel_titles["error"]
    assert rd.display_name in window.model_label.text()
    # RD's "reconstruction" is its anomaly map: coloured like the error map, at its levels,
    # not grey under the image's window/level.
    recon = window.grid.panels["reconstruction"]
    assert not recon.follows_window
    assert recon.colorbar.levels() == window.grid.panels["error"].colorbar.levels()
    window.state.set_window(0.1, 0.2)
    assert recon.colorbar.levels() != (0.1, 0.2)
    # An unknown method (a newer model.json) keeps the window usable with the VAE's words.
    unknown = ModelInfo(name="x", config={}, weights_file="", sha256="0" * 64, method="?")
    window.doc.show_model(unknown)
    assert window.grid.titles() == vae
    assert recon.follows_window  # back to the VAE's image


def test_switching_reanalyses_keeps_decisions_with_their_model_and_is_remembered(
    qtbot, make_window, model_dir, bundled_copy, volume_path, engine_runs
):
    window = make_window(model_dir)  # the untrained test model, then the bundled one
    open_and_wait(qtbot, window, volume_path)
    first_sha = window.doc.bundle.info.sha256
    assert window.review.decide("abnormal") is not None
    assert len(engine_runs) == 1

    summary = switch_and_wait(qtbot, window, bundled_copy)
    assert not summary.failed and not summary.from_cache
    assert len(engine_runs) == 2  # the open case, analysed again by the new model
    assert window.doc.model_dir == bundled_copy
    assert window.doc.bundle.info.sha256 == read_model_info(paths.model_dir()).sha256
    assert window.doc.case.source == volume_path
    assert window.doc.bundle.info.short_hash in window.model_label.text()
    # Decisions stay with the model they were made with; the reader is told they exist.
    assert window.doc.reviewed == {}
    note = window.review.queue.other_models
    assert not note.isHidden() and "1 earlier decision" in note.text()
    assert "untrained-test" in note.text()
    # The choice is saved, listed, and checked in the menu.
    assert window.settings.model_folder() == bundled_copy.resolve()
    assert window.settings.recent_models()[0] == bundled_copy.resolve()
    window.models.fill_menu()
    checked = [a for a in window.models.menu.actions() if a.isChecked()]
    assert [a.data() for a in checked] == [str(bundled_copy)]

    # Back to the first model: from the result cache, and its decision is shown again.
    summary = switch_and_wait(qtbot, window, model_dir)
    assert summary.from_cache and len(engine_runs) == 2
    assert window.doc.bundle.info.sha256 == first_sha
    assert len(window.doc.reviewed) == 1 and note.isHidden()

    # A batch opened now runs the model in use.
    switch_and_wait(qtbot, window, bundled_copy)
    folder = bundled_copy.parent / "batch"
    folder.mkdir()
    shutil.copy(volume_path, folder / "one_t1ce.nii.gz")
    assert window.opener.open_batch(folder)
    assert window.batch.worker.bundle is window.doc.bundle
    with qtbot.waitSignal(window.batch.batch_done, timeout=RUN_TIMEOUT_MS):
        window.batch.stop()

    # A new window (a restart) starts on the saved choice.
    window.close()
    again = make_window(None)
    qtbot.waitUntil(lambda: not again.models.busy(), timeout=LOAD_TIMEOUT_MS)
    assert again.doc.model_dir == bundled_copy.resolve()
    assert again.doc.bundle is not None and not again.models.notice


def damage_json(folder: Path) -> None:
    (folder / "model.json").write_text('{"name": "half a file", "config": ')


def tamper_weights(folder: Path) -> None:
    with open(folder / WEIGHTS_FILE, "r+b") as fh:
        fh.seek(-64, 2)
        fh.write(b"\x00" * 64)


@pytest.mark.parametrize("damage", [damage_json, tamper_weights])
def test_a_broken_model_folder_is_refused_and_the_model_stays(
    qtbot, window, model_dir, bundled_copy, volume_path, engine_runs, damage
):
    open_and_wait(qtbot, window, volume_path)
    before = window.doc.bundle
    damage(bundled_copy)
    with qtbot.waitSignal(window.models.load_failed, timeout=LOAD_TIMEOUT_MS) as blocker:
        window.models.switch_to(bundled_copy)
    message = blocker.args[0]
    box = window.error_box
    assert isinstance(box, QMessageBox) and box.isVisible() and box.text() == message
    assert "\n" not in message and message.count(". ") <= 1, message
    box.accept()
    assert window.doc.bundle is before and window.doc.model_dir == model_dir
    assert window.settings.model_folder() is None  # nothing saved
    assert len(engine_runs) == 1  # nothing analysed again


def test_a_saved_model_that_cannot_be_used_falls_back_to_the_bundled_one(
    qtbot, make_window, tmp_path, bundled_copy
):
    settings = GuiSettings(tmp_path / "gui.ini")  # the file make_window's windows use
    settings.set_model_folder(tmp_path / "vanished")
    settings.sync()
    window = make_window(None)
    assert window.doc.model_dir == paths.model_dir()
    assert "vanished" in window.models.notice and "bundled" in window.models.notice
    assert window.statusBar().currentMessage() == window.models.notice
    assert window.settings.model_folder() is None  # next start: the bundled one, silently
    window.close()

    damage_json(bundled_copy)  # there, but it does not load: the same fall back
    settings = GuiSettings(tmp_path / "gui.ini")
    settings.set_model_folder(bundled_copy)
    settings.sync()
    window = make_window(None)
    qtbot.waitUntil(lambda: not window.models.busy(), timeout=LOAD_TIMEOUT_MS)
    assert window.doc.model_dir == paths.model_dir() and window.doc.bundle is None
    assert "bundled" in window.statusBar().currentMessage()
    assert window.error_box is None  # a start-up fall back is said, not a dialog


def test_model_on_the_command_line_overrides_the_saved_choice(
    qtbot, make_window, tmp_path, model_dir, bundled_copy
):
    settings = GuiSettings(tmp_path / "gui.ini")
    settings.set_model_folder(bundled_copy)
    settings.sync()
    window = make_window(model_dir)  # as `bvae-viewer gui --model DIR`
    assert window.doc.model_dir == model_dir and not window.models.busy()
    window.close()
    assert GuiSettings(tmp_path / "gui.ini").model_folder() == bundled_copy.resolve()
