"""Words of the review workflow: one case on screen, findings, undo, incomplete runs.

Kept apart from gui.strings (the window's other words) so each stays readable.
"""

from __future__ import annotations

DECIDING = "Deciding on: <b>{case}</b>"
DECIDING_NONE = "Deciding on: no case open"
# The model's own call on the whole case, beside the reviewer's, with the rule that made it.
MODEL_CALL = "Model's call on the case: <b style='color:{colour}'>{call}</b>{why}"
MODEL_CALL_WORDS = {"flagged": "flagged", "review": "needs review", "normal": "normal"}
DECIDING_BATCH_NONE = "Deciding on: no case of the batch (choose one here)"
BATCH_SUSPENDED = (
    "Batch suspended: the case on screen is not one of this batch's. "
    "Choose a case here to resume the batch."
)
BATCH_NOT_ON_SCREEN = (
    "{name} is not the case on screen; nothing was recorded. Choose it in the Cases tab first."
)
QUEUE_WHY_COLUMN = "Why"
QUEUE_ORDER_ERROR_MODEL = (
    "Findings first, then the slices in review ordered by the calibrated probability that "
    "the model's call is wrong (P(wrong)), then the rest."
)
QUEUE_ORDER_MARGIN = (
    "Findings first, then the slices in review ordered by closeness to the score threshold "
    "(this model has no calibrated error probability), then the rest."
)
QUEUE_P_WRONG = "P(wrong) {p:.2f}"
QUEUE_FINDING_DECIDED = "{decided} of {total} decided"
QUEUE_FINDING_TIP = (
    "{describe}. Shift+A marks every slice of it abnormal; J/K and A/N/D work slice by slice."
)
ACT_RUN_ABNORMAL = "Mark the whole &finding abnormal"
ACT_UNDO = "&Undo last decision"
ACT_CLEAR_DECISION = "C&lear decision"
ACT_CASE_CLEAR = "Clear whole-case decision"
ACT_ANALYSE_AGAIN = "Analyse a&gain"
STATUS_NO_FINDING = "The slice on screen belongs to no finding (a run of flagged slices)."
STATUS_RUN_DECIDED = "{finding}: {count} slices marked abnormal, saved for {reviewer}."
STATUS_UNDONE = "Undone: {what}. The decision that stood before is back."
STATUS_NOTHING_TO_UNDO = "Nothing to undo in this case."
STATUS_CLEARED = "Decision cleared on {what} (kept in the audit trail; Ctrl+Z brings it back)."
STATUS_NOTHING_TO_CLEAR = "{what} has no decision to clear."
UNDO_WHAT_SLICE = "slice {slice}"
UNDO_WHAT_SLICES = "{count} slice decisions made together"
UNDO_WHAT_CASE = "the whole-case decision"
UNDO_WHAT_CLEAR = "the clearing of {what}"
INCOMPLETE_BANNER = (
    "Analysis incomplete ({why}): {done} of {total} slices analysed. Findings and the case "
    "call may be missing; Review > Analyse again (F5) completes it."
)
INCOMPLETE_WHY = {"cancelled": "cancelled", "failed": "failed"}
INCOMPLETE_BUTTON = "{decision} (incomplete)"
INCOMPLETE_CONFIRM_TITLE = "Decide an incomplete case?"
INCOMPLETE_CONFIRM = (
    "Only {done} of {total} slices of {case} were analysed. Record a whole-case decision "
    "anyway? It is saved with a note that the analysis was incomplete."
)
INCOMPLETE_NOTE = "[analysis incomplete: {done} of {total} slices analysed]"
STATUS_CASE_NOT_DECIDED = "Whole-case decision not recorded."
