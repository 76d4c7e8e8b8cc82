"""Snapshot ensemble members: the weights of other epochs of one training run, as model
folders pooled with the run's own model (nn.voices; issue 20 lists snapshot members as a
cheaper variant of a deep ensemble, whose members are trained apart).

    python scripts/snapshot_members.py MODEL OUT CHECKPOINT [CHECKPOINT ...]

MODEL: the trained model folder (its calibration stays the ensemble's); CHECKPOINT: copies of
the run's `checkpoints/last.pt` taken after the epochs wanted (`train` overwrites it each
epoch). OUT: a new ensemble folder for `analyze --members N` and `evaluate --ood-test`.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from bvae_viewer.nn.bundle import load_bundle, save_bundle
from bvae_viewer.nn.network import build_network
from bvae_viewer.nn.voices import assemble_ensemble


def main(model: Path, out: Path, checkpoints: list[Path]) -> None:
    bundle = load_bundle(model)
    with tempfile.TemporaryDirectory(prefix="snapshots-") as tmp:
        folders = []
        for path in checkpoints:
            # Our own training checkpoints (nn.checkpoint): optimiser and RNG state included.
            state = torch.load(path, map_location="cpu", weights_only=False)
            network = build_network(bundle.config)
            network.load_state_dict(state["model"])
            epoch = int(state["epoch"])
            info = replace(bundle.info, name=f"{bundle.info.name}-epoch{epoch}", members=())
            folder = Path(tmp) / f"epoch{epoch}"
            save_bundle(network.eval(), info, folder)
            folders.append(folder)
            print(f"member: epoch {epoch} of {model}")
        info = assemble_ensemble(model, folders, out)
    print(f"wrote {out}: {info.name} with {len(info.members)} snapshot members")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
