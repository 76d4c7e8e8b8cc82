"""Menus and the tool bar: each user command is one QAction wired to the window or the state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QMessageBox, QSlider, QToolBar

from bvae_viewer import __version__
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.gui import strings
from bvae_viewer.gui.map_names import overlay_names
from bvae_viewer.gui.pacs_menu import add_pacs_menu
from bvae_viewer.gui.screenshot import choose_screenshot

if TYPE_CHECKING:
    from bvae_viewer.gui.main_window import MainWindow


@dataclass
class Controls:
    """The actions and tool-bar widgets other code (and tests) need to reach."""

    radiological: QAction
    recent_menu: QMenu
    panels_menu: QMenu
    wl_combo: QComboBox
    overlay_combo: QComboBox
    opacity: QSlider

    def add_dock_toggles(self, docks) -> None:
        """Show/hide entries for the docked panels: a closed panel can always come back."""
        for dock in docks:
            self.panels_menu.addAction(dock.toggleViewAction())

    def name_overlays(self, info: ModelInfo | None) -> None:
        """The overlay choices under the loaded model's names for its maps."""
        for key, label in overlay_names(info).items():
            index = self.overlay_combo.findData(key)
            if index >= 0:
                self.overlay_combo.setItemText(index, label)


def _action(window: MainWindow, text: str, slot, shortcut=None, checkable=False) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    return action


def build_controls(window: MainWindow) -> Controls:
    """Create the menu bar and tool bar of the review window."""
    state = window.state
    bar = window.menuBar()

    file_menu = bar.addMenu(strings.MENU_FILE)
    open_act = _action(window, strings.ACT_OPEN, window.choose_file, QKeySequence.StandardKey.Open)
    dicom_act = _action(window, strings.ACT_OPEN_DICOM, window.choose_folder, "Ctrl+Shift+O")
    demo_act = _action(window, strings.ACT_OPEN_DEMO, window.open_demo)
    batch_act = _action(window, strings.ACT_OPEN_BATCH, window.choose_batch_folder, "Ctrl+B")
    file_menu.addActions([open_act, dicom_act, batch_act, demo_act])
    recent_menu = file_menu.addMenu(strings.ACT_RECENT)
    file_menu.addSeparator()
    shot_act = _action(window, strings.ACT_SCREENSHOT, lambda: choose_screenshot(window), "Ctrl+S")
    export_act = _action(
        window, strings.ACT_EXPORT, lambda: window.review.export_report(), "Ctrl+E"
    )
    file_menu.addActions([shot_act, export_act])
    file_menu.addSeparator()
    file_menu.addAction(
        _action(window, strings.ACT_QUIT, window.close, QKeySequence.StandardKey.Quit)
    )

    view_menu = bar.addMenu(strings.MENU_VIEW)
    radio = _action(window, strings.ACT_RADIOLOGICAL, state.set_radiological, "R", checkable=True)
    radio.setChecked(state.radiological)
    state.orientation_changed.connect(radio.setChecked)
    auto_wl = _action(window, strings.ACT_AUTO_WL, window.auto_window, "W")
    reset = _action(window, strings.ACT_RESET_VIEW, lambda: state.set_view(None), "0")
    clear = _action(window, strings.ACT_CLEAR_CROSSHAIR, lambda: state.set_crosshair(None), "Esc")
    view_menu.addActions([radio, auto_wl, reset, clear])
    view_menu.addSeparator()
    panels_menu = view_menu.addMenu(strings.MENU_PANELS)

    add_pacs_menu(window)  # PACS: settings, worklist, send results (gui/pacs_menu.py)

    help_menu = bar.addMenu(strings.MENU_HELP)
    help_menu.addAction(
        _action(window, strings.ACT_SHORTCUTS, lambda: show_shortcuts(window), "F1")
    )
    help_menu.addAction(_action(window, strings.ACT_ABOUT, lambda: show_about(window)))

    tools = QToolBar("Display", window)
    tools.setObjectName("display_toolbar")
    tools.setMovable(False)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tools)
    tools.addActions([open_act, demo_act])
    tools.addSeparator()
    tools.addWidget(QLabel(" " + strings.WL_LABEL + " "))
    wl_combo = QComboBox()
    wl_combo.addItems([*strings.WL_PRESETS, strings.WL_CUSTOM])
    wl_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    wl_combo.activated.connect(lambda i: window.apply_preset(wl_combo.itemText(i)))
    # After a right-drag the box must not go on claiming "Auto".
    state.window_changed.connect(lambda *_: wl_combo.setCurrentText(window.window_preset_name()))
    tools.addWidget(wl_combo)
    tools.addSeparator()
    tools.addAction(radio)
    radio.setIconText("Radiological")
    tools.addAction(reset)
    tools.addSeparator()
    tools.addWidget(QLabel(" " + strings.OVERLAY_LABEL + " "))
    overlay_combo = QComboBox()
    for key, label in overlay_names(None).items():
        overlay_combo.addItem(label, key)
    overlay_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    overlay_combo.setCurrentIndex(max(0, overlay_combo.findData(state.overlay)))
    overlay_combo.activated.connect(lambda i: state.set_overlay(overlay_combo.itemData(i)))
    tools.addWidget(overlay_combo)
    tools.addWidget(QLabel(" " + strings.OPACITY_LABEL + " "))
    opacity = QSlider(Qt.Orientation.Horizontal)
    opacity.setRange(0, 100)
    opacity.setValue(round(100 * state.overlay_opacity))
    opacity.setFixedWidth(110)
    opacity.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    opacity.valueChanged.connect(lambda v: state.set_overlay(state.overlay, v / 100))
    tools.addWidget(opacity)
    tools.addSeparator()
    tools.addAction(shot_act)
    return Controls(radio, recent_menu, panels_menu, wl_combo, overlay_combo, opacity)


def show_about(window: MainWindow) -> None:
    QMessageBox.about(
        window,
        strings.ACT_ABOUT.replace("&", ""),
        strings.ABOUT_TEXT.format(version=__version__, model=window.model_label.text()),
    )


def show_shortcuts(window: MainWindow) -> None:
    QMessageBox.information(window, strings.ACT_SHORTCUTS.replace("&", ""), strings.SHORTCUTS_TEXT)
