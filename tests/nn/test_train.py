import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from bvae_viewer.nn.checkpoint import CHECKPOINT_FILE, load_checkpoint
from bvae_viewer.nn.losses import vae_loss
from bvae_viewer.nn.train import TrainingError, TrainOptions, train_model
from tests.nn.nnkit import blob_images, tiny_config

REPO = Path(__file__).resolve().parents[2]


def _options(**changes) -> TrainOptions:
    # A handful of steps: the learning-rate ramp would leave them all at a tiny rate.
    base = dict(epochs=2, batch_size=8, lr=2e-3, warmup_epochs=1, patience=50, seed=0,
                lr_warmup_steps=0)
    return TrainOptions(**(base | changes))


def _val_loss(net, images) -> float:
    x = torch.from_numpy(images).unsqueeze(1)
    with torch.no_grad():
        return float(vae_loss(net(x), x, x > 0, 0.1).total)


@pytest.mark.slow
def test_loss_decreases_on_a_small_set(tmp_path):
    config = tiny_config()
    train, val = blob_images(48, 32, seed=0), blob_images(16, 32, seed=1)
    result = train_model(config, train, val, tmp_path, _options(epochs=5), progress=False)
    history = result.history
    assert [h["epoch"] for h in history] == [1, 2, 3, 4, 5]
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert result.best_val_loss == min(h["val_loss"] for h in history)
    assert result.best_val_loss < history[0]["val_loss"]
    assert not result.best_state.training
    # The returned network is the trained one: far better than a fresh one on held-out slices.
    torch.manual_seed(0)
    from bvae_viewer.nn.network import build_network

    assert _val_loss(result.best_state, val) < _val_loss(build_network(config).eval(), val)


@pytest.mark.slow
def test_resume_continues_the_epoch_count(tmp_path):
    config = tiny_config()
    train, val = blob_images(16, 32), blob_images(4, 32, seed=1)
    first = train_model(config, train, val, tmp_path, _options(epochs=1), progress=False)
    assert first.epochs_run == 1
    state = load_checkpoint(tmp_path)
    assert state["epoch"] == 1 and len(state["history"]) == 1
    again = train_model(
        config, train, val, tmp_path, _options(epochs=3), resume=True, progress=False
    )
    assert again.epochs_run == 3
    assert [h["epoch"] for h in again.history] == [1, 2, 3]
    assert again.history[:1] == first.history
    assert again.notes == ["resumed after epoch 1"]
    # Same run without the interruption: the resumed one followed exactly the same path.
    straight = train_model(config, train, val, tmp_path / "b", _options(epochs=3), progress=False)
    assert [h["train_loss"] for h in straight.history] == pytest.approx(
        [h["train_loss"] for h in again.history], rel=1e-4
    )


def test_resume_refuses_a_checkpoint_of_another_configuration(tmp_path):
    train, val = blob_images(8, 32), blob_images(4, 32, seed=1)
    train_model(tiny_config(), train, val, tmp_path, _options(epochs=1), progress=False)
    with pytest.raises(TrainingError, match="different model configuration"):
        train_model(
            tiny_config(latent_dim=8), train, val, tmp_path, _options(), resume=True, progress=False
        )


def test_time_budget_stops_cleanly_with_a_checkpoint(tmp_path):
    train, val = blob_images(32, 32), blob_images(4, 32, seed=1)
    result = train_model(
        tiny_config(), train, val, tmp_path, _options(epochs=50, time_budget_s=1e-9), progress=False
    )
    assert result.stopped == "time budget"
    assert result.epochs_run == 1 and result.history[0]["steps"] == 1
    assert (tmp_path / CHECKPOINT_FILE).is_file()


def test_wrong_image_size_is_refused(tmp_path):
    with pytest.raises(TrainingError, match="expected"):
        train_model(tiny_config(), blob_images(4, 64), blob_images(2, 64), tmp_path, _options())


@pytest.mark.slow
def test_two_process_ddp_on_gloo(tmp_path):
    np.savez(tmp_path / "slices.npz", images=blob_images(20, 32), masks=blob_images(20, 32) > 0)
    (tmp_path / "config.json").write_text(json.dumps(asdict(tiny_config())))
    env = os.environ | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "bvae_viewer.nn.train", "--images", str(tmp_path / "slices.npz"),
        "--out", str(tmp_path / "run"), "--config", str(tmp_path / "config.json"),
        "--epochs", "1", "--batch-size", "4", "--device", "cpu", "--no-progress",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 0/2: epochs_run=1" in done.stdout
    assert "rank 1/2: epochs_run=1" in done.stdout
    state = load_checkpoint(tmp_path / "run")
    assert state["epoch"] == 1
    assert len(state["rng"]) == 2  # both ranks' random streams were saved
    # 18 training slices over 2 ranks in batches of 4: 3 steps each, not 5.
    assert state["history"][0]["steps"] == 3


def test_learning_rate_ramps_up_over_the_warmup_steps(tmp_path):
    train, val = blob_images(16, 32, seed=0), blob_images(8, 32, seed=1)
    options = _options(epochs=1, lr_warmup_steps=4)
    result = train_model(tiny_config(), train, val, tmp_path, options, progress=False)
    state = load_checkpoint(tmp_path)
    assert state["steps"] == 2
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(2e-3 * 2 / 4)
    assert result.epochs_run == 1
