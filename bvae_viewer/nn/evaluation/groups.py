"""The evaluation's groups of rows by name: the one place a group's name meets its code.

Each group lives in a module of its own and names itself there; preset.GROUPS orders them
(the most important first, so a crash keeps them) and presets choose among them.
"""

from __future__ import annotations

from bvae_viewer.analysis.evaluation.store import RowRecord
from bvae_viewer.nn.evaluation import adae_rows, bundled_rows, prob_unet_rows, rd_rows, vae_rows
from bvae_viewer.nn.evaluation.preset import GROUPS
from bvae_viewer.nn.evaluation.runs import RowsFn, RunContext

REGISTRY: dict[str, RowsFn] = {
    **bundled_rows.GROUPS,
    **vae_rows.GROUPS,
    **adae_rows.GROUPS,
    **prob_unet_rows.GROUPS,
    **rd_rows.GROUPS,
}
if set(REGISTRY) != set(GROUPS):  # a group named in the presets but built nowhere, or both
    raise ImportError(f"evaluation groups {sorted(set(REGISTRY) ^ set(GROUPS))} are not wired")


def group_rows(ctx: RunContext, group: str) -> list[RowRecord]:
    """The rows of one group (none where it does not apply, e.g. no given model)."""
    try:
        rows = REGISTRY[group]
    except KeyError:
        raise ValueError(f"unknown evaluation group '{group}'") from None
    return rows(ctx)
