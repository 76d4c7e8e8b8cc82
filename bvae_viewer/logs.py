"""The log file: what an engineer needs after the fact, in paths.log_dir().

Every subcommand (the window too, which starts through cli.main) calls setup_logging() once.
Records of the ``bvae_viewer`` loggers go to a rotating file; nothing goes to the terminal,
where the user sees only the program's own messages. Patient identifiers from image headers
are never logged (file paths are: the log stays on this computer, like the files).

Logging must never stop the program: an unwritable log folder leaves a silent logger, and a
write that fails later (disk full, folder removed) is dropped without a word on stderr.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

LOG_FILE = "bvae-viewer.log"
MAX_BYTES = 2 * 1024 * 1024  # per file; with BACKUPS old files, at most ~10 MB in all
BACKUPS = 4
LEVEL_ENV = "BVAE_VIEWER_LOG_LEVEL"  # e.g. DEBUG; default INFO
ROOT_LOGGER = "bvae_viewer"
FORMAT = "%(asctime)s %(levelname)-7s [%(process)d] %(name)s: %(message)s"


class _QuietRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating file handler whose failures stay out of the user's terminal."""

    def handleError(self, record: logging.LogRecord) -> None:
        # The default prints "--- Logging error ---" and a traceback on stderr, which would
        # break the CLI's one-line error contract over a log line.
        pass


def _level() -> int:
    name = os.environ.get(LEVEL_ENV, "INFO").strip().upper()
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.INFO


def setup_logging() -> Path | None:
    """Send the program's log records to log_dir()/bvae-viewer.log; returns that path, or
    None when it cannot be written (the program then runs without a log file).

    Calling it again replaces the handler it installed before (tests call main() repeatedly).
    """
    logger = logging.getLogger(ROOT_LOGGER)
    for handler in list(logger.handlers):
        if getattr(handler, "_bvae_viewer", False):
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(_level())
    handler: logging.Handler
    path: Path | None
    try:
        from bvae_viewer.paths import log_dir

        path = log_dir() / LOG_FILE
        handler = _QuietRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter(FORMAT))
    except OSError:
        # A NullHandler, not nothing: with no handler at all, logging's last resort would
        # print every warning on stderr.
        path, handler = None, logging.NullHandler()
    handler._bvae_viewer = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    return path
