"""``EXERCISES``: every exercise by name, in the guide's order; the single source of the names
that ``grade``, ``grade_file`` and the listing accept."""

from __future__ import annotations

from barenet.configurable import lookup
from barenet.exercises.activations import EXERCISES as ACTIVATIONS
from barenet.exercises.adam import EXERCISES as ADAM
from barenet.exercises.batchnorm import EXERCISES as BATCH_NORM
from barenet.exercises.conv import EXERCISES as CONVOLUTION
from barenet.exercises.dense import EXERCISES as DENSE
from barenet.exercises.dropout import EXERCISES as DROPOUT
from barenet.exercises.experiments import EXERCISES as EXPERIMENTS
from barenet.exercises.imaging import EXERCISES as IMAGING
from barenet.exercises.losses import EXERCISES as LOSSES
from barenet.exercises.pooling import EXERCISES as POOLING
from barenet.exercises.spec import Exercise

EXERCISES: dict[str, Exercise] = {
    exercise.name: exercise
    for exercise in (
        *DENSE,  # chapters 2 to 9, in order
        *ACTIVATIONS,
        *LOSSES,
        *ADAM,
        *EXPERIMENTS,
        *CONVOLUTION,
        *POOLING,
        *BATCH_NORM,
        *IMAGING,
        *DROPOUT,
    )
}


def get_exercise(name: str) -> Exercise:
    """The exercise called ``name``; a ValueError that lists the exercises for any other."""
    return lookup(EXERCISES, name, "exercise")
