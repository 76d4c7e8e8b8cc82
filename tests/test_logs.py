"""The log file: written under the state folder, rotated, and never in the user's way."""

import logging
import os
import shutil
from pathlib import Path

import pytest

from bvae_viewer import logs, paths


@pytest.fixture(autouse=True)
def _detach_handlers():
    """setup_logging configures a process-wide logger: leave it as it was found."""
    logger = logging.getLogger(logs.ROOT_LOGGER)
    before, level = list(logger.handlers), logger.level
    yield
    for handler in list(logger.handlers):
        if handler not in before:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(level)


def state() -> Path:
    return Path(os.environ[paths.STATE_ENV])


def flush() -> None:
    for handler in logging.getLogger(logs.ROOT_LOGGER).handlers:
        handler.flush()


def test_records_go_to_a_file_in_the_log_dir():
    path = logs.setup_logging()
    assert path == paths.log_dir() / logs.LOG_FILE and path.parent == state() / "log"
    logging.getLogger("bvae_viewer.nn.pipeline").info("hello %s", "there")
    logging.getLogger("bvae_viewer.nn.pipeline").debug("not at INFO")
    logging.getLogger("somebody.else").warning("not ours")
    flush()
    text = path.read_text()
    assert "INFO" in text and "bvae_viewer.nn.pipeline: hello there" in text
    assert "not at INFO" not in text and "not ours" not in text


def test_setting_up_twice_keeps_one_handler():
    logs.setup_logging()
    logs.setup_logging()
    logger = logging.getLogger(logs.ROOT_LOGGER)
    assert sum(getattr(h, "_bvae_viewer", False) for h in logger.handlers) == 1


def test_the_level_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(logs.LEVEL_ENV, "debug")
    path = logs.setup_logging()
    logging.getLogger("bvae_viewer.x").debug("a debug line")
    flush()
    assert "a debug line" in path.read_text()


def test_files_rotate(monkeypatch):
    monkeypatch.setattr(logs, "MAX_BYTES", 2000)
    path = logs.setup_logging()
    for i in range(500):
        logging.getLogger("bvae_viewer.x").info("line %d of a long run", i)
    flush()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == [logs.LOG_FILE, *(f"{logs.LOG_FILE}.{i}" for i in range(1, logs.BACKUPS + 1))]
    assert all(p.stat().st_size <= 2200 for p in path.parent.iterdir())


def test_an_unwritable_log_dir_leaves_a_silent_logger(capfd):
    (state() / "log").write_text("a file where the folder should be")  # fails as root too
    assert logs.setup_logging() is None
    logging.getLogger("bvae_viewer.x").warning("nowhere to go")
    assert capfd.readouterr().err == ""  # no last-resort printing on stderr


def test_a_write_that_fails_later_is_dropped_quietly(monkeypatch, capfd):
    monkeypatch.setattr(logs, "MAX_BYTES", 500)
    path = logs.setup_logging()
    shutil.rmtree(path.parent)  # rotating now fails: the folder is gone
    for i in range(50):
        logging.getLogger("bvae_viewer.x").warning("line %d", i)
    assert capfd.readouterr().err == ""
