"""Ways in: drag and drop, the recent-files menu; and what the window remembers."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from bvae_viewer.gui.settings import GuiSettings
from tests.gui.test_review_window import RUN_TIMEOUT_MS

pytestmark = pytest.mark.gui


def drop(window, urls: list[QUrl]) -> bool:
    """Drag over the window and drop; returns whether the window accepted the drag.

    The handlers are called directly: Qt delivers a drop only to the widget its drag manager
    saw the drag enter, and no drag manager runs offscreen.
    """
    mime = QMimeData()
    mime.setUrls(urls)
    pos = QPointF(400, 300)
    action, left, none = (
        Qt.DropAction.CopyAction,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter = QDragEnterEvent(pos, action, mime, left, none)
    enter.ignore()
    window.dragEnterEvent(enter)
    if enter.isAccepted():
        window.dropEvent(QDropEvent(pos, action, mime, left, none))
    return enter.isAccepted()


def test_drop_then_recent_menu_then_settings_survive(qtbot, window, volume_path, tmp_path):
    with qtbot.waitSignal(window.analysis.done, timeout=RUN_TIMEOUT_MS) as blocker:
        assert drop(window, [QUrl.fromLocalFile(str(volume_path))])
    assert not blocker.args[0].failed
    assert window.doc.case.source == volume_path
    assert volume_path.name in window.windowTitle()

    recent = window.controls.recent_menu.actions()
    assert recent and recent[0].text() == str(volume_path.resolve())
    with qtbot.waitSignal(window.analysis.done, timeout=RUN_TIMEOUT_MS):
        recent[0].trigger()
    assert window.doc.case.source == volume_path.resolve()

    # A drop of something that is not a file says so, and changes nothing.
    case = window.doc.case
    assert drop(window, [QUrl("https://example.org/scan.nii.gz")])
    assert window.last_error and window.doc.case is case
    window.error_box.accept()

    window.controls.radiological.trigger()  # to neurological
    window.review.queue.reviewer_edit.setText("dr-keep")
    window.review.queue.reviewer_edit.editingFinished.emit()
    window.close()
    saved = GuiSettings(window.settings.path)
    assert saved.radiological() is False
    assert saved.reviewer("nobody") == "dr-keep"
    assert saved.recent_files()[0] == volume_path.resolve()
    assert saved.geometry() is not None and saved.window_state() is not None
