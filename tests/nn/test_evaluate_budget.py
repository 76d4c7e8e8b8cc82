"""The evaluation's budget: a stopping rule instead of a wall clock, not-trained rows, resume.

Tiny presets on a tiny BraTS-layout folder written here; every cap but the epochs is out of
reach, so the runs are deterministic on the CPU and two of them can be compared number for
number.
"""

import json
import shutil
from dataclasses import replace

import pytest

from bvae_viewer.cli import main
from bvae_viewer.nn.evaluate import run_evaluate
from bvae_viewer.nn.evaluation.preset import QUICK, group_caps
from bvae_viewer.nn.evaluation.progress import GroupProgress
from bvae_viewer.nn.evaluation.runs import stop_reason
from bvae_viewer.nn.train import TrainOptions, train_model
from tests.nn.nnkit import blob_images, make_bundle, tiny_config
from tests.nn.test_evaluate_run import HEALTHY
from tests.volumes import write_brats_case

# Two epochs and no wall cap: what stops each network is the plateau rule or the epoch cap.
TINY = replace(QUICK, name="tiny", epochs=2, budget_s=1e9, patience=1, warmup_epochs=0)
FIRST, SECOND = "no_aleatoric", "deterministic_ae"  # two cheap groups of one network each
# What the run measures about itself (seconds, timestamps) and may differ between runs.
TIMINGS = ("speed", "training", "trained_at")


def _options(**changes) -> TrainOptions:
    base = dict(epochs=4, batch_size=8, warmup_epochs=0, patience=1, lr_warmup_steps=0,
                device="cpu")  # fmt: skip
    return TrainOptions(**(base | changes))


def test_training_stops_on_a_plateau_or_a_cap_and_says_which(tmp_path):
    train, val = blob_images(16, 32, seed=0), blob_images(8, 32, seed=1)
    # lr 0: the validation loss never improves after the first epoch, a plateau at once.
    still = train_model(tiny_config(), train, val, tmp_path / "a", _options(lr=0.0), False)
    assert still.stopped == "early stopping" and still.epochs_run == 2
    assert stop_reason(still.stopped) == "plateau"
    # The same network with a minimum skill: a network that does not reconstruct has not
    # plateaued, it has not started; it trains on to its cap, and the record says so.
    skill = 0.2
    gated = train_model(
        tiny_config(), train, val, tmp_path / "b", _options(lr=0.0, min_skill=skill), False
    )
    assert gated.stopped == "epochs" and gated.epochs_run == 4
    assert all(h["val_skill"] < skill for h in gated.history)
    assert stop_reason(gated.stopped) == "cap: epochs"
    capped = train_model(
        tiny_config(), train, val, tmp_path / "c", _options(lr=1e-3, max_steps=3), False
    )
    assert capped.stopped == "max steps" and stop_reason(capped.stopped) == "cap: steps"
    assert sum(h["steps"] for h in capped.history) == 3


def test_progress_estimates_the_time_left_from_the_caps():
    preset = replace(QUICK, budget_s=100.0, ensemble_members=2)
    assert group_caps(preset, "bundled") == 0 and group_caps(preset, "ensemble") == 200
    # The paper configuration's steps cost several times a fast one's: its cap may be longer.
    slow_paper = replace(preset, paper_budget_factor=3.0)
    assert group_caps(slow_paper, "paper") == 300 and group_caps(slow_paper, "fast") == 100
    assert slow_paper.wall_cap(slow_paper.config("paper")) == 300
    assert slow_paper.wall_cap(slow_paper.config("fast")) == 100
    progress = GroupProgress(preset)
    line = progress.done(1, "bundled", 30.0, reused=False)
    assert line.startswith("[1/11] bundled: done in 30 s.") and "at this run's pace" not in line
    # The paper group used half its cap: the rest is estimated at half theirs.
    caps_left = sum(group_caps(preset, g) for g in preset.groups[2:])
    line = progress.done(2, "paper", 50.0, reused=False)
    assert f"about {caps_left / 2 / 60:.0f} min at this run's pace" in line
    assert f"training caps: {caps_left / 60:.0f} min" in line
    assert "reused" in progress.done(3, "fast", 0.1, reused=True)


@pytest.fixture
def brats_folder(tmp_path):
    root = tmp_path / "MICCAI_BraTS2020_TrainingData"
    for i in range(1, 9):
        write_brats_case(root, f"BraTS20_Training_{i:03d}", tumour=i not in HEALTHY, seed=i)
    return root


@pytest.fixture
def model(tmp_path):
    make_bundle(tmp_path / "model", tiny_config())  # the given model (its group is not run)
    return tmp_path / "model"


def _metrics(out):
    return json.loads((out / "metrics.json").read_text())


def _without_timings(row):
    return {k: v for k, v in row.items() if k not in TIMINGS}


@pytest.mark.slow
def test_a_resumed_run_keeps_its_first_group_and_ends_like_one_run(
    tmp_path, brats_folder, model, capsys
):
    def run(out, groups, resume=False, data=brats_folder):
        preset = replace(TINY, groups=groups)
        return run_evaluate(data, out, model, preset, "cpu", seed=0, resume=resume)

    stopped = tmp_path / "stopped"
    assert run(stopped, (FIRST,)) == 0  # a run that stopped after its first group
    first = _metrics(stopped)
    assert first["groups_done"] == [FIRST]
    assert run(stopped, (SECOND,), resume=True) == 0  # a later session runs what is left
    left = _metrics(stopped)
    assert left["groups_done"] == [FIRST, SECOND]  # the first group's rows are kept
    assert run(stopped, (FIRST, SECOND), resume=True) == 0  # and all: nothing is retrained
    resumed = _metrics(stopped)
    assert resumed["groups_done"] == [FIRST, SECOND] and resumed["status"] == "done"
    # Neither group was trained again: the same records, finished at the same instants.
    assert resumed["group_runs"][FIRST] == first["group_runs"][FIRST]
    assert resumed["group_runs"][SECOND] == left["group_runs"][SECOND]
    assert resumed["rows"][FIRST]["training"] == first["rows"][FIRST]["training"]

    whole = tmp_path / "whole"
    assert run(whole, (FIRST, SECOND)) == 0
    straight = _metrics(whole)
    assert list(resumed["rows"]) == list(straight["rows"]) == [FIRST, SECOND]
    for name in (FIRST, SECOND):
        assert _without_timings(resumed["rows"][name]) == _without_timings(straight["rows"][name])
        training = straight["rows"][name]["training"]
        assert training["stopped"] in ("plateau", "cap: epochs")
        assert training["steps"] > 0 and training["epochs_run"] <= TINY.epochs
        assert training["device"].startswith("CPU (")
        assert training["final_skill"] == straight["rows"][name]["reconstruction_skill"]
    assert (stopped / "report.md").read_text().count("| no aleatoric head") >= 1

    # From the command line: other settings, or no --resume, are one sentence and exit 2.
    base = ["evaluate", "--data", str(brats_folder), "--out", str(stopped), "--model", str(model),
            "--device", "cpu", "--groups", FIRST]  # fmt: skip
    for extra, words in ((["--resume", "--seed", "1"], "Cannot resume"), ([], "add --resume")):
        capsys.readouterr()
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0], err
    assert _metrics(stopped)["group_runs"] == resumed["group_runs"]  # untouched

    # The same data at another path (a fresh machine, a copied folder) continues the run.
    moved = shutil.copytree(brats_folder, tmp_path / "elsewhere" / "data")
    assert run(stopped, (FIRST, SECOND), resume=True, data=moved) == 0
    assert _metrics(stopped)["group_runs"] == resumed["group_runs"]  # nothing trained again


@pytest.mark.slow
def test_a_network_that_cannot_learn_is_reported_as_not_trained(tmp_path, brats_folder, model):
    out = tmp_path / "eval"
    preset = replace(TINY, lr=0.0, groups=(SECOND,))  # it keeps its random initial weights
    assert run_evaluate(brats_folder, out, model, preset, "cpu", seed=0) == 0
    row = _metrics(out)["rows"][SECOND]
    assert row["trained"] is False and row["reconstruction_skill"] < 0.2
    assert 0.0 <= row["detection"]["roc_auc"] <= 1.0  # its numbers are kept in metrics.json
    report = (out / "report.md").read_text()
    assert "## Not trained" in report
    ablation = next(line for line in report.splitlines() if line.startswith("| deterministic"))
    assert "| not trained (skill " in ablation
    assert f"{row['detection']['roc_auc']:.3f}" not in ablation
    sections = {part.split("\n", 1)[0]: part for part in report.split("\n## ")}
    abstention = next((v for k, v in sections.items() if k.startswith("Abstention")), "")
    assert "deterministic autoencoder" not in abstention  # not a result: no section counts it
    assert _metrics(out)["plots"] == []  # nothing to plot: no row counts as a result
