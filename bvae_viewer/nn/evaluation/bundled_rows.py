"""The `bundled` group: the given model exactly as the app runs it (Table 1's first row).

Every case of the folder the model never saw goes whole through the app's InferenceEngine,
as `analyze` runs it: the model's own SliceScores (its alpha and A_pixel reduction), its
TriagePolicy and case rule from model.json. The row measures the same test slices as every
other row; the held-out figures (per case, pooled, case calls) take every brain slice of the
unseen cases, so `evaluate --groups bundled` on a folder of held-out subjects measures them.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bvae_viewer.analysis.case import assess_case
from bvae_viewer.analysis.evaluation.data import EvalCase, EvalData, pool_stack
from bvae_viewer.analysis.evaluation.heldout import HeldoutCase, heldout_summary
from bvae_viewer.analysis.evaluation.slices import (
    OperatingPoint,
    ScoredSlices,
    scored_case,
    slice_extras,
)
from bvae_viewer.analysis.evaluation.store import RowRecord
from bvae_viewer.analysis.maps import SliceResult
from bvae_viewer.data.brats import BratsCase, find_cases, load_case, synthetic_source
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.evaluation.runs import RowsFn, RunContext, parameters_m


def _seen(bundle: Bundle, root: Path) -> tuple[set[str], str]:
    """IDs of the cases the model trained or calibrated on (model.json lists them), and why
    none of them count here: synthetic sets reuse their IDs under every seed, so cases of a
    set made with another seed than the model's training set are all new to it."""
    trained_on = bundle.info.training.get("data_source")
    here = synthetic_source(root)
    if trained_on and here and trained_on.get("seed") != here.get("seed"):
        return set(), (
            f"The given model trained on synthetic seed {trained_on.get('seed')}; this "
            f"data is seed {here.get('seed')}: every test case is new to it, IDs apart."
        )
    cases = bundle.info.training.get("cases", {})
    return set(cases.get("train", [])) | set(cases.get("val", [])), ""


def _unseen_test_cases(bundle: Bundle, data: EvalData) -> tuple[list[EvalCase], str]:
    """Test cases the given model neither trained nor calibrated on, and a note on it."""
    seen, note = _seen(bundle, data.root)
    if note:
        return list(data.test), note
    unseen = [c for c in data.test if c.case_id not in seen]
    dropped = len(data.test) - len(unseen)
    if not dropped:
        return unseen, ""
    return unseen, (
        f"{dropped} of {len(data.test)} test cases were excluded from the given model's rows: "
        "model.json lists them among its training or validation cases."
    )


def _test_slices(case: EvalCase, results: list[SliceResult]) -> ScoredSlices:
    """The case's test slices (those every row scores), from its whole-volume run: the
    engine's own scores, at the model's alpha and reduction. A slice the app leaves empty
    at the model's size (too little brain once pooled) has no score and is left out."""
    by_index = {r.scores.slice_index: r for r in results}
    scored, labels = [], []
    for k, label in zip(case.slice_index, case.labels, strict=True):
        r = by_index[int(k)]
        if r.scores.empty:
            continue
        scored.append((r.scores, slice_extras(r.maps)))
        labels.append(label)
    return scored_case(case.case_id, np.array(labels, dtype=bool), scored)


def bundled_rows(ctx: RunContext) -> list[RowRecord]:
    """Table 1 for the given model: its own size, alpha, reduction and thresholds."""
    bundle = ctx.bundle
    if bundle is None:
        return []
    if ctx.data.provenance.get("kind") == "mvtec":
        ctx.note("The given model's rows need volumes: not run on MVTec images.")
        return []
    test, note = _unseen_test_cases(bundle, ctx.data)
    if note:
        ctx.note(note)
    if not test:
        return []
    seen, _ = _seen(bundle, ctx.data.root)
    unseen: list[BratsCase] = [c for c in find_cases(ctx.data.root) if c.case_id not in seen]
    wanted = {c.case_id: c for c in test}
    engine = InferenceEngine(bundle, device=ctx.device, samples=ctx.preset.samples)
    size, cal = bundle.image_size, bundle.info.calibration
    parts, heldout, seconds, volumes = [], [], [], []
    ctx.log(f"  the given model on {len(unseen)} unseen cases, whole volumes")
    for case in unseen:
        labelled = load_case(case)
        stack = pool_stack(labelled.stack, size)
        t0 = time.perf_counter()
        results = list(engine.run(stack))
        seconds.append(time.perf_counter() - t0)
        volumes.append(int(stack.has_brain.sum()))
        result = assess_case(stack, [r.scores for r in results], cal)
        heldout.append(HeldoutCase(case.case_id, labelled.labels, result))
        if case.case_id in wanted:
            parts.append(_test_slices(wanted[case.case_id], results))
    scored = ScoredSlices.concat(parts)
    per_slice = float(np.sum(seconds)) / max(1, sum(volumes))
    speed = {
        "s_per_slice": per_slice,
        "s_per_volume": per_slice * ctx.data.mean_brain_slices,
        "engine_s_per_volume": float(np.mean(seconds)),
        "engine_volumes": len(seconds),
    }
    meta = {
        "config": asdict(bundle.config),
        "training": None,
        "parameters_m": parameters_m(bundle.network),
        "model": bundle.info.name,
        "sha256": bundle.info.sha256,
        "speed": speed,
        "image_size": size,
        "heldout": heldout_summary(heldout),
    }
    ctx.log(f"  bundled: scored {len(scored)} test slices ({per_slice * 1000:.1f} ms/slice)")
    op = OperatingPoint.from_calibration(cal, "model.json")
    return [RowRecord("bundled", scored, op, meta)]


GROUPS: dict[str, RowsFn] = {"bundled": bundled_rows}
