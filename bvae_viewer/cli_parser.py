"""The `bvae-viewer` command line: its subcommands and their options (cli.py runs them)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bvae_viewer.analysis.methods import BVAE, METHODS
from bvae_viewer.pacs_cli import add_pacs_commands

SUBCOMMANDS = ("gui", "analyze", "synth", "train", "evaluate", "bench", "pacs")


_PREPROCESS_ARGS = ("--preprocess",)
_PREPROCESS_KWARGS = {
    "choices": ("auto", "always", "never"), "default": "auto",
    "help": "clinical front end (skull stripping, registration to the model's space): run it "
    "unless the scan is already stripped and 1 mm (auto, default), always, or never",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bvae-viewer",
        description="Review brain MRI with an uncertainty-aware Bayesian VAE. "
        "Research use only; not a medical device.",
    )
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    sub = parser.add_subparsers(dest="command")

    gui = sub.add_parser("gui", help="open the review window (the default)")
    gui.add_argument(
        "file", nargs="?", type=Path,
        help="NIfTI/MHA/NRRD file, DICOM folder, or a folder of cases (opened as a batch)",
    )
    gui.add_argument("--demo", action="store_true", help="open the bundled demo case")
    gui.add_argument("--screenshot", type=Path, help="analyse, save a PNG of the window, exit")
    gui.add_argument("--model", type=Path, help="model folder (default: the bundled model)")
    gui.add_argument(*_PREPROCESS_ARGS, **_PREPROCESS_KWARGS)

    an = sub.add_parser("analyze", help="analyse one volume; write slices.csv and case.json")
    an.add_argument("input", type=Path, help="NIfTI/MHA/NRRD file or DICOM series folder")
    an.add_argument("--out", type=Path, required=True)
    an.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    an.add_argument("--samples", type=int, default=5, help="latent samples K (default 5)")
    an.add_argument("--members", type=int, default=1,
                    help="Bayesian VAE: ensemble members to pool (the model's own first; "
                    "default 1)")
    an.add_argument("--views", type=int, default=1,
                    help="Bayesian VAE: geometric test-time views per member (default 1)")
    an.add_argument("--model", type=Path, help="model folder (default: the bundled model)")
    an.add_argument(
        "--report", type=Path, help="also write a report: .pdf, .html, .csv or .json"
    )
    an.add_argument(
        "--include-identifiers", action="store_true",
        help="put the patient's name, ID, dates etc. in the report (default: left out)",
    )
    an.add_argument(*_PREPROCESS_ARGS, **_PREPROCESS_KWARGS)
    an.add_argument(
        "--no-cache", action="store_true",
        help="run the model even if the result cache holds this volume (and do not store it)",
    )

    sy = sub.add_parser("synth", help="write a synthetic BraTS-layout dataset")
    sy.add_argument("--out", type=Path, required=True)
    sy.add_argument("--cases", type=int, default=100)
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--workers", type=int, default=None)
    sy.add_argument("--healthy-fraction", type=float, default=0.2)
    sy.add_argument(
        "--variety", choices=("classic", "wide"), default="classic",
        help="classic: MNI152 with small warps (the bundled model's data); wide: several real "
        "heads, large warps, contrast and scanner randomisation",
    )

    tr = sub.add_parser("train", help="train, calibrate and save a model from a BraTS folder")
    tr.add_argument("--data", type=Path, required=True)
    tr.add_argument("--out", type=Path, required=True)
    tr.add_argument(
        "--method", choices=tuple(METHODS), default=BVAE,
        help="the network to train (default: the Bayesian VAE)",
    )
    tr.add_argument("--config", choices=("fast", "paper"), default="fast",
                    help="the Bayesian VAE's configuration")
    tr.add_argument(
        "--width", type=int, default=16,
        help="reverse_distillation / prob_unet: channels of the first level (default 16)",
    )
    tr.add_argument("--epochs", type=int, default=40)
    tr.add_argument("--batch-size", type=int, default=32)
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--warmup-epochs", type=float, default=10.0, help="beta warm-up length")
    tr.add_argument("--patience", type=int, default=8, help="early-stopping patience (epochs)")
    tr.add_argument("--lr-warmup-steps", type=int, default=200, help="linear learning-rate ramp")
    tr.add_argument(
        "--time-budget", type=float, default=None,
        help="seconds per network (Reverse Distillation trains two); stop cleanly",
    )
    tr.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument(
        "--denoise", type=float, default=0.0, metavar="STD",
        help="bvae: train to restore inputs corrupted with coarse noise of this standard "
        "deviation (Kascenas et al. 2022; 0.2 in the paper; default 0: off)",
    )
    tr.add_argument(
        "--nll-power", type=float, default=0.0, metavar="P",
        help="bvae: weight each pixel's NLL by sigma^(2P), held constant (beta-NLL, Seitzer et "
        "al. 2022): 0 is the plain NLL, 0.5 lets the mean keep learning where the variance "
        "head grows, 1 gives the mean a plain squared error",
    )
    tr.add_argument(
        "--select-on", choices=("loss", "skill"), default="loss",
        help="bvae: keep the weights of the epoch with the best validation loss, or the best "
        "validation reconstruction skill; fine-tuning keeps the starting weights unless an "
        "epoch beats them",
    )
    tr.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    tr.add_argument("--name", default=None, help="model name (default bvae-<config>)")
    tr.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="start from this model folder's weights and configuration (fine-tuning)",
    )

    ev = sub.add_parser("evaluate", help="metrics, ablations and baselines on a BraTS folder")
    ev.add_argument("--data", type=Path, help="BraTS-layout folder (optional with --robustness)")
    ev.add_argument("--out", type=Path, required=True)
    ev.add_argument("--model", type=Path, help="model folder (default: the bundled model)")
    ev.add_argument(
        "--preset", choices=("quick", "paper64", "full"), default="quick",
        help="quick: a CI-sized check (32 px); paper64: the comparison sized for a 2-core CPU "
        "(64 px, hours); full: the comparison at 128 px, for a GPU",
    )
    ev.add_argument(
        "--groups",
        default=None,
        help="comma-separated row groups to run, in the preset's order (default: all of them)",
    )
    ev.add_argument(
        "--budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wall-time cap per network, instead of the preset's (networks stop on a "
        "plateau of their validation loss; the cap is the safety net)",
    )
    ev.add_argument(
        "--resume", action="store_true",
        help="continue the run in --out: reuse the groups of rows it finished (same data, "
        "preset, seed and model, or it refuses) and run the rest",
    )
    ev.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument(
        "--robustness", action="store_true",
        help="also (or, without --data, only) run the robustness suite on the given model: "
        "synthetic normal and tumour brains varied one factor at a time (part of --preset full)",
    )
    ev.add_argument("--robustness-factors", default=None,
                    help="comma-separated factors of the suite (default: all of them)")
    ev.add_argument("--robustness-subjects", type=int, default=4,
                    help="normal subjects per strength (tumour subjects: half as many)")
    ev.add_argument("--robustness-cache", type=Path, default=None,
                    help="keep the suite's volumes here, to measure another model on them")
    ev.add_argument(
        "--deferral-test", type=Path, nargs="+", default=None, metavar="DIR",
        help="instead: what should order the review queue; error-probability models fitted "
        "on --data (validation subjects), every order measured on these held-out folders",
    )
    ev.add_argument("--deferral-cases", type=int, default=12,
                    help="cases of each folder the review-order study reads")
    ev.add_argument("--deferral-samples", type=int, default=5,
                    help="latent samples K per slice (the shipped model's 5)")
    ev.add_argument("--deferral-boot", type=int, default=1000,
                    help="subject-bootstrap replicates of its intervals")
    ev.add_argument(
        "--ood-test", type=Path, nargs="+", default=None, metavar="INPUT",
        help="instead: how well ensemble disagreement and today's checks tell these inputs "
        "(files or DICOM folders unlike the training data; name_1, name_2 are one kind) "
        "from the held-out subjects in --data",
    )
    ev.add_argument("--ood-cases", type=int, default=12,
                    help="held-out subjects of --data the OOD study reads")
    ev.add_argument("--members", type=int, default=1,
                    help="with --ood-test: ensemble members the engine pools (model.json's)")
    ev.add_argument("--store-error-model", action="store_true",
                    help="with --deferral-test: write the queue's calibrated error "
                    "probability (fitted on --data) into the model folder's model.json")

    be = sub.add_parser("bench", help="performance figures as JSON")
    be.add_argument("--json", type=Path, help="also write the figures to this file")
    be.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    be.add_argument("--samples", type=int, default=5)
    be.add_argument("--model", type=Path, help="model folder (default: the bundled model)")
    be.add_argument("--training", action="store_true", help="also time training steps")
    be.add_argument(
        "--gui", action="store_true",
        help="also time the review window's own analysis of the same volume",
    )
    be.add_argument(
        "--compare-paper", action="store_true",
        help="also time the paper configuration on the same stack (slow on a CPU)",
    )
    be.add_argument(
        "--engine-options", action="store_true",
        help="also time an ensemble of 3, 3 test-time views, both, and MC dropout, as ratios "
        "to the single model",
    )
    add_pacs_commands(sub)
    return parser
