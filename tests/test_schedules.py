"""Learning-rate schedules: values at chosen steps, and the registry of run-long schedules."""

import pytest

from barenet.schedules import Constant, CosineDecay, ExponentialDecay, StepDecay


def test_schedules():
    assert Constant(0.1)(1000) == 0.1
    assert StepDecay(0.1, step_size=10, gamma=0.5)(25) == pytest.approx(0.025)
    assert ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(20) == pytest.approx(0.025)
    cosine = CosineDecay(1.0, total_steps=110, warmup_steps=10)
    assert cosine(0) == pytest.approx(0.1)  # the warm-up starts at lr / warmup, as documented
    assert cosine(9) == pytest.approx(1.0)
    assert cosine(60) == pytest.approx(0.5)
    assert cosine(110) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="Invalid warmup_steps"):
        CosineDecay(1.0, total_steps=10, warmup_steps=10)
