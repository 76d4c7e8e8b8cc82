"""model/model.json: what the bundled weights are, expect and were calibrated to.

Plain JSON and dataclasses, so the GUI and reports can describe a model without torch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bvae_viewer.analysis.deferral import DeferralError, ErrorModel

MODEL_JSON = "model.json"


@dataclass(frozen=True)
class Calibration:
    """Everything chosen on validation data that turns maps into decisions."""

    alpha: float = 0.5  # weight of mean squared error in eq. 15
    # How eq. 15 reduces A_pixel over the brain: "mean" (the paper) or "peak" (see
    # analysis.maps.peak_pixel_score); chosen on validation data like alpha.
    reduction: str = "mean"
    score_threshold: float = float("inf")  # slice flagged above this anomaly score
    uncertainty_threshold: float = float("inf")  # slice sent to review above this U_tot mean
    min_flagged_run: int = 2  # case flagged with this many consecutive slices above...
    # ...this multiple of score_threshold (>= 1, so those slices are flagged ones too). One
    # slice far above the line and a long run just above it are both tumour-like; the pair is
    # chosen on validation cases. 1.0 for models calibrated before it existed.
    case_score_factor: float = 1.0
    # Slices scoring within this factor of score_threshold (above or below) go to review:
    # measured on validation data, the model errs most near its line, while deferring by
    # the mean uncertainty alone sent mostly slices it had right. 1.0: no band (older models).
    review_band: float = 1.0
    max_review_fraction: float = 0.1  # case sent to review above this share of review slices
    # A case not flagged goes to review with review_run consecutive slices above this multiple
    # of score_threshold (below 1 where small tumours score under the slice line): the flag
    # rule keeps every healthy validation brain out, so alone it called small tumours normal;
    # this pair is chosen on validation cases for case sensitivity. 0: no such rule (older).
    review_run: int = 0
    review_score_factor: float = 1.0
    # Fixed display levels per map, so two slices (and two cases) look comparable.
    map_levels: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Reference statistics of the training distribution for the out-of-distribution check.
    ood: dict[str, Any] = field(default_factory=dict)

    @property
    def scoring(self) -> str:
        """What sets the anomaly score's scale: thresholds are comparable only within one."""
        return f"alpha={self.alpha!r} reduction={self.reduction}"


@dataclass(frozen=True)
class ModelInfo:
    """Contents of model.json."""

    name: str
    config: dict[str, Any]
    weights_file: str
    sha256: str
    calibration: Calibration = field(default_factory=Calibration)
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    format_version: int = 1
    # Which network family the weights are (analysis.methods): "bvae" for every model made
    # before the others existed, so older model.json files read unchanged.
    method: str = "bvae"
    # Deep-ensemble members shipped beside the weights: model folders (relative to this one)
    # of the same method and grid, trained apart (nn.voices). Empty: a single model.
    members: tuple[str, ...] = ()
    # The calibrated probability that an automatic slice decision is wrong (analysis.deferral
    # ErrorModel.to_dict), fitted on validation subjects: the review queue's order. Empty for
    # a model without one (the queue then orders by distance from the line).
    error_model: dict[str, Any] = field(default_factory=dict)

    @property
    def deferral(self) -> ErrorModel | None:
        """The stored error model, or None (none stored, or damaged)."""
        if not self.error_model:
            return None
        try:
            return ErrorModel.from_dict(self.error_model)
        except DeferralError:
            return None

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False, default=_jsonable)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelInfo:
        cal = dict(raw.get("calibration", {}))
        cal["map_levels"] = {k: tuple(v) for k, v in cal.get("map_levels", {}).items()}
        fields = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        fields["calibration"] = Calibration(**cal)
        fields["members"] = tuple(fields.get("members", ()))
        return cls(**fields)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class ModelInfoError(Exception):
    """model.json is missing or unreadable."""


def read_model_info(model_dir: Path) -> ModelInfo:
    """Read model.json from a model folder."""
    path = Path(model_dir) / MODEL_JSON
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return ModelInfo.from_dict(raw)
    except FileNotFoundError as exc:
        raise ModelInfoError(f"No model found: {path} does not exist.") from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelInfoError(
            f"The model description {path} is damaged and cannot be read."
        ) from exc


def write_model_info(model_dir: Path, info: ModelInfo) -> None:
    """Write model.json atomically."""
    path = Path(model_dir) / MODEL_JSON
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(info.to_json() + "\n", encoding="utf-8")
    tmp.replace(path)
