"""The signals of the review-order study, per brain slice, from the app's own engine: the
shipped score and uncertainty of the single model (K samples) and the score spread over three
geometric test-time views (nn.voices)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bvae_viewer.data.brats import find_cases, load_case
from bvae_viewer.nn.bundle import Bundle
from bvae_viewer.nn.engine import InferenceEngine
from bvae_viewer.nn.voices import EngineOptions


def collect_signals(
    folders: Sequence[Path],
    bundle: Bundle,
    n_cases: int,
    device: str = "cpu",
    samples: int = 5,
    say: Callable[[str], None] = lambda _text: None,
) -> dict[str, np.ndarray]:
    """subject, label, score, unc, view_spread of every brain slice of the first ``n_cases``
    cases of each BraTS-layout folder."""
    single = InferenceEngine(bundle, device=device, samples=samples)
    views = InferenceEngine(bundle, device=device, samples=samples,
                            options=EngineOptions(views=3))
    rows: dict[str, list] = {k: [] for k in ("subject", "label", "score", "unc", "view_spread")}
    for folder in folders:
        for case in find_cases(Path(folder))[:n_cases]:
            loaded = load_case(case)
            one = sorted(single.run(loaded.stack), key=lambda r: r.position)
            three = sorted(views.run(loaded.stack), key=lambda r: r.position)
            for r, v in zip(one, three, strict=True):
                if r.scores.empty:
                    continue
                rows["subject"].append(f"{Path(folder).name}/{case.case_id}")
                rows["label"].append(bool(loaded.labels[r.position]))
                rows["score"].append(r.scores.anomaly_score)
                rows["unc"].append(r.scores.unc_total)
                rows["view_spread"].append(v.scores.score_spread)
            say(f"{Path(folder).name}/{case.case_id}")
    return {k: np.asarray(v) for k, v in rows.items()}
