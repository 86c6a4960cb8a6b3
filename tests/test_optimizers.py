"""Hand-worked single steps for every optimizer, and hyperparameter validation."""

import numpy as np
import pytest

import barenet as bn
from barenet.schedules import StepDecay

# Every test here runs on the textbook alone and on the default engine.
pytestmark = pytest.mark.usefixtures("wing")


def run_steps(optimizer, grads, start=(1.0, -2.0)):
    param = np.array(start)
    for grad in grads:
        optimizer.step([param], [np.array(grad)])
    return param


def test_sgd_step():
    np.testing.assert_allclose(run_steps(bn.SGD(0.1), [[0.5, 1.0]]), [0.95, -2.1])


def test_sgd_weight_decay_adds_l2_gradient():
    # g = [0.5, 1.0] + 0.1 * [1, -2] = [0.6, 0.8]
    np.testing.assert_allclose(
        run_steps(bn.SGD(0.1, weight_decay=0.1), [[0.5, 1.0]]), [0.94, -2.08]
    )


def test_momentum_two_steps():
    # v1 = g1 = [1, 1]; p = [0.9, -2.1]; v2 = 0.9 * v1 + [0.5, 0] = [1.4, 0.9]
    param = run_steps(bn.SGD(0.1, momentum=0.9), [[1.0, 1.0], [0.5, 0.0]])
    np.testing.assert_allclose(param, [0.9 - 0.14, -2.1 - 0.09])


def test_nesterov_two_steps():
    # step 1: v = [1, 1], direction g + 0.9 v = [1.9, 1.9] -> p = [0.81, -2.19]
    # step 2: v = [1.4, 0.9], direction [0.5 + 1.26, 0 + 0.81] -> p = [0.634, -2.271]
    param = run_steps(bn.SGD(0.1, momentum=0.9, nesterov=True), [[1.0, 1.0], [0.5, 0.0]])
    np.testing.assert_allclose(param, [0.634, -2.271])


def test_adam_first_step_moves_by_learning_rate():
    # t = 1: m_hat = g, v_hat = g^2, so the step is lr * g / (|g| + eps) = lr * sign(g).
    param = run_steps(bn.Adam(0.01, eps=1e-12), [[0.5, -3.0]])
    np.testing.assert_allclose(param, [0.99, -1.99])


def test_adam_second_step_by_hand():
    g1, g2 = np.array([0.5, -3.0]), np.array([0.1, 1.0])
    m = 0.9 * (0.1 * g1) + 0.1 * g2
    v = 0.999 * (0.001 * g1**2) + 0.001 * g2**2
    m_hat, v_hat = m / (1 - 0.9**2), v / (1 - 0.999**2)
    expected = np.array([0.99, -1.99]) - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-8)
    np.testing.assert_allclose(run_steps(bn.Adam(0.01), [g1, g2]), expected, rtol=1e-9)


def test_adamw_decays_weights_decoupled():
    # decay first: p * (1 - lr * wd) = [0.999, -1.998], then the Adam step lr * sign(g).
    param = run_steps(bn.AdamW(0.01, eps=1e-12, weight_decay=0.1), [[0.5, -3.0]])
    np.testing.assert_allclose(param, [0.989, -1.988])


def test_rmsprop_step():
    # s = 0.1 * g^2, step = lr * g / sqrt(s) = lr * sign(g) / sqrt(0.1)
    param = run_steps(bn.RMSprop(0.01, rho=0.9, eps=1e-12), [[0.5, -3.0]])
    np.testing.assert_allclose(param, [1 - 0.01 / np.sqrt(0.1), -2 + 0.01 / np.sqrt(0.1)])


def test_float32_parameters_stay_float32():
    param = np.ones(3, np.float32)
    for optimizer in (bn.SGD(0.1, momentum=0.9), bn.Adam(), bn.RMSprop()):
        optimizer.step([param], [np.ones(3, np.float32)])
    assert param.dtype == np.float32


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: bn.SGD(-1.0), "Invalid learning rate: -1.0"),
        (lambda: bn.SGD(0.1, momentum=1.5), "Invalid momentum value: 1.5"),
        (lambda: bn.SGD(0.1, nesterov=True), "Nesterov momentum requires momentum > 0"),
        (lambda: bn.Adam(beta1=1.0), "Invalid beta1 value: 1.0"),
        (lambda: bn.Adam(eps=0), "Invalid epsilon value: 0"),
        (lambda: bn.RMSprop(rho=-0.1), "Invalid rho value: -0.1"),
        (lambda: bn.Adam(weight_decay=-1), "Invalid weight_decay value: -1"),
        (lambda: bn.get_optimizer("adagrad"), "Expected one of: adam, adamw, momentum"),
    ],
)
def test_invalid_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_optimizer_refuses_a_different_parameter_list():
    optimizer = bn.SGD(0.1)
    optimizer.step([np.ones(2)], [np.ones(2)])
    with pytest.raises(ValueError, match="set up for 1 parameters"):
        optimizer.step([np.ones(2), np.ones(2)], [np.ones(2), np.ones(2)])


def test_optimizer_follows_a_schedule():
    optimizer = bn.SGD(StepDecay(1.0, step_size=1, gamma=0.5))
    param = run_steps(optimizer, [[1.0, 0.0]] * 3, start=(0.0, 0.0))
    np.testing.assert_allclose(param, [-(1.0 + 0.5 + 0.25), 0.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: bn.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
        lambda: bn.Adam(1e-3, weight_decay=1e-3, decoupled_weight_decay=True),
        lambda: bn.AdamW(2e-3),
        lambda: bn.RMSprop(0.01, rho=0.8),
    ],
    ids=["SGD", "Adam", "AdamW", "RMSprop"],
)
def test_an_optimizer_and_its_state_round_trip(make, rng):
    from barenet.optimizers import describe_optimizer, optimizer_from_description

    optimizer = make()
    params = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    for _ in range(3):
        optimizer.step(params, [rng.normal(size=(3, 2)), rng.normal(size=4)])
    rebuilt = optimizer_from_description(describe_optimizer(optimizer))
    assert repr(rebuilt) == repr(optimizer) and rebuilt.iterations == 3
    rebuilt.restore_state(params, optimizer.state_arrays())
    assert all("scratch" not in name for name in optimizer.state_arrays())
    grads = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    copies = [param.copy() for param in params]
    optimizer.step(params, grads)
    rebuilt.step(copies, grads)
    for ours, theirs in zip(params, copies, strict=True):
        np.testing.assert_array_equal(ours, theirs)  # the same next step


def test_schedules_are_saved_and_functions_are_not():
    from barenet.optimizers import describe_optimizer, optimizer_from_description
    from barenet.schedules import CosineDecay, StepDecay

    for schedule in (CosineDecay(0.1, 100, 10), StepDecay(0.1, 30, 0.5)):
        rebuilt = optimizer_from_description(describe_optimizer(bn.SGD(schedule)))
        assert rebuilt.learning_rate == schedule
    assert describe_optimizer(bn.SGD(lambda step: 0.1)) is None  # Python code: not written
    with pytest.raises(ValueError, match="Unknown optimizer class 'Lion'"):
        optimizer_from_description({"class": "Lion", "config": {"learning_rate": 0.1}})


def test_restoring_state_for_other_parameters_is_refused(rng):
    optimizer = bn.Adam()
    optimizer.step([np.zeros(3)], [np.ones(3)])
    with pytest.raises(ValueError, match="does not fit Adam"):
        bn.Adam().restore_state([np.zeros(3), np.zeros(2)], optimizer.state_arrays())
    with pytest.raises(ValueError, match="has shape"):
        bn.Adam().restore_state([np.zeros(4)], optimizer.state_arrays())


def test_adam_keeps_the_papers_moments_as_its_saved_state():
    """m and v are the paper's (PyTorch's exp_avg and exp_avg_sq), step by step."""
    g1, g2 = np.array([0.5, -3.0]), np.array([0.1, 1.0])
    optimizer = bn.Adam(0.01)
    param = np.array([1.0, -2.0])
    optimizer.step([param], [g1])
    optimizer.step([param], [g2])
    state = optimizer.state_arrays()
    np.testing.assert_allclose(state["optimizer.0.m"], 0.9 * (0.1 * g1) + 0.1 * g2, rtol=1e-12)
    np.testing.assert_allclose(
        state["optimizer.0.v"], 0.999 * (0.001 * g1**2) + 0.001 * g2**2, rtol=1e-12
    )


def test_an_older_files_adam_state_is_brought_to_the_papers_moments():
    """Files before state_version 2 kept m / (1 - beta1) and v / (1 - beta2)."""
    from barenet.optimizers import describe_optimizer, upgrade_state

    optimizer = bn.Adam(0.01, beta1=0.8)
    optimizer.step([np.array([1.0, -2.0])], [np.array([0.5, -3.0])])
    saved = optimizer.state_arrays()
    description = describe_optimizer(optimizer)
    assert description["state_version"] == 2
    old = {
        "optimizer.0.m": saved["optimizer.0.m"] / 0.2,
        "optimizer.0.v": saved["optimizer.0.v"] / 0.001,
    }
    del description["state_version"]
    upgrade_state(description, old)
    for name, array in saved.items():
        np.testing.assert_allclose(old[name], array, rtol=1e-12)
    unchanged = {"optimizer.0.velocity": np.ones(2)}
    upgrade_state({"class": "SGD", "config": {}}, unchanged)
    np.testing.assert_array_equal(unchanged["optimizer.0.velocity"], 1.0)
