"""Loading a model folder off the GUI thread, and which folder the window starts on.

A model folder is checked the way the analysis worker loads the bundled one (nn.bundle:
model.json readable, weights present and matching their sha256, fitting the network) plus
a method this version can run, so that a bad folder is refused before any case is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from bvae_viewer import paths
from bvae_viewer.analysis.methods import method_info
from bvae_viewer.analysis.model_info import ModelInfo, ModelInfoError, read_model_info
from bvae_viewer.gui import strings
from bvae_viewer.gui.settings import GuiSettings
from bvae_viewer.pipeline.model import MODEL_ERRORS, load_model


def same_folder(a: Path | None, b: Path | None) -> bool:
    """Whether two paths name one folder (symlinks and relative paths resolved)."""
    if a is None or b is None:
        return False
    return Path(a).resolve() == Path(b).resolve()


def is_bundled(folder: Path | None) -> bool:
    """The model shipped with the program (paths.model_dir())."""
    return same_folder(folder, paths.model_dir())


def peek_info(folder: Path) -> ModelInfo | None:
    """model.json of a folder for a menu label, or None when it cannot be read (no weights
    are read here: the full check happens when the model is chosen)."""
    try:
        return read_model_info(folder)
    except (ModelInfoError, OSError):
        return None


@dataclass(frozen=True)
class StartChoice:
    """The model folder a new window uses, and what to say when it is not the saved one."""

    folder: Path
    check: bool  # load it at once (off the GUI thread), falling back on failure
    notice: str = ""  # for the status bar: the saved choice could not be used
    remember: bool = True  # the choice is the saved one (False: `--model` for this run)


def start_choice(cli_folder: Path | None, settings: GuiSettings) -> StartChoice:
    """`--model DIR` for this run, else the saved choice if its folder exists, else the
    bundled model. The bundled one (and `--model`) load lazily with the first case, as
    always; a saved folder is checked at start so that a broken one falls back."""
    if cli_folder is not None:
        return StartChoice(Path(cli_folder), check=False, remember=False)
    saved = settings.model_folder()
    if saved is None or is_bundled(saved):
        return StartChoice(paths.model_dir(), check=False)
    if not saved.is_dir():
        reason = strings.STATUS_MODEL_FOLDER_GONE.format(folder=saved)
        notice = strings.STATUS_MODEL_FALLBACK.format(reason=reason)
        return StartChoice(paths.model_dir(), check=False, notice=notice)
    return StartChoice(saved, check=True)


class ModelLoader(QThread):
    """Loads one model folder on the CPU (the engine moves it to the device later)."""

    loaded = Signal(object)  # Bundle
    failed = Signal(str)  # one sentence

    def __init__(self, folder: Path, parent=None) -> None:
        super().__init__(parent)
        self.folder = Path(folder)

    def run(self) -> None:
        try:
            bundle = load_model(self.folder)
            method_info(bundle.info.method)  # UnknownMethodError (a ValueError): one sentence
        except MODEL_ERRORS as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # a damaged file can fail deep inside torch: still a dialog
            self.failed.emit(strings.ERROR_MODEL_UNEXPECTED.format(folder=self.folder, reason=exc))
            return
        self.loaded.emit(bundle)
