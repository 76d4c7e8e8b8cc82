"""`bvae-viewer evaluate`: the paper's tables, its ablations, baselines and the abstain policy.

On a BraTS-layout folder, split by patient: Table 1 and ROC by uncertainty type for the given
model; the paper and fast configurations, the ablations and the baselines (MC dropout, deep
ensemble, test-time augmentation, ADAE) trained here with the same data and budget; risk-
coverage / AURC of deferring by uncertainty against deferring by score; speed per volume.
Every network trains to the preset's stopping rule (a plateau, within caps); a row whose
network did not learn to reconstruct is reported as not trained. Writes metrics.json and
report.md to the output folder after every group of rows (PNG plots at the end); ``resume``
continues a run in the same folder from the groups it finished.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bvae_viewer.analysis.evaluation import paper
from bvae_viewer.analysis.evaluation.data import EvalData, load_eval_data
from bvae_viewer.analysis.evaluation.fingerprint import data_fingerprint
from bvae_viewer.analysis.evaluation.mvtec_data import load_mvtec_eval_data
from bvae_viewer.analysis.evaluation.store import ResultStore, previous_run
from bvae_viewer.analysis.evaluation.trained import verdict
from bvae_viewer.analysis.methods import BVAE, method_info
from bvae_viewer.analysis.model_info import MODEL_JSON, ModelInfoError
from bvae_viewer.data.brats import find_cases
from bvae_viewer.data.mvtec import is_mvtec_category
from bvae_viewer.nn.bundle import Bundle, load_bundle
from bvae_viewer.nn.device import choose_device, device_label
from bvae_viewer.nn.evaluation.groups import group_rows
from bvae_viewer.nn.evaluation.preset import EvalPreset, get_preset
from bvae_viewer.nn.evaluation.progress import GroupProgress
from bvae_viewer.nn.evaluation.runs import RunContext
from bvae_viewer.paths import model_dir as bundled_model_dir

# Part of the signature that lets a rerun reuse finished rows: raise it whenever a change
# (scoring, training, metrics) makes earlier rows incomparable with new ones.
EVALUATION_VERSION = 3  # 3: networks train to a plateau within caps, not a wall budget
# Preset fields that say which rows run, not how: a resumed run may choose other groups.
NOT_IN_SIGNATURE = ("groups", "progress_bars")


def _logger(start: float):
    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {message}", file=sys.stderr, flush=True)

    return log


def _given_model(model_dir: Path, device: torch.device) -> tuple[Bundle | None, str]:
    """The model of Table 1. Only the default bundled folder may be absent (a checkout
    without a trained model); a folder the user named must hold a model."""
    model_dir = Path(model_dir)
    is_default = model_dir.resolve() == bundled_model_dir().resolve()
    if is_default and not (model_dir / MODEL_JSON).is_file():
        return None, (
            f"no bundled model at {model_dir}: Table 1 shows the configurations trained here."
        )
    bundle = load_bundle(model_dir, device=device)  # ModelInfoError / WeightsError: exit 2
    if bundle.method != BVAE:  # Table 1's given-model row runs a Bayesian VAE
        raise ModelInfoError(
            f"evaluate --model needs a Bayesian VAE; {model_dir} holds a "
            f"{method_info(bundle.method).display_name} model (its rows are trained here)."
        )
    size = bundle.config.image_size
    if 128 % size:
        return (
            None,
            f"the model at {model_dir} works at {size} px; 128 px slices cannot be pooled to it.",
        )
    return bundle, f"{bundle.info.name} ({bundle.info.short_hash}) from {model_dir}, {size} px."


def _header(
    data: EvalData, preset: EvalPreset, seed: int, device: torch.device, model_note: str
) -> dict[str, Any]:
    test_labels = np.concatenate([c.labels for c in data.test])
    return {
        "seed": seed,
        "preset": asdict(preset),
        "data": {
            "root": str(data.root),
            **data.provenance,
            "n_cases": {
                "train": len(data.split.train),
                "val": len(data.split.val),
                "test": len(data.split.test),
            },
            "cases": {
                part: [c.case_id for c in getattr(data.split, part)]
                for part in ("train", "val", "test")
            },
            "n_slices": {
                "train_normal": len(data.train.images),
                "early_stopping": len(data.stopping.images),
                "val": int(sum(len(c.labels) for c in data.val)),
                "test": int(test_labels.size),
            },
            "test_abnormal_fraction": float(test_labels.mean()) if test_labels.size else None,
            "mean_brain_slices_per_test_volume": data.mean_brain_slices,
        },
        "model": {"note": model_note},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"{device_label(device)}",
        "paper": {
            "data": paper.PAPER_DATA,
            "table1": paper.PAPER_TABLE1,
            "by_uncertainty": paper.PAPER_BY_UNCERTAINTY,
            "rows": {k: v[1] for k, v in paper.ROWS.items()},
            "not_run": paper.NOT_RUN,
        },
    }


def _row_line(name: str, rows: dict[str, Any]) -> str:
    row = rows[name]
    if verdict(name, rows):
        return f"{paper.label(name)}: {verdict(name, rows)}: about the same image for every slice"
    auc = row["detection"]["roc_auc"]
    line = f"{paper.label(name)}: ROC AUC {'-' if auc is None else round(auc, 3)}"
    skill = row.get("reconstruction_skill")
    if name not in paper.NOT_RECONSTRUCTION and isinstance(skill, float):
        line += f", reconstruction skill {skill:.2f}"
    return line


def _summary_lines(metrics: dict[str, Any]) -> list[str]:
    def num(v: Any, digits: int = 3) -> str:
        return f"{v:.{digits}f}" if isinstance(v, float | int) else "-"

    lines = [
        f"{'row':<42} {'ROC AUC':>8} {'PR AUC':>8} {'paper':>7} {'AURC unc':>9} "
        f"{'AURC score':>10} {'skill':>6}"
    ]
    for name, row in metrics["rows"].items():
        if verdict(name, metrics["rows"]):
            lines.append(f"{paper.label(name):<42} {verdict(name, metrics['rows'])}")
            continue
        d, a = row.get("detection", {}), row.get("abstention", {}).get("by", {})
        skill = None if name in paper.NOT_RECONSTRUCTION else row.get("reconstruction_skill")
        lines.append(
            f"{paper.label(name):<42} {num(d.get('roc_auc')):>8} {num(d.get('pr_auc')):>8} "
            f"{num(paper.paper_auc(name)):>7} {num(a.get('uncertainty', {}).get('aurc'), 4):>9} "
            f"{num(a.get('score', {}).get('aurc'), 4):>10} {num(skill, 2):>6}"
        )
    return lines


def run_evaluate(
    data_dir: Path,
    out_dir: Path,
    model_dir: Path,
    preset: str | EvalPreset = "quick",
    device: str = "auto",
    seed: int = 0,
    groups: tuple[str, ...] | None = None,
    budget_s: float | None = None,
    resume: bool = False,
) -> int:
    """Evaluate on a BraTS-layout folder; results in out_dir. Returns the exit code (0).

    ``groups`` runs only those row groups (kept in the preset's order, recorded with it);
    ``budget_s`` replaces the preset's wall cap per network (recorded with it too);
    ``resume`` reuses the groups an earlier run finished in out_dir with the same data,
    preset, seed and model (ResumeError, one sentence, where they differ).
    """
    start = time.perf_counter()
    log = _logger(start)
    chosen = preset if isinstance(preset, EvalPreset) else get_preset(preset)  # ValueError
    if groups is not None:
        chosen = replace(chosen, groups=tuple(g for g in chosen.groups if g in groups))
    if budget_s is not None:
        chosen = replace(chosen, budget_s=float(budget_s))
    dev = choose_device(device)  # DeviceError when CUDA is asked for and missing
    bundle, model_note = _given_model(Path(model_dir), dev)
    mvtec = is_mvtec_category(Path(data_dir))  # MVTec AD layout: CATEGORY/train/good, test
    if not mvtec:
        find_cases(data_dir)  # a bad folder fails here, before any output (DatasetError: exit 2)
    signature = {
        "version": EVALUATION_VERSION,
        "preset": {k: v for k, v in asdict(chosen).items() if k not in NOT_IN_SIGNATURE},
        "seed": seed,
        "data": data_fingerprint(Path(data_dir), outside=Path(out_dir)),  # wherever it lies
        "model": bundle.info.sha256 if bundle is not None else None,
    }
    previous_run(Path(out_dir), signature, resume)  # refuse now, not after loading the data
    log(f"evaluate: preset {chosen.name}, {device_label(dev)}, data {data_dir}")
    load = load_mvtec_eval_data if mvtec else load_eval_data
    data = load(Path(data_dir), chosen, seed)
    log(
        f"{len(data.split.train)} train / {len(data.split.val)} val / {len(data.split.test)} "
        f"test cases; {len(data.train.images)} normal training slices; "
        f"{data.provenance['kind']} data"
    )
    header = _header(data, chosen, seed, dev, model_note)
    signature["cases"] = header["data"]["cases"]  # the same subjects for every row
    store = ResultStore(Path(out_dir), header, signature, started=start, resume=resume)
    if bundle is None:
        store.note(f"Given model: {model_note}")
    status = "failed"
    try:
        with tempfile.TemporaryDirectory(prefix="bvae-evaluate-") as work:
            ctx = RunContext(data, chosen, seed, dev, Path(work), log, bundle, store.note)
            progress = GroupProgress(chosen)
            carried = store.carry_over(chosen.groups)
            if carried:
                log(f"kept from the earlier run: {', '.join(carried)}")
            for i, group in enumerate(chosen.groups, 1):
                log(f"[{i}/{len(chosen.groups)}] {group}")
                t0 = time.perf_counter()
                reused = store.reuse(group) is not None
                rows = [] if reused else group_rows(ctx, group)
                if rows:
                    store.add(group, rows)
                    for r in rows:
                        log("  " + _row_line(r.name, store.metrics["rows"]))
                log(progress.done(i, group, time.perf_counter() - t0, reused))
        status = "done"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        metrics = store.finish(status)
    print("\n".join(_summary_lines(metrics)))
    print(
        f"wrote {out_dir}/metrics.json, report.md and {len(metrics['plots'])} plots "
        f"in {time.perf_counter() - start:.0f} s"
    )
    return 0
