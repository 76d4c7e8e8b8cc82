"""What can go wrong with a PACS, each said in one sentence for the user."""

from __future__ import annotations


class PacsError(Exception):
    """A PACS problem worth one clear sentence (the CLI exits 2, the window shows a dialog)."""


class PacsUnreachableError(PacsError):
    """The PACS did not answer, answered too slowly, or refused the request."""


class NotBrainMrError(PacsError):
    """The series (or every series of a study) is not a brain MR."""


class IncompleteSeriesError(PacsError):
    """Fewer instances arrived than the PACS listed: nothing is analysed or stored."""


class PullCancelled(PacsError):
    """The user cancelled a pull; nothing was kept."""


class PushError(PacsError):
    """The PACS did not store the results; they stay in the local outbox."""


class ResultObjectError(PacsError):
    """The source series lacks what a DICOM result object must reference."""
