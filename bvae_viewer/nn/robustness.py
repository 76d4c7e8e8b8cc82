"""`bvae-viewer evaluate --robustness`: run a model over the robustness suite's cases.

Every case is a synthetic volume written as NIfTI and then read, preprocessed, inferred and
triaged as the app does it (io.load_volume, preprocess_volume, InferenceEngine, and
analysis.case.assess_case with the model's own Calibration and TriagePolicy). Volumes are
kept in a cache folder when one is given, so a second model is measured on the very same
cases without generating them again. The arithmetic and the report are in
analysis.evaluation.robustness and robustness_report.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from bvae_viewer.analysis.case import assess_case, json_safe
from bvae_viewer.analysis.evaluation.robustness import (
    CaseOutcome,
    Setting,
    goal_verdict,
    plans_for,
    setting_for,
    summarise,
)
from bvae_viewer.analysis.evaluation.robustness_report import markdown_section, plot_factor
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.data.preprocess import preprocess_volume
from bvae_viewer.data.synth.anatomies import SOURCES, available
from bvae_viewer.data.synth.anatomy import SynthError
from bvae_viewer.data.synth.case import generate_case
from bvae_viewer.data.synth.dataset import GENERATOR_VERSION
from bvae_viewer.data.synth.deform import STORED_AFFINE
from bvae_viewer.io import load_volume
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.engine import InferenceEngine

JSON_NAME = "robustness.json"
MARKDOWN_NAME = "robustness.md"
_SUBJECT_STREAM = 0x0B57


def subject_seed(seed: int, index: int) -> int:
    """Subject ``index`` of the suite: the same subject at every strength of every factor."""
    sequence = np.random.SeedSequence(entropy=seed, spawn_key=(_SUBJECT_STREAM, index))
    return int(sequence.generate_state(1)[0])


def _case_file(folder: Path, setting: Setting, seed: int, has_tumour: bool) -> Path:
    key = f"{GENERATOR_VERSION}|{setting.key}|{seed}|{has_tumour}"
    return folder / f"case_{hashlib.sha1(key.encode()).hexdigest()[:16]}.nii"


def _case_on_disk(folder: Path, setting: Setting, seed: int, has_tumour: bool) -> Path:
    """The case's volume file and, beside it, its slices' tumour labels (made if absent)."""
    path = _case_file(folder, setting, seed, has_tumour)
    labels = path.with_suffix(".tumour.npy")
    if path.is_file() and labels.is_file():
        return path
    case = generate_case(seed, has_tumour, anatomy_name=setting.anatomy,
                         factors=setting.factors)
    partial = path.with_name(f".{path.name}.partial.nii")
    nib.save(nib.Nifti1Image(case.image, STORED_AFFINE), partial)
    np.save(labels, case.seg.reshape(-1, case.seg.shape[2]).any(axis=0))
    partial.replace(path)
    return path


def run_case(
    engine: InferenceEngine, bundle: Bundle, path: Path, setting_key: str, has_tumour: bool
) -> CaseOutcome:
    """One case through the app's own loading, preprocessing, inference and triage."""
    stack = preprocess_volume(load_volume(path))
    scores = [r.scores for r in engine.run(stack)]
    result = assess_case(stack, scores, bundle.info.calibration)
    tumour_by_slice = np.load(path.with_suffix(".tumour.npy"))
    brain = [i for i, s in enumerate(result.scores) if not s.empty]
    return CaseOutcome(
        setting_key=setting_key,
        has_tumour=has_tumour,
        decision=result.case.decision.value,
        tumour_slice=np.array([tumour_by_slice[result.scores[i].slice_index] for i in brain],
                              dtype=bool),
        score=np.array([result.scores[i].anomaly_score for i in brain], dtype=float),
        flagged=np.array([result.decisions[i] == Decision.FLAGGED for i in brain], dtype=bool),
    )


def _record(path: Path, outcome: CaseOutcome, seed: int, cache_dir: Path | None) -> dict:
    return {
        "file": path.name if cache_dir is not None else None,
        "setting": outcome.setting_key,
        "seed": seed,
        "has_tumour": outcome.has_tumour,
        "decision": outcome.decision,
        "brain_slices": int(outcome.score.size),
        "flagged_slices": int(outcome.flagged.sum()),
        "tumour_slices": int(outcome.tumour_slice.sum()),
    }


def _write(out_dir: Path, plans, rows, header: dict, records: list[dict]) -> dict:
    """robustness.json, robustness.md and the plots of the factors measured so far."""
    done = [p for p in plans if any(r.factor == p.name for r in rows)]
    plots = {
        plan.name: plot_factor(plan, [r for r in rows if r.factor == plan.name],
                               out_dir / f"robustness_{plan.name}.png").name
        for plan in done
    }
    payload = {
        **header,
        "rows": [r.as_dict() for r in rows],
        "goal_met": goal_verdict(rows),
        "plots": plots,
        "cases": records,
    }
    (out_dir / JSON_NAME).write_text(json.dumps(json_safe(payload), indent=2) + "\n",
                                     encoding="utf-8")
    (out_dir / MARKDOWN_NAME).write_text(markdown_section(rows, header, plots),
                                         encoding="utf-8")
    return payload


def _log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_robustness(
    bundle: Bundle,
    out_dir: Path,
    normals: int = 4,
    tumours: int = 2,
    factor_names: Sequence[str] | None = None,
    seed: int = 0,
    device: str = "auto",
    samples: int = 5,
    cache_dir: Path | None = None,
    command: str = "",
    log: Callable[[str], None] = _log_to_stderr,
) -> dict:
    """Run the suite; write robustness.json, robustness.md and a PNG per factor to out_dir."""
    plans = plans_for(factor_names)  # ValueError for an unknown factor, before any work
    if normals < 1 or tumours < 0:
        raise ValueError("The suite needs at least one normal subject per strength.")
    for plan in plans:  # a missing head stops the suite before any work, in one sentence
        if plan.field == "anatomy":
            for name in plan.strengths:
                if not available(str(name)):
                    raise SynthError(f"The robustness suite's {name} anatomy is not installed: "
                                     f"{SOURCES[str(name)].install}.")
    start = time.perf_counter()
    engine = InferenceEngine(bundle, device=device, samples=samples)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    subjects = [(subject_seed(seed, i), i >= normals) for i in range(normals + tumours)]
    outcomes: dict[tuple[str, int, bool], CaseOutcome] = {}
    records: list[dict] = []  # per case: which file, what it is, what the app decided
    rows = []
    payload: dict = {}
    with tempfile.TemporaryDirectory(prefix="bvae-robustness-") as scratch:
        folder = Path(cache_dir) if cache_dir is not None else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for plan in plans:
            for strength in plan.strengths:
                setting = setting_for(plan, strength)
                cases = []
                for case_seed, has_tumour in subjects:
                    key = (setting.key, case_seed, has_tumour)
                    if key not in outcomes:  # the neutral scan recurs in several factors
                        path = _case_on_disk(folder, setting, case_seed, has_tumour)
                        outcomes[key] = run_case(engine, bundle, path, setting.key, has_tumour)
                        records.append(_record(path, outcomes[key], case_seed, cache_dir))
                    cases.append(outcomes[key])
                row = summarise(plan, strength, cases)
                rows.append(row)
                log(f"  {plan.name} {strength}: {row.decisions}, slices flagged "
                    f"{row.normal_slices_flagged}, vs normal AUROC "
                    f"{row.tumour_vs_varied_normal_auc}")
            # Written after every factor: a long run stopped early keeps what it measured.
            header = {
                "model": f"{bundle.info.name} ({bundle.info.short_hash})",
                "command": command,
                "normals": normals,
                "tumours": tumours,
                "n_cases": len(outcomes),
                "seconds": time.perf_counter() - start,
                "device": engine.device_label,
                "samples": samples,
                "seed": seed,
                "generator_version": GENERATOR_VERSION,
                "complete": plan is plans[-1],
            }
            payload = _write(out_dir, plans, rows, header, records)
    return payload
