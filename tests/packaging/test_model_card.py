"""The model card's numbers are the ones model.json holds (issue 16): its validation and test
rows, the chosen reduction and alpha, and the weights it describes."""

from __future__ import annotations

import json
import re

import pytest

from bvae_viewer import paths

CARD = paths.model_dir() / "MODEL_CARD.md"


def _row(card: str, source: str) -> list[str]:
    """The cells of the results table row whose source cell names ``source``."""
    for line in card.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and f"`{source}`" in cells[-1]:
            return cells
    raise AssertionError(f"MODEL_CARD.md has no results row from {source}")


def _number(text: str) -> float:
    return float(re.sub(r"[*,]", "", text).split()[0])


@pytest.mark.parametrize("split", ["validation", "test"])
def test_result_rows_match_model_json(split):
    info = json.loads((paths.model_dir() / "model.json").read_text())
    metrics = info["metrics"][split]
    slices, roc, pr = _row(CARD.read_text(encoding="utf-8"), f"metrics.{split}")[1:4]
    total, abnormal = re.match(r"([\d,]+) \(([\d,]+)\)", slices).groups()
    assert _number(total) == metrics["n_slices"] and _number(abnormal) == metrics["n_abnormal"]
    assert _number(roc) == round(metrics["roc_auc"], 3)
    assert _number(pr) == round(metrics["pr_auc"], 3)


def test_reduction_alpha_and_weights_match_model_json():
    info = json.loads((paths.model_dir() / "model.json").read_text())
    card = CARD.read_text(encoding="utf-8")
    calibration = info["calibration"]
    assert f"reduction **{calibration['reduction']}**" in card
    assert f"alpha **{calibration['alpha']:g}**" in card
    # The card names the weights it describes by the start of their sha256.
    assert info["sha256"][:12] in card
