"""Markdown formatting for the report: numbers as metrics.json stores them, and tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DASH = "–"


def number(value: Any) -> float | None:
    """A number from metrics.json, where inf and NaN are stored as strings."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, float | int) or value != value:
        return None
    return float(value)


def fixed(value: Any, digits: int = 3) -> str:
    """A number with fixed decimals; a dash where there is none."""
    value_ = number(value)
    if value_ is not None:
        return f"{value_:.{digits}f}"
    if isinstance(value, str) and value.lower() != "nan":
        return value  # a word such as "not run"
    return DASH


def sig4(value: Any) -> str:
    """Small quantities (scores, thresholds) in 4 significant digits."""
    value_ = number(value)
    return DASH if value_ is None else f"{value_:.4g}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A markdown table and the blank line after it."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return [*lines, ""]


def get_path(row: dict[str, Any], *path: str) -> Any:
    """row[path[0]][path[1]]..., or None where a key is missing."""
    for key in path:
        if not isinstance(row, dict) or key not in row:
            return None
        row = row[key]
    return row


def delta(ours: float | None, ref: float | None) -> str:
    """A signed difference, or a dash."""
    if ours is None or ref is None:
        return DASH
    return f"{ours - ref:+.3f}"
