"""The OOD study's table: ROC AUC per signal, pooled and per kind of input."""

import math

import pytest

from bvae_viewer.analysis.evaluation.ood_study import (
    IN_DISTRIBUTION,
    SIGNALS,
    VolumeRecord,
    markdown,
    table,
)


def _record(name, kind, disagreement, checks):
    signals = dict.fromkeys(SIGNALS, math.nan) | {"disagreement": disagreement,
                                                   "checks_fired": checks}
    return VolumeRecord(name, kind, signals)


def test_a_signal_that_ranks_every_odd_input_above_every_subject_scores_one():
    records = [_record(f"s{i}", IN_DISTRIBUTION, 0.1 + 0.01 * i, 0.0) for i in range(4)]
    records += [_record("pd", "pd", 0.5, 0.0), _record("skull", "skull", 0.05, 1.0)]
    rows = {r["signal"]: r for r in table(records)}
    # Disagreement finds the PD scan, not the head with skull; the checks the other way.
    assert rows["disagreement"]["by_kind"] == {"pd": 1.0, "skull": 0.0}
    assert rows["disagreement"]["pooled"] == pytest.approx(0.5)
    assert rows["checks_fired"]["by_kind"] == {"pd": 0.5, "skull": 1.0}
    assert rows["latent_nll"]["pooled"] is None  # no values: no number, never a guess
    text = markdown(records, table(records))
    assert "| signal | all OOD | pd (1) | skull (1) |" in text
    assert "4 held-out subjects" in text
