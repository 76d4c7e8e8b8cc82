"""The robustness suite's arithmetic on hand-made case outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from bvae_viewer.analysis.evaluation.robustness import (
    PLANS,
    CaseOutcome,
    goal_verdict,
    plans_for,
    setting_for,
    summarise,
)
from bvae_viewer.data.synth.anatomies import ROBEX

DEFORMATION = next(p for p in PLANS if p.name == "deformation")


def _case(tumour: bool, decision: str, labels, scores, flagged) -> CaseOutcome:
    return CaseOutcome("k", tumour, decision, np.array(labels, bool), np.array(scores, float),
                       np.array(flagged, bool))


def test_shares_and_aucs() -> None:
    cases = [
        _case(False, "normal", [0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4], [0, 0, 0, 0]),
        _case(False, "flagged", [0, 0, 0, 0], [0.5, 0.9, 0.95, 0.2], [0, 1, 1, 0]),
        _case(True, "flagged", [0, 1, 1, 0], [0.1, 0.8, 0.7, 0.6], [0, 1, 1, 0]),
    ]
    row = summarise(DEFORMATION, 4.0, cases)
    assert row.n_normal == 2 and row.n_tumour == 1
    assert row.normal_called_normal == 0.5
    assert row.normal_slices_flagged == pytest.approx(2 / 8)
    assert row.tumour_cases_flagged == 1.0
    assert row.tumour_slice_auc == 1.0  # 0.7 and 0.8 above 0.1 and 0.6
    # Tumour slices (0.8, 0.7) against the 8 normal slices: 0.9 and 0.95 beat both.
    assert row.tumour_vs_varied_normal_auc == pytest.approx((6 + 6) / 16)
    assert row.decisions == {"normal_normal": 1, "normal_flagged": 1, "tumour_flagged": 1}
    assert not row.beyond_training and row.in_goal


def test_goal_verdict_and_training_range() -> None:
    good = [_case(False, "normal", [0] * 40, np.linspace(0, 1, 40), [0] * 39 + [1])]
    bad = [_case(False, "normal", [0] * 10, np.linspace(0, 1, 10), [1] + [0] * 9)]
    rows = [summarise(DEFORMATION, 4.0, good), summarise(DEFORMATION, 8.0, bad)]
    assert rows[1].beyond_training and not rows[1].in_goal
    assert goal_verdict(rows) == {"deformation": True}  # 8 mm is past the 6 mm
    rows.append(summarise(DEFORMATION, 6.0, bad))  # 10 % of slices flagged at 6 mm
    assert goal_verdict(rows) == {"deformation": False}


def test_settings_vary_one_factor_from_the_clean_scan() -> None:
    neutral = setting_for(DEFORMATION, 1.5)
    for plan in PLANS:
        if plan.field == "anatomy":
            assert setting_for(plan, ROBEX).factors == neutral.factors
            assert plan.beyond_training(ROBEX)
            continue
        keys = [setting_for(plan, v).key for v in plan.strengths]
        assert neutral.key in keys  # the clean scan is among them, shared, run once
        varied = setting_for(plan, plan.strengths[-1])
        changed = {k for k, v in varied.factors.as_dict().items()
                   if neutral.factors.as_dict()[k] != v}
        assert changed == {plan.field}
        assert plan.beyond_training(plan.strengths[-1])  # every factor goes past training


def test_unknown_factor_is_refused() -> None:
    assert plans_for(["bias", "noise"]) == tuple(p for p in PLANS if p.name in ("bias", "noise"))
    with pytest.raises(ValueError, match="Unknown robustness factor"):
        plans_for(["weather"])
