"""The evaluation's output folder, written after every group of rows.

metrics.json and report.md are rewritten (atomically) as each group finishes, so a crash or
an interrupt loses the group under way at most; the plots (a few seconds each) are drawn
when the run ends, however it ends. Each group's per-slice results also go to
rows/GROUP.json. A run with ``resume`` reuses the groups an earlier run finished in the same
folder with the same data, preset, seed and model, and refuses where those differ; a run
without it refuses a folder that holds finished groups, so no long run is overwritten by
accident.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bvae_viewer.analysis.evaluation.plots import PlotRow, write_plots
from bvae_viewer.analysis.evaluation.report import render_report
from bvae_viewer.analysis.evaluation.slices import OperatingPoint, ScoredSlices
from bvae_viewer.analysis.evaluation.summary import summarise_row
from bvae_viewer.analysis.evaluation.trained import is_trained, results

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
ROWS_DIR = "rows"
PLOT_FAILURE = "plots not drawn"
# Signature keys -> what they are, for the sentence that refuses to resume.
SIGNATURE_WORDS = {
    "version": "evaluation version",
    "preset": "preset",
    "seed": "seed",
    "cases": "set of cases",
    "data": "set of images",
    "model": "given model",
}


class ResumeError(ValueError):
    """The output folder holds another run than the one asked for (message for the user)."""


@dataclass
class RowRecord:
    """One row as the nn side hands it over."""

    name: str
    test: ScoredSlices
    op: OperatingPoint
    meta: dict[str, Any] = field(default_factory=dict)  # config, training, speed, ...
    val: ScoredSlices | None = None


def _json_safe(value: Any) -> Any:
    """JSON has no inf/NaN: they become strings a reader can still parse with float()."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def rows_text(columns: dict[str, Any]) -> str:
    """A group's per-slice results as JSON text, one column to a line: text so a run kept in
    the repository diffs like the rest of it, and floats in full so a resumed run reads back
    the very scores it wrote (NaN and infinity spelt out, as in metrics.json)."""
    lines = (
        f"{json.dumps(k)}: {json.dumps(_json_safe(v), allow_nan=False)}"
        for k, v in columns.items()
    )
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_atomic(path: Path, text: str) -> None:
    """Whole or not at all: a stopped run leaves no half-written table."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def previous_run(out_dir: Path, signature: dict[str, Any], resume: bool) -> dict[str, Any]:
    """The metrics of the earlier run in out_dir that this one may continue ({} if none).

    ResumeError, one sentence, where out_dir holds finished groups and ``resume`` is off, or
    where the earlier run's signature differs in one of the keys both hold (a check before
    the data is loaded may leave the cases out).
    """
    try:
        old = json.loads((Path(out_dir) / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    done = old.get("groups_done") or []
    if not done:
        return {}
    if not resume:
        raise ResumeError(
            f"{out_dir} holds the rows of an earlier run ({', '.join(done)}): add --resume to "
            "continue it, or choose another --out."
        )
    ours = json.loads(json.dumps(_json_safe(signature)))  # as metrics.json stores it
    theirs = old.get("signature") or {}
    # A key the earlier run did not record (an older version's) is not compared: the
    # evaluation version guards changes that make rows incomparable.
    both = [k for k in SIGNATURE_WORDS if k in ours and k in theirs]
    differ = [SIGNATURE_WORDS[k] for k in both if theirs[k] != ours[k]]
    if differ:
        raise ResumeError(
            f"Cannot resume the run in {out_dir}: it was made with another "
            f"{' and '.join(differ)}; run with its settings, or choose another --out."
        )
    return old


class ResultStore:
    """Accumulates rows and keeps the output folder current."""

    def __init__(
        self,
        out_dir: Path,
        header: dict[str, Any],
        signature: dict[str, Any],
        started: float | None = None,
        resume: bool = False,
    ) -> None:
        """``started``: time.perf_counter() when the run began (its wall time counts from it).

        ResumeError where the folder holds finished groups and ``resume`` is off, or where it
        is on and the folder's run had other settings.
        """
        self.out_dir = Path(out_dir)
        (self.out_dir / ROWS_DIR).mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter() if started is None else started
        self.signature = json.loads(json.dumps(_json_safe(signature)))
        self.metrics: dict[str, Any] = {
            "format_version": 1,
            "status": "running",
            **_json_safe(header),
            "signature": self.signature,
            "groups_done": [],
            "group_runs": {},  # group -> when it finished and how long it took
            "rows": {},
            "plots": [],
            "notes": [],
        }
        self.plot_rows: dict[str, PlotRow] = {}
        self._group_started = time.perf_counter()
        self._previous = previous_run(self.out_dir, self.signature, resume)
        for text in self._previous.get("notes", []):
            if not text.startswith(PLOT_FAILURE):  # about the old run's ending, not the data
                self.note(text)

    def note(self, text: str) -> None:
        if text not in self.metrics["notes"]:
            self.metrics["notes"].append(text)

    def carry_over(self, groups: Sequence[str]) -> list[str]:
        """Reuse the groups an earlier run finished that this one does not run, so a resumed
        run of the groups left keeps every row (and a later run of all groups trains none
        again); the groups carried over."""
        earlier = [g for g in self._previous.get("groups_done", []) if g not in groups]
        return [g for g in earlier if self.reuse(g) is not None]

    def reuse(self, group: str) -> list[str] | None:
        """Load a group finished by an earlier run with the same signature; its row names."""
        if group not in self._previous.get("groups_done", []):
            return None
        try:
            data = json.loads(self._rows_path(group).read_text(encoding="utf-8"))
            names = [str(n) for n in data["names"]]
            for name in names:
                op = OperatingPoint.from_dict(data[f"{name}.op"])
                test = ScoredSlices.from_columns(data, f"{name}.test.")
                self._add_row(name, test, op, self._previous["rows"][name])
        except (OSError, KeyError, TypeError, ValueError):
            return None
        self.metrics["groups_done"].append(group)
        self.metrics["group_runs"][group] = self._previous.get("group_runs", {}).get(group, {})
        self._write()
        self._group_started = time.perf_counter()
        return names

    def _rows_path(self, group: str) -> Path:
        return self.out_dir / ROWS_DIR / f"{group}.json"

    def _add_row(self, name: str, test: ScoredSlices, op: OperatingPoint, summary: dict) -> None:
        self.metrics["rows"][name] = summary
        self.plot_rows[name] = PlotRow(name, test, op)

    def add(self, group: str, rows: list[RowRecord]) -> None:
        """Summarise and save a finished group, then rewrite every output."""
        columns: dict[str, Any] = {"names": [r.name for r in rows]}
        for r in rows:
            summary = _json_safe(r.meta | summarise_row(r.test, r.op))
            summary["n_test_slices"] = len(r.test)
            if isinstance(summary.get("training"), dict):
                summary["training"]["final_skill"] = summary["reconstruction_skill"]
            self._add_row(r.name, r.test, r.op, summary)
            columns[f"{r.name}.op"] = asdict(r.op)
            columns |= r.test.to_columns(f"{r.name}.test.")
            if r.val is not None:
                columns |= r.val.to_columns(f"{r.name}.val.")
        write_atomic(self._rows_path(group), rows_text(columns))
        for r in rows:  # after the whole group: ADAE's rows judge each other
            self.metrics["rows"][r.name]["trained"] = is_trained(r.name, self.metrics["rows"])
        self.metrics["groups_done"].append(group)
        self.metrics["group_runs"][group] = {
            "finished": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "seconds": round(time.perf_counter() - self._group_started, 1),
        }
        self._write()
        self._group_started = time.perf_counter()

    def _write(self) -> None:
        self.metrics["wall_seconds"] = round(time.perf_counter() - self.started, 1)
        text = json.dumps(_json_safe(self.metrics), indent=1, allow_nan=False)
        write_atomic(self.out_dir / METRICS_FILE, text + "\n")
        write_atomic(self.out_dir / REPORT_FILE, render_report(self.metrics))

    def finish(self, status: str = "done") -> dict[str, Any]:
        """Draw the plots and write the final metrics.json and report.md."""
        self.metrics["status"] = status
        counted = results(self.metrics["rows"])  # a network that did not learn is not plotted
        try:
            plotted = [r for name, r in self.plot_rows.items() if name in counted]
            self.metrics["plots"] = write_plots(plotted, self.out_dir)
        except Exception as exc:  # a failed plot must not hide why the run itself stopped
            if status == "done":
                raise
            self.note(f"{PLOT_FAILURE}: {exc}")
        self._write()
        return self.metrics
