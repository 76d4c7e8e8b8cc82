"""Training Reverse Distillation: the teacher's pretext pretraining, then its students.

Shared by `bvae-viewer train --method reverse_distillation` (one student, saved as a model
folder) and the evaluation's RD rows (an ensemble of students).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bvae_viewer.nn.reverse_distillation import (
    RDConfig,
    RDTrainOptions,
    RDTrainResult,
    Student,
    Teacher,
    pretrain_teacher,
    train_student,
)

# Seed offsets of the teacher and of student i from the run's seed: the evaluation's rows
# were measured with these, so the app's own training draws the same networks.
TEACHER_SEED = 3000
STUDENT_SEED = 2000


@dataclass
class RDModels:
    """A frozen teacher and the students trained on it (eval mode, CPU)."""

    teacher: Teacher
    students: list[Student]
    teacher_training: RDTrainResult
    student_trainings: list[RDTrainResult]


def train_rd(
    config: RDConfig,
    images: np.ndarray,
    val_images: np.ndarray,
    options: Callable[[int], RDTrainOptions],
    seed: int,
    members: int = 1,
    log: Callable[[str], None] = lambda message: None,
) -> RDModels:
    """The teacher (denoising-inpainting pretext), then ``members`` students on it, each
    with ``options(its seed)``; members differ by their seed only."""
    budget = options(seed).time_budget_s
    log(f"pretraining the RD teacher (denoising-inpainting, budget {budget or 0:.0f} s)")
    t = pretrain_teacher(config, images, val_images, options(seed + TEACHER_SEED))
    log(f"  {t.epochs_run} epochs, {t.steps} steps, stopped by {t.stopped}")
    results = []
    for i in range(max(1, members)):
        log(f"training RD student {i + 1} (seed {seed + STUDENT_SEED + i})")
        s = train_student(config, t.module, images, val_images, options(seed + STUDENT_SEED + i))
        log(f"  {s.epochs_run} epochs, {s.steps} steps, stopped by {s.stopped}")
        results.append(s)
    return RDModels(t.module, [r.module for r in results], t, results)
