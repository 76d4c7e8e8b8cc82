"""The Model menu: which trained model the review window runs, and switching to another.

A chosen folder is loaded off the GUI thread (model_loader.ModelLoader). Only once it has
loaded does the window change model: the open case (or batch) is analysed again with it,
from the result cache when that holds the case (the cache is keyed by the model's sha256,
so switching back is instant), and the choice is saved. A folder that fails to load gives
one sentence in a dialog and the previous model stays. Opening a case while a model is
being checked waits for the check, so that no case is analysed by a model about to go.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from bvae_viewer import paths
from bvae_viewer.analysis.model_info import ModelInfo
from bvae_viewer.gui import strings
from bvae_viewer.gui.case_document import CaseDocument
from bvae_viewer.gui.map_names import method_of
from bvae_viewer.gui.model_loader import (
    ModelLoader,
    is_bundled,
    peek_info,
    same_folder,
    start_choice,
)
from bvae_viewer.gui.settings import GuiSettings


class ModelController(QObject):
    """Owns the Model menu, the model loader thread and the saved model choice."""

    model_changed = Signal(object)  # Bundle: the window now runs this model
    load_failed = Signal(str)  # the sentence shown; the previous model stays
    reanalyse = Signal()  # analyse what is open again, with the new model
    message = Signal(str)
    error = Signal(str, str)  # dialog title, sentence

    def __init__(
        self,
        doc: CaseDocument,
        settings: GuiSettings,
        parent: QWidget,
        cli_folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.doc, self.settings, self.parent_widget = doc, settings, parent
        self.loader: ModelLoader | None = None
        self._loaders: list[ModelLoader] = []  # running or finishing; joined on shutdown
        self._waiting: list[Callable[[], object]] = []  # opens asked for during a check
        self._fallback = False  # the running check is the start-up one: fall back on failure
        self.notice = ""  # what the status bar was told at start-up (tests read it)
        self.seen: dict[str, ModelInfo] = {}  # every model this window ran, by sha256
        doc.model_ready.connect(self._seen)
        choice = start_choice(cli_folder, settings)
        self.remember = choice.remember  # False: `--model` for this run, not saved
        doc.model_dir = choice.folder
        self._group: QActionGroup | None = None
        self.menu = QMenu(strings.MENU_MODEL, parent)  # the window places it in its menu bar
        self.menu.aboutToShow.connect(self.fill_menu)
        self.fill_menu()
        if choice.notice:
            self._say_fallback(choice.notice)
        if choice.check:
            self._fallback = True
            self._start(choice.folder)

    def _seen(self, bundle) -> None:
        self.seen.setdefault(bundle.info.sha256, bundle.info)

    # --- the menu -----------------------------------------------------------------------
    def fill_menu(self) -> None:
        """Bundled model, recently used folders (the current one checked), Open folder."""
        menu, current = self.menu, self.doc.model_dir
        menu.clear()
        if self._group is not None:
            self._group.deleteLater()  # the last fill's, now empty
        # Marks the one in use; choosing is by trigger (a failed load leaves the old mark).
        group = self._group = QActionGroup(menu)
        bundled = paths.model_dir()
        info = peek_info(bundled)
        if info is None:
            menu.addAction(strings.ACT_MODEL_BUNDLED_MISSING).setEnabled(False)
        else:
            text = strings.ACT_MODEL_BUNDLED.format(
                method=method_of(info).display_name, hash=info.short_hash
            )
            self._entry(text, bundled, current, group)
        recent = [f for f in self.settings.recent_models() if not is_bundled(f)]
        if recent:
            menu.addSection(strings.MODEL_RECENT_HEADER)
        for folder in recent:
            if not folder.is_dir():  # e.g. an unmounted share: listed, for when it returns
                menu.addAction(strings.ACT_MODEL_RECENT_MISSING.format(folder=folder)).setEnabled(
                    False
                )
                continue
            info = peek_info(folder)
            if info is None:  # choosing it says why, in the same dialog as any bad folder
                action = menu.addAction(strings.ACT_MODEL_RECENT_BROKEN.format(folder=folder))
                action.triggered.connect(lambda _=False, f=folder: self.switch_to(f))
                continue
            text = strings.ACT_MODEL_RECENT.format(
                method=method_of(info).display_name, folder=folder, hash=info.short_hash
            )
            self._entry(text, folder, current, group)
        menu.addSeparator()
        menu.addAction(strings.ACT_MODEL_OPEN).triggered.connect(self.choose_folder)

    def _entry(self, text: str, folder: Path, current: Path, group: QActionGroup) -> QAction:
        action = self.menu.addAction(text)
        action.setCheckable(True)
        action.setChecked(same_folder(folder, current))
        action.setToolTip(str(folder))
        action.setData(str(folder))
        group.addAction(action)
        action.triggered.connect(lambda _=False, f=folder: self.switch_to(f))
        return action

    def choose_folder(self) -> None:
        """Model > Open model folder: a directory chooser, then the switch."""
        start = str(self.doc.model_dir.parent)
        name = QFileDialog.getExistingDirectory(
            self.parent_widget, strings.MODEL_OPEN_TITLE, start
        )
        if name:
            self.switch_to(Path(name))

    def describe(self, sha256: str) -> str:
        """A model known to the menu (bundled or recent) by name and short hash; else the
        short hash alone (e.g. for decisions made under a model no longer listed)."""
        known = self.seen.get(sha256)
        if known is not None:
            return strings.OTHER_MODEL_NAME.format(name=known.name, hash=known.short_hash)
        for folder in (paths.model_dir(), *self.settings.recent_models()):
            info = peek_info(folder)
            if info is not None and info.sha256 == sha256:
                return strings.OTHER_MODEL_NAME.format(name=info.name, hash=info.short_hash)
        return sha256[:12]

    # --- switching ----------------------------------------------------------------------
    def busy(self) -> bool:
        """A model folder is being checked."""
        return self.loader is not None

    def defer(self, action: Callable[[], object]) -> bool:
        """Run action once the model check ends; False (nothing kept) when none is running."""
        if self.loader is None:
            return False
        self._waiting.append(action)
        return True

    def switch_to(self, folder: Path) -> None:
        """Check a model folder off the GUI thread; the window switches once it has loaded."""
        folder = Path(folder)
        d = self.doc
        if same_folder(folder, d.model_dir) and d.bundle is not None and self.loader is None:
            self.message.emit(strings.STATUS_MODEL_SAME)
            self.fill_menu()  # the click unchecked nothing, but keep the marks true
            return
        self._fallback = False
        self.remember = True  # chosen in the menu: saved, even in a `--model` run
        self._start(folder)

    def _start(self, folder: Path) -> None:
        loader = ModelLoader(folder, self)
        loader.loaded.connect(self._loaded)
        loader.failed.connect(self._failed)
        loader.finished.connect(self._reap)
        self.loader = loader  # a newer choice replaces an older one still loading
        self._loaders.append(loader)
        self.message.emit(strings.STATUS_MODEL_LOADING.format(folder=folder))
        loader.start()

    def _reap(self) -> None:
        self._loaders = [x for x in self._loaders if not x.isFinished()]

    def _loaded(self, bundle) -> None:
        loader = self.sender()
        if loader is not self.loader:
            return  # superseded by a later choice
        self.loader = None
        starting = self._fallback
        self._fallback = False
        waiting, self._waiting = self._waiting, []
        self._adopt(loader.folder, bundle, reanalyse=not starting and not waiting)
        for action in waiting:
            action()

    def _failed(self, message: str) -> None:
        loader = self.sender()
        if loader is not self.loader:
            return
        self.loader = None
        waiting, self._waiting = self._waiting, []
        if self._fallback:  # the saved choice at start-up: the bundled model instead
            self._fallback = False
            self.doc.model_dir = paths.model_dir()
            self._say_fallback(strings.STATUS_MODEL_FALLBACK.format(reason=message.rstrip(".")))
        else:
            self.error.emit(strings.ERROR_MODEL_TITLE, message)
        self.fill_menu()
        self.load_failed.emit(message)
        for action in waiting:
            action()

    def _say_fallback(self, notice: str) -> None:
        self.notice = notice
        self.settings.set_model_folder(None)  # the window reopens on what it runs
        self.message.emit(notice)

    def _adopt(self, folder: Path, bundle, reanalyse: bool) -> None:
        self.doc.choose_model(folder, bundle)
        if self.remember:
            self.settings.set_model_folder(None if is_bundled(folder) else folder)
        if not is_bundled(folder):
            self.settings.add_recent_model(folder)
        self.fill_menu()
        info = bundle.info
        self.message.emit(
            strings.STATUS_MODEL_SWITCHED.format(
                method=method_of(info).display_name,
                name=info.name,
                hash=info.short_hash,
                folder=folder,
            )
        )
        self.model_changed.emit(bundle)
        if reanalyse:
            self.reanalyse.emit()

    def shutdown(self) -> None:
        """Wait for a model check still running (it cannot be interrupted: at most seconds)."""
        self.loader = None  # its result, if any, is ignored
        self._waiting.clear()
        for loader in self._loaders:
            loader.wait()
        self._loaders.clear()
