"""Commands declare their own keys and the key help is made from them; the six panels
render as the reference image says (off screen, within a tolerance, as pyqtgraph's own
image tests compare)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage, QKeySequence

from bvae_viewer.analysis.maps import MapSet
from bvae_viewer.gui.actions import COMMANDS, key_help_html, key_help_rows, key_text
from bvae_viewer.gui.panels_grid import PanelsGrid
from bvae_viewer.gui.view_state import ViewState

pytestmark = pytest.mark.gui
REFERENCE = Path(__file__).parent / "reference" / "six_panels.png"
UPDATE = "BVAE_VIEWER_UPDATE_REFERENCES"  # set to 1 to write the reference anew
SIZE = (600, 380)


def test_every_key_an_action_has_is_in_the_help(window):
    listed = {keys for keys, _ in key_help_rows()}
    bound = {
        key_text(a.shortcut())
        for a in window.actions() + window.menuBar().actions()
        if not a.shortcut().isEmpty()
    }
    assert bound and bound <= listed
    # The keys the hand-written help left out.
    assert {"0", "Esc", "Ctrl+S", "Ctrl+Shift+O", "F1"} <= listed
    for command in COMMANDS:
        action = window.controls.actions[command.name]
        expected = QKeySequence(command.shortcut) if command.shortcut else QKeySequence()
        assert action.shortcut() == expected, command.name
    assert "<td>Esc</td>" in key_help_html()


def _maps(size: int = 64) -> MapSet:
    """A brain-like disc with a bright spot: every panel shows something of its own."""
    yy, xx = np.mgrid[:size, :size] / (size - 1) - 0.5
    r = np.hypot(xx / 0.42, yy / 0.46)
    brain = r < 1
    image = np.where(brain, 0.6 + 0.2 * np.cos(6 * r), 0).astype(np.float32)
    spot = np.exp(-((xx - 0.15) ** 2 + (yy + 0.1) ** 2) / 0.004).astype(np.float32)
    recon = np.where(brain, 0.6, 0).astype(np.float32)
    error = ((image + spot - recon) ** 2 * brain).astype(np.float32)
    ale = (0.004 * brain * (1 + xx)).astype(np.float32)
    epi = (0.001 * brain * (1 + yy)).astype(np.float32)
    pixel = error / (ale + epi + 1e-6)
    return MapSet(image + spot * brain, recon, ale, epi, error, pixel, brain)


def _pixels(image: QImage) -> np.ndarray:
    """(H, W, 3) uint8, copied out of the QImage (whose buffer dies with it)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    bits = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    rows = bits.reshape(height, image.bytesPerLine())[:, : 3 * width]
    return rows.reshape(height, width, 3).copy()


def _grab(grid: PanelsGrid) -> np.ndarray:
    return _pixels(grid.grab().toImage())


def assert_image_close(actual: np.ndarray, reference: np.ndarray) -> None:
    """Within a tolerance: text and anti-aliased edges may move by a pixel, no more."""
    assert actual.shape == reference.shape
    diff = np.abs(actual.astype(int) - reference.astype(int)).max(axis=2)
    assert diff.mean() < 3.0, f"mean difference {diff.mean():.2f}"
    assert (diff > 64).mean() < 0.01, f"{(diff > 64).mean():.2%} of the pixels differ"


def test_the_six_panels_render_as_the_reference(qtbot, qapp):
    state = ViewState()
    grid = PanelsGrid(state)
    qtbot.addWidget(grid)
    grid.resize(*SIZE)
    grid.show()
    qtbot.waitExposed(grid)
    grid.set_map_levels(
        {
            "error": (0.0, 0.05),
            "aleatoric": (0.0, 0.008),
            "epistemic": (0.0, 0.002),
            "total": (0.0, 0.01),
        }
    )
    state.reset(1, 0)
    state.set_window(0.0, 1.0)
    maps = _maps()
    grid.show_slice(maps.original, maps)
    qapp.processEvents()
    actual = _grab(grid)
    if os.environ.get(UPDATE) == "1" or not REFERENCE.exists():
        REFERENCE.parent.mkdir(exist_ok=True)
        height, width, _ = actual.shape
        QImage(actual.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).save(
            str(REFERENCE)
        )
        pytest.fail(f"wrote {REFERENCE}: look at it, commit it, and run the test again")
    expected = _pixels(QImage(str(REFERENCE)))
    assert_image_close(actual, expected)
    # The same grid with the maps gone (a slice not analysed yet) is not the reference.
    grid.show_slice(maps.original, None)
    qapp.processEvents()
    with pytest.raises(AssertionError):
        assert_image_close(_grab(grid), expected)
