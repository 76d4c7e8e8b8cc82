"""Start the Qt application: the entry points the CLI calls for `bvae-viewer [FILE]` and for
`bvae-viewer bench --gui` (the window's own analysis, timed beside the engine's)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyqtgraph as pg
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from bvae_viewer import paths
from bvae_viewer.analysis.cache_store import ResultCache
from bvae_viewer.data.preprocess import SliceStack
from bvae_viewer.gui import strings
from bvae_viewer.gui.qt_compat import guard_emit_refcount
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.io.volume import VolumeMetadata
from bvae_viewer.pipeline.case import LoadedCase
from bvae_viewer.review.batch import is_batch_folder

if TYPE_CHECKING:  # an annotation only: importing the model's module pulls in torch
    from bvae_viewer.pipeline.model import Bundle

ORGANIZATION = "bvae-viewer"


def configure_pyqtgraph() -> None:
    """Row-major arrays (image[row, col]) everywhere, antialiased curves."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background="k")


def dark_palette() -> QPalette:
    """A dark theme as in reading rooms: dim surroundings, the images stand out."""
    palette = QPalette()
    base, window, text = QColor(24, 24, 24), QColor(40, 40, 42), QColor(225, 225, 225)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: window,
        QPalette.ColorRole.ToolTipBase: window,
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: window,
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.Highlight: QColor(42, 130, 218),
        QPalette.ColorRole.HighlightedText: QColor(0, 0, 0),
        QPalette.ColorRole.Link: QColor(79, 195, 247),
        # Qt's default placeholder grey is unreadable on a dark field.
        QPalette.ColorRole.PlaceholderText: QColor(150, 150, 150),
    }
    for role, colour in roles.items():
        palette.setColor(role, colour)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(120, 120, 120))
    palette.setColor(
        QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(120, 120, 120)
    )
    return palette


def app_icon() -> QIcon:
    """The application icon at every size in resources/icons (the window manager picks one)."""
    icon = QIcon()
    for png in sorted((paths.resources_dir() / "icons" / "hicolor").glob("*/apps/*.png")):
        icon.addFile(str(png))
    return icon


def make_application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication (reused when it exists, as under pytest-qt)."""
    guard_emit_refcount()  # before anything emits a signal
    configure_pyqtgraph()
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(paths.APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setWindowIcon(app_icon())
    # Wayland desktops match the window to resources/bvae-viewer.desktop by this name.
    QApplication.setDesktopFileName(paths.APP_NAME)
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    return app


def run_gui(
    path: Path | None = None,
    demo: bool = False,
    screenshot: Path | None = None,
    model_dir: Path | None = None,
    device: str = "auto",
) -> int:
    """Open the review window (optionally on a file, a folder or the demo case); returns the
    exit code. A folder of cases (not one DICOM series) is opened as a batch.

    With ``screenshot``, the window loads the volume, waits for the analysis, shows the slice
    with the highest anomaly score, saves a PNG of the whole window and exits (0 on success);
    for a batch, it waits for every case and shows the first of the case queue.
    """
    app = make_application()
    # Imported here: it pulls in torch (via the worker), which takes a moment.
    from bvae_viewer.gui.main_window import MainWindow

    window = MainWindow(model_dir=model_dir, device=device)
    source = paths.demo_case() if demo else path
    if screenshot is not None:
        if source is None:
            print(strings.ERROR_SCREENSHOT_NO_INPUT, file=sys.stderr)
            return 2
        window.screenshot_when_done(Path(screenshot))
        window.resize(1600, 1000)
    window.show()
    if demo:
        window.opener.open_demo()
    elif source is not None and is_batch_folder(Path(source)):
        if not window.opener.open_batch(Path(source)) and screenshot is not None:
            return 1
    elif source is not None:
        window.opener.open_path(Path(source))
    code = app.exec()
    window.shutdown_workers()
    return window.exit_code if screenshot is not None else code


BENCH_TIMEOUT_S = 600.0


def window_figures(
    model_dir: Path,
    bundle: Bundle,
    stack: SliceStack,
    device: str = "auto",
    samples: int = 5,
    runs: int = 2,
) -> dict[str, Any]:
    """Seconds of the window's analysis of ``stack`` (no result cache), the last of ``runs``
    (the first warms up, as the engine's bench does): in its worker thread, as the status
    bar reports it, and wall time until the window holds every slice (signals, triage and
    the drawing of the slice on screen included). Off screen unless a platform was chosen."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = make_application()
    from bvae_viewer.gui.main_window import MainWindow  # pulls in torch (via the worker)

    case = LoadedCase(Path("bench"), stack, "", VolumeMetadata("synthetic"))
    with tempfile.TemporaryDirectory(prefix="bvae-bench-gui-") as tmp:
        window = MainWindow(model_dir, GuiSettings(Path(tmp) / "gui.ini"), device, samples)
        window.doc.bundle = bundle  # loaded already: the runs time the analysis only
        window.analysis.cache = ResultCache(None)  # computed, never read from the cache
        window.resize(1600, 1000)
        window.show()
        figures: dict[str, Any] = {}
        try:
            for _ in range(runs):
                loop, timeout, done = QEventLoop(), QTimer(singleShot=True), []
                timeout.timeout.connect(loop.quit)
                window.analysis.done.connect(loop.quit)
                window.analysis.done.connect(done.append)
                timeout.start(int(BENCH_TIMEOUT_S * 1000))
                t0 = time.perf_counter()
                window.analysis.start(case.source, case)
                loop.exec()
                wall = time.perf_counter() - t0
                timeout.stop()
                window.analysis.done.disconnect(loop.quit)
                window.analysis.done.disconnect(done.append)
                if not done or done[0].failed or done[0].cancelled:
                    raise RuntimeError("the window's analysis did not finish")
                figures = {
                    "worker_seconds": round(done[0].timings["inference"], 3),
                    "wall_seconds": round(wall, 3),
                    "slices": done[0].analysed,
                    "device": window.doc.device_name,
                }
        finally:
            window.close()
            app.processEvents()
    return figures
