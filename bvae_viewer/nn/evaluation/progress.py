"""A progress line per group of rows, with an estimate of the time left.

Networks stop on a plateau, so a group's time is not known in advance; what is known is
the most it can take (its networks' wall caps, preset.group_caps). The estimate scales the
caps left by the share of their caps the groups trained so far in this run actually used
(scoring included); the caps themselves bound the training still to come.
"""

from __future__ import annotations

from dataclasses import dataclass

from bvae_viewer.nn.evaluation.preset import EvalPreset, group_caps


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass
class GroupProgress:
    preset: EvalPreset
    spent_s: float = 0.0  # wall time of the groups with networks trained in this run
    spent_caps_s: float = 0.0  # those groups' caps

    def done(self, index: int, group: str, seconds: float, reused: bool) -> str:
        """The line for group ``index`` (1-based) of the preset's groups, just finished."""
        groups = self.preset.groups
        caps = group_caps(self.preset, group)
        if not reused and caps > 0:
            self.spent_s += seconds
            self.spent_caps_s += caps
        how = "reused from the earlier run" if reused else f"done in {duration(seconds)}"
        line = f"[{index}/{len(groups)}] {group}: {how}."
        left = groups[index:]
        if not left:
            return line + " No groups left."
        caps_left = sum(group_caps(self.preset, g) for g in left)
        line += f" Left: {len(left)} group{'s' if len(left) > 1 else ''}"
        if self.spent_caps_s > 0 and caps_left > 0:
            pace = self.spent_s / self.spent_caps_s
            line += f", about {duration(pace * caps_left)} at this run's pace"
        return line + f" (their training caps: {duration(caps_left)})."
