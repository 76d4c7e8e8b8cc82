"""PACS work off the GUI thread: one callable, its progress, a cancel, one sentence on error."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread, Signal

from bvae_viewer.pacs.errors import PacsError

log = logging.getLogger(__name__)

# work(progress(done, total), cancel) -> result
Work = Callable[[Callable[[int, int], None], threading.Event], Any]


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors whose message is written for the user: the PACS's and a bad volume's."""
    from bvae_viewer.io.errors import VolumeError

    return (PacsError, VolumeError)


class PacsTask(QThread):
    """Made without a Qt parent and kept on the window or dialog that runs it, which joins it
    on close: its lifetime is Python's, so it never outlives a deleted parent mid-run."""

    progressed = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, work: Work, parent=None) -> None:
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            result = self._work(self.progressed.emit, self._cancel)
        except _user_errors() as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # a bug: logged in full, the window keeps working
            log.exception("PACS task failed")
            self.failed.emit(f"Unexpected error: {exc}.")
            return
        self.succeeded.emit(result)
