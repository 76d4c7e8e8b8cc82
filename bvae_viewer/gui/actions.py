"""Menus and the tool bar: every user command is a Command that declares its own shortcut,
made into one QAction wired to a service or the ViewState (the key help is made from them)."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSlider,
    QToolBar,
)

from bvae_viewer import __version__
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.gui import review_strings, strings
from bvae_viewer.gui.map_names import overlay_names
from bvae_viewer.gui.view_state import ViewState

Shortcut = str | QKeySequence.StandardKey | None


@dataclass(frozen=True)
class Command:
    """One user command: its menu text and the key that runs it from anywhere in the window."""

    name: str
    text: str
    shortcut: Shortcut = None
    checkable: bool = False


FILE = (
    Command("open", strings.ACT_OPEN, QKeySequence.StandardKey.Open),
    Command("open_dicom", strings.ACT_OPEN_DICOM, "Ctrl+Shift+O"),
    Command("open_batch", strings.ACT_OPEN_BATCH, "Ctrl+B"),
    Command("open_demo", strings.ACT_OPEN_DEMO),
    Command("screenshot", strings.ACT_SCREENSHOT, "Ctrl+S"),
    Command("export", strings.ACT_EXPORT, "Ctrl+E"),
    Command("quit", strings.ACT_QUIT, QKeySequence.StandardKey.Quit),
)
VIEW = (
    Command("radiological", strings.ACT_RADIOLOGICAL, "R", checkable=True),
    Command("auto_window", strings.ACT_AUTO_WL, "W"),
    Command("reset_view", strings.ACT_RESET_VIEW, "0"),
    Command("clear_crosshair", strings.ACT_CLEAR_CROSSHAIR, "Esc"),
    Command("mask_outline", strings.ACT_MASK_OUTLINE, "M", checkable=True),
    Command("three_views", strings.ACT_THREE_VIEWS, "L", checkable=True),
    Command("ruler", strings.ACT_RULER, "U", checkable=True),
)
REVIEW = (
    Command("abnormal", strings.ACT_ABNORMAL, "A"),
    Command("normal", strings.ACT_NORMAL, "N"),
    Command("defer", strings.ACT_DEFER, "D"),
    Command("next", strings.ACT_NEXT_ITEM, "J"),
    Command("previous", strings.ACT_PREVIOUS_ITEM, "K"),
    Command("switch", strings.ACT_SWITCH_QUEUE, "C"),
    Command("run_abnormal", review_strings.ACT_RUN_ABNORMAL, "Shift+A"),
    Command("undo", review_strings.ACT_UNDO, QKeySequence.StandardKey.Undo),
    Command("clear_decision", review_strings.ACT_CLEAR_DECISION, "Del"),
    Command("analyse_again", review_strings.ACT_ANALYSE_AGAIN, "F5"),
)
CASE = (
    Command("case_abnormal", strings.ACT_CASE_ABNORMAL),
    Command("case_normal", strings.ACT_CASE_NORMAL),
    Command("case_defer", strings.ACT_CASE_DEFER),
    Command("case_clear", review_strings.ACT_CASE_CLEAR),
)
HELP = (
    Command("shortcuts", strings.ACT_SHORTCUTS, "F1"),
    Command("about", strings.ACT_ABOUT),
)
COMMANDS: tuple[Command, ...] = (*FILE, *VIEW, *REVIEW, *CASE, *HELP)


def make_action(window: QMainWindow, command: Command, slot: Callable) -> QAction:
    """The command's QAction, active while the window has focus (in a menu or not)."""
    action = QAction(command.text, window)
    action.setObjectName(command.name)
    if command.shortcut is not None:
        action.setShortcut(QKeySequence(command.shortcut))
    action.setCheckable(command.checkable)
    action.triggered.connect(slot)
    window.addAction(action)
    return action


@dataclass
class Controls:
    """The actions and tool-bar widgets other code (and tests) need to reach."""

    actions: dict[str, QAction]
    recent_menu: QMenu
    panels_menu: QMenu
    wl_combo: QComboBox
    overlay_combo: QComboBox
    opacity: QSlider
    review_menu: QMenu
    tools: QToolBar = field(repr=False, default=None)  # type: ignore[assignment]

    @property
    def radiological(self) -> QAction:
        return self.actions["radiological"]

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

    def name_review_keys(self, cases: bool) -> None:
        """The Review menu says what A/N/D/J/K act on now: cases or slices."""
        titles = strings.KEY_TITLES_CASES if cases else strings.KEY_TITLES_SLICES
        for key, text in titles.items():
            self.actions[key].setText(text)


def _menu(window: QMainWindow, title: str, commands, slots, actions) -> QMenu:
    menu = window.menuBar().addMenu(title)
    for command in commands:
        actions[command.name] = make_action(window, command, slots[command.name])
        menu.addAction(actions[command.name])
    return menu


def build_controls(
    window: QMainWindow,
    state: ViewState,
    slots: Mapping[str, Callable],
    preset: Callable[[str], None],
    preset_name: Callable[[], str],
) -> Controls:
    """Menus (File, View, Review, Help) and the tool bar; slots: a callable per command."""
    actions: dict[str, QAction] = {}
    file_menu = window.menuBar().addMenu(strings.MENU_FILE)
    for command in FILE[:4]:
        actions[command.name] = make_action(window, command, slots[command.name])
        file_menu.addAction(actions[command.name])
    recent_menu = file_menu.addMenu(strings.ACT_RECENT)
    file_menu.addSeparator()
    for command in FILE[4:6]:
        actions[command.name] = make_action(window, command, slots[command.name])
        file_menu.addAction(actions[command.name])
    file_menu.addSeparator()
    actions["quit"] = make_action(window, FILE[6], slots["quit"])
    file_menu.addAction(actions["quit"])

    view_menu = _menu(window, strings.MENU_VIEW, VIEW, slots, actions)
    radio = actions["radiological"]
    radio.setChecked(state.radiological)
    state.orientation_changed.connect(radio.setChecked)
    # Checked while on, whoever switched them (the key, the menu, Esc).
    state.layout_changed.connect(lambda name: actions["three_views"].setChecked(name == "three"))
    state.ruler_tool_changed.connect(actions["ruler"].setChecked)
    view_menu.addSeparator()
    panels_menu = view_menu.addMenu(strings.MENU_PANELS)

    review_menu = _menu(window, strings.MENU_REVIEW, REVIEW, slots, actions)
    review_menu.addSeparator()
    for command in CASE:
        actions[command.name] = make_action(window, command, slots[command.name])
        review_menu.addAction(actions[command.name])
    _menu(window, strings.MENU_HELP, HELP, slots, actions)

    tools = QToolBar("Display", window)
    tools.setObjectName("display_toolbar")
    tools.setMovable(False)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tools)
    tools.addActions([actions["open"], actions["open_demo"]])
    tools.addSeparator()
    tools.addWidget(QLabel(" " + strings.WL_LABEL + " "))
    wl_combo = QComboBox()
    wl_combo.addItems([*strings.WL_PRESETS, strings.WL_CUSTOM])
    wl_combo.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    wl_combo.activated.connect(lambda i: preset(wl_combo.itemText(i)))
    # After a right-drag the box must not go on claiming "Auto".
    state.window_changed.connect(lambda *_: wl_combo.setCurrentText(preset_name()))
    tools.addWidget(wl_combo)
    tools.addSeparator()
    tools.addAction(radio)
    radio.setIconText("Radiological")
    tools.addAction(actions["reset_view"])
    tools.addAction(actions["three_views"])
    actions["three_views"].setIconText("Three views")
    tools.addAction(actions["ruler"])
    actions["ruler"].setIconText("Ruler")
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
    tools.addAction(actions["screenshot"])
    return Controls(
        actions, recent_menu, panels_menu, wl_combo, overlay_combo, opacity, review_menu, tools
    )


def show_about(window: QMainWindow, model: str) -> None:
    QMessageBox.about(
        window,
        strings.ACT_ABOUT.replace("&", ""),
        strings.ABOUT_TEXT.format(version=__version__, model=model),
    )


def key_text(shortcut: Shortcut) -> str:
    """A shortcut as the reader types it on this platform, e.g. 'Ctrl+Shift+O'."""
    return QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)


def key_help_rows(commands=COMMANDS) -> list[tuple[str, str]]:
    """(keys, what they do): the mouse and navigation keys, then every command's own key."""
    rows = list(strings.NAVIGATION_HELP)
    for command in commands:
        keys = key_text(command.shortcut) if command.shortcut is not None else ""
        if keys:  # a standard key this platform has no binding for is not listed
            words = strings.KEY_HELP.get(command.name, command.text.replace("&", ""))
            rows.append((keys, words))
    return rows


def key_help_html(commands=COMMANDS) -> str:
    """Help > Mouse and keys, made from the commands (so no key is ever left out)."""
    rows = "".join(
        f"<tr><td>{html.escape(keys)}</td><td>{html.escape(words)}</td></tr>"
        for keys, words in key_help_rows(commands)
    )
    return f"<table>{rows}</table>"


def show_shortcuts(window: QMainWindow) -> None:
    QMessageBox.information(window, strings.ACT_SHORTCUTS.replace("&", ""), key_help_html())
