"""The front end in the window: the brain mask outline (toggle) and Slice details' lines."""

from __future__ import annotations

import numpy as np

from bvae_viewer.data.frontend import prepare_input
from bvae_viewer.gui import strings
from bvae_viewer.gui.frontend_view import frontend_html
from bvae_viewer.io.volume import Volume, VolumeMetadata
from tests.volumes import brain_phantom

RUN_TIMEOUT_MS = 120_000


def test_outline_follows_the_slice_and_toggles(qtbot, window, volume_path):
    with qtbot.waitSignal(window.analysis.done, timeout=RUN_TIMEOUT_MS):
        window.opener.open_path(volume_path)
    outline = window.mask_outline
    index = window.state.slice
    assert window.doc.case.stack.masks[index].any()
    assert outline.curve.data is not None
    mask = window.doc.case.stack.masks[index]
    assert np.array_equal(outline.curve.data > 0.5, mask)
    # Drawn around the brain as the image shows it: x along columns, y along rows.
    outline.curve.generatePath()
    box = outline.curve.path.boundingRect()
    rows, cols = np.nonzero(mask)
    assert (box.left(), box.right()) == (cols.min(), cols.max() + 1)
    assert (box.top(), box.bottom()) == (rows.min(), rows.max() + 1)
    assert outline.visible
    action = window.controls.actions["mask_outline"]
    assert action.text() == strings.ACT_MASK_OUTLINE and action.shortcut().toString() == "M"
    action.trigger()
    assert not outline.visible
    action.trigger()
    assert outline.visible
    # Slice details name the front end: this stripped phantom skipped it.
    assert "Preprocessing" in window.info.text() and "analysed as given" in window.info.text()


def test_details_list_steps_timings_and_thick_slices():
    image, _ = brain_phantom(shape=(64, 72, 12), spacing=(1.0, 1.0, 6.0))
    volume = Volume(image, (1.0, 1.0, 6.0), np.diag([1.0, 1.0, 6.0, 1.0]),
                    VolumeMetadata("test"), source=None)
    text = frontend_html(prepare_input(volume, "never"))
    assert "Acquired slice thickness 6.0 mm" in text
    assert "6.0 mm thick; the model was trained on 1 mm slices" in text
    assert frontend_html(None) == ""
