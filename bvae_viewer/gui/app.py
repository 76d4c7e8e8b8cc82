"""Start the Qt application: the entry point the CLI calls for `bvae-viewer [FILE]`."""

from __future__ import annotations

import sys
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from bvae_viewer import paths
from bvae_viewer.gui import strings
from bvae_viewer.gui.qt_compat import guard_emit_refcount
from bvae_viewer.review.batch import is_batch_folder

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
