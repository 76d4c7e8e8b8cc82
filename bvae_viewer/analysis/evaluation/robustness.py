"""The robustness suite's plan and arithmetic: normal brains (and tumour cases) varied one
factor at a time at graded strengths, some beyond what the wide generator trains on.

Pure numpy: nn.robustness runs the model through the app's own triage and hands each case
back as a CaseOutcome; here they are summarised per factor and strength.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from bvae_viewer.data.synth.anatomies import HELD_OUT_ANATOMIES, MNI152, TRAINING_ANATOMIES
from bvae_viewer.data.synth.variation import NEUTRAL, TRAINING_RANGE, Factors

# The bar, per factor, over the strengths it names (done when met).
NORMAL_CALLED_NORMAL_GOAL = 0.95
SLICES_FLAGGED_GOAL = 0.05
FIXED_FPR = 0.05  # sensitivity is read at this false-positive rate of varied-normal slices


@dataclass(frozen=True)
class FactorPlan:
    """One factor: the Factors field it sets, its strengths, and the issue's range."""

    name: str
    field: str  # a Factors field, or "anatomy"
    strengths: tuple[float | str, ...]
    unit: str
    goal_up_to: tuple[float, float] | None  # the strengths the bar covers

    def beyond_training(self, strength: float | str) -> bool:
        if self.field == "anatomy":
            return strength in HELD_OUT_ANATOMIES
        lo, hi = TRAINING_RANGE[self.field]
        return not lo <= float(strength) <= hi

    def in_goal(self, strength: float | str) -> bool:
        if self.goal_up_to is None or isinstance(strength, str):
            return False
        lo, hi = self.goal_up_to
        return lo - 1e-9 <= float(strength) <= hi + 1e-9


# Few strengths per factor: a case costs about 12 s of CPU (generation and the model), and
# the clean scan (one strength of each factor) is shared by all of them.
PLANS = (
    FactorPlan("deformation", "deformation_mm", (1.5, 4.0, 6.0, 8.0), "mm SD", (0.0, 6.0)),
    FactorPlan("bias", "bias", (0.0, 0.2, 0.35), "peak deviation", (0.0, 0.2)),
    FactorPlan("gamma", "gamma", (0.7, 1.0, 1.4, 1.6), "", (0.7, 1.4)),
    FactorPlan("noise", "noise", (0.015, 0.03, 0.05), "of white matter", (0.0, 0.03)),
    FactorPlan("blur", "blur_mm", (0.0, 1.0, 1.6), "mm sigma", (0.0, 1.0)),
    FactorPlan("anatomy", "anatomy", (MNI152, *TRAINING_ANATOMIES[1:], *HELD_OUT_ANATOMIES),
               "head", None),
)
FACTOR_NAMES = tuple(p.name for p in PLANS)


@dataclass(frozen=True)
class Setting:
    """What one synthetic case is made with: the neutral scan, one factor changed."""

    factors: Factors
    anatomy: str

    @property
    def key(self) -> str:
        return f"{self.anatomy}:" + ",".join(f"{k}={v}" for k, v in
                                              sorted(self.factors.as_dict().items()))


def setting_for(plan: FactorPlan, strength: float | str) -> Setting:
    if plan.field == "anatomy":
        return Setting(NEUTRAL, str(strength))
    return Setting(replace(NEUTRAL, **{plan.field: strength}), MNI152)


def plans_for(names: Sequence[str] | None) -> tuple[FactorPlan, ...]:
    """The chosen factors, in the suite's order (ValueError names the unknown ones)."""
    if names is None:
        return PLANS
    unknown = [n for n in names if n not in FACTOR_NAMES]
    if unknown or not names:
        raise ValueError(
            f"Unknown robustness factor(s) {', '.join(unknown) or '(none given)'}: choose "
            f"from {', '.join(FACTOR_NAMES)}."
        )
    return tuple(p for p in PLANS if p.name in names)


@dataclass(frozen=True)
class CaseOutcome:
    """One case as the app decided it: the case call and, per brain slice, its label,
    score and whether the app flagged it."""

    setting_key: str
    has_tumour: bool
    decision: str  # normal | flagged | review
    tumour_slice: np.ndarray  # bool, brain slices only
    score: np.ndarray  # float
    flagged: np.ndarray  # bool: the slice's own decision is "flagged"


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    finite = np.isfinite(scores)
    labels, scores = labels[finite], scores[finite]
    if labels.size == 0 or labels.all() or not labels.any():
        return None
    return float(roc_auc_score(labels, scores))


def _sensitivity_at(labels: np.ndarray, scores: np.ndarray, fpr: float) -> float | None:
    finite = np.isfinite(scores)
    labels, scores = labels[finite], scores[finite]
    if labels.all() or not labels.any():
        return None
    false_pos, true_pos, _ = roc_curve(labels, scores)
    return float(np.interp(fpr, false_pos, true_pos))


@dataclass
class StrengthRow:
    """The suite's figures for one factor at one strength."""

    factor: str
    strength: float | str
    beyond_training: bool
    in_goal: bool
    n_normal: int = 0
    normal_called_normal: float | None = None
    normal_slices_flagged: float | None = None
    n_tumour: int = 0
    tumour_cases_flagged: float | None = None
    tumour_slice_auc: float | None = None  # within tumour cases
    tumour_vs_varied_normal_auc: float | None = None  # tumour slices vs normal cases' slices
    sensitivity_at_fpr: float | None = None
    decisions: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def summarise(plan: FactorPlan, strength: float | str, cases: Sequence[CaseOutcome]) -> StrengthRow:
    """One row from the cases made with this factor at this strength."""
    row = StrengthRow(plan.name, strength, plan.beyond_training(strength), plan.in_goal(strength))
    normal = [c for c in cases if not c.has_tumour]
    tumour = [c for c in cases if c.has_tumour]
    for c in cases:
        row.decisions[f"{'tumour' if c.has_tumour else 'normal'}_{c.decision}"] = (
            row.decisions.get(f"{'tumour' if c.has_tumour else 'normal'}_{c.decision}", 0) + 1
        )
    row.n_normal, row.n_tumour = len(normal), len(tumour)
    if normal:
        row.normal_called_normal = float(np.mean([c.decision == "normal" for c in normal]))
        row.normal_slices_flagged = float(np.concatenate([c.flagged for c in normal]).mean())
    if tumour:
        row.tumour_cases_flagged = float(np.mean([c.decision == "flagged" for c in tumour]))
        labels = np.concatenate([c.tumour_slice for c in tumour])
        scores = np.concatenate([c.score for c in tumour])
        row.tumour_slice_auc = _auc(labels, scores)
        if normal:
            positives = scores[labels]
            negatives = np.concatenate([c.score for c in normal])
            y = np.r_[np.ones(positives.size, bool), np.zeros(negatives.size, bool)]
            s = np.r_[positives, negatives]
            row.tumour_vs_varied_normal_auc = _auc(y, s)
            row.sensitivity_at_fpr = _sensitivity_at(y, s, FIXED_FPR)
    return row


def goal_verdict(rows: Sequence[StrengthRow]) -> dict[str, bool | None]:
    """Per factor: whether every strength the issue names meets its bar (None: none run)."""
    verdict: dict[str, bool | None] = {}
    for name in dict.fromkeys(r.factor for r in rows):
        named = [r for r in rows if r.factor == name and r.in_goal and r.n_normal]
        if not named:
            verdict[name] = None
            continue
        verdict[name] = all(
            r.normal_called_normal >= NORMAL_CALLED_NORMAL_GOAL
            and r.normal_slices_flagged <= SLICES_FLAGGED_GOAL
            for r in named
        )
    return verdict
