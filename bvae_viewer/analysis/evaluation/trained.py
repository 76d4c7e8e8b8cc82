"""Which rows hold a network that learned its job: only those count as results.

A network whose reconstruction skill on the normal test slices is below
``paper.COLLAPSED_SKILL`` returns about the same image for every slice; its ROC AUC ranks
slices by brightness, not by anything the method does. Such a row keeps its numbers in
metrics.json, but every table shows it as not trained and no result section uses it.
"""

from __future__ import annotations

from typing import Any

from bvae_viewer.analysis.evaluation import paper
from bvae_viewer.analysis.evaluation.markdown import number

NOT_TRAINED = "not trained"
# Rows whose score is no reconstruction, judged by a row of the same networks that is.
JUDGED_BY = {"adae": "adae_x"}


def row_skill(name: str, rows: dict[str, Any]) -> float | None:
    """The reconstruction skill that judges a row (its own, or its networks' other row's)."""
    source = JUDGED_BY.get(name, name)
    if source in paper.NOT_RECONSTRUCTION or source not in rows:
        return None
    return number(rows[source].get("reconstruction_skill"))


def is_trained(name: str, rows: dict[str, Any]) -> bool | None:
    """False below the skill; None where no skill applies (segmentation, distillation)."""
    skill = row_skill(name, rows)
    return None if skill is None else skill >= paper.COLLAPSED_SKILL


def not_trained(rows: dict[str, Any]) -> dict[str, float]:
    """Rows whose network did not learn to reconstruct, with the skill that says so."""
    return {name: row_skill(name, rows) for name in rows if is_trained(name, rows) is False}  # type: ignore[misc]


def results(rows: dict[str, Any]) -> dict[str, Any]:
    """The rows that count as results (every row but the not trained ones), in order."""
    out = not_trained(rows)
    return {name: row for name, row in rows.items() if name not in out}


def verdict(name: str, rows: dict[str, Any]) -> str:
    """'not trained (skill -0.31)' for a row that does not count; '' otherwise."""
    if is_trained(name, rows) is not False:
        return ""
    return f"{NOT_TRAINED} (skill {row_skill(name, rows):.2f})"
