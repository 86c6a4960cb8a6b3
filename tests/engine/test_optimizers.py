"""The engine's optimizers against the textbook's rules: cache-sized slices, scratch arrays and
compiled Adam give the same numbers; subnormal running averages are flushed to zero."""

import numpy as np
import pytest

import barenet as bn
from barenet.engine.optimizers import CACHE_SIZED

ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    bn.engine.default() != "numba", reason="Numba is not installed"))]  # fmt: skip


@pytest.fixture(params=ENGINES)
def engine_name(request):
    return request.param


@pytest.mark.parametrize(
    "make",
    [
        lambda: bn.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda: bn.Adam(1e-3, weight_decay=0.01),
        lambda: bn.AdamW(1e-3),
        lambda: bn.RMSprop(1e-3, weight_decay=0.01),
    ],
)
def test_big_parameters_updated_slice_by_slice_end_up_exactly_as_the_textbook(
    make, engine_name, rng
):
    """The engine's step updates a big parameter in cache-sized slices (views of it and of its
    state), with scratch arrays and, for numba, Adam compiled: the same numbers, bit for bit, as
    the textbook's update rule on whole arrays (no value here comes near the subnormal range,
    where the engine's flush would differ)."""

    big = rng.standard_normal((3, CACHE_SIZED + 5)).astype(np.float32)  # four slices
    small = rng.standard_normal(7).astype(np.float32)
    sliced, whole = make(), make()
    params = [big.copy(), small.copy()]
    expected = [big.copy(), small.copy()]
    states = [whole.init_state(p) for p in expected]
    for _ in range(3):
        grads = [rng.standard_normal(p.shape).astype(np.float32) for p in params]
        with bn.engine.using(engine_name):
            sliced.step(params, grads)
        lr = whole.current_learning_rate()
        for param, grad, state in zip(expected, grads, states, strict=True):
            whole.update(param, grad, state, lr)  # the textbook's rule on whole arrays
        whole.iterations += 1
    for ours, reference in zip(params, expected, strict=True):
        np.testing.assert_array_equal(ours, reference)
    assert not np.array_equal(params[0], big)  # it did move


def test_a_rule_of_ones_own_sees_whole_parameters(engine_name):
    seen = []

    class NormClipping(bn.SGD):  # it scales by the whole gradient's norm
        def update(self, param, grad, state, lr):
            seen.append(param.shape)
            param -= lr * grad / max(1.0, float(np.linalg.norm(grad)))

    param = np.zeros((2, 2**17))
    with bn.engine.using(engine_name):
        NormClipping(0.1).step([param], [np.ones_like(param)])
    assert seen == [(2, 2**17)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_to_zero_zeroes_subnormals_and_keeps_the_rest(dtype):
    from barenet.engine.optimizers import flush_to_zero

    info = np.finfo(dtype)
    subnormal = [info.smallest_subnormal, -info.smallest_normal / 3, info.smallest_normal / 2]
    kept = [1e-20, -1e-20, 0.5, -3.0, 1e8, 0.0]
    array = np.array(subnormal + kept, dtype=dtype)
    flush_to_zero(array)
    np.testing.assert_array_equal(array[:3], 0.0)
    np.testing.assert_array_equal(array[3:], np.array(kept, dtype=dtype))  # bit for bit


def test_flush_to_zero_leaves_other_dtypes_alone():
    from barenet.engine.optimizers import flush_to_zero

    half = np.array([1e-7, 1e-4, 0.3], dtype=np.float16)  # a float16 subnormal, then normals
    flush_to_zero(half)
    np.testing.assert_array_equal(half, np.array([1e-7, 1e-4, 0.3], dtype=np.float16))


@pytest.mark.parametrize(
    "make, state_names",
    [
        (lambda: bn.SGD(0.1, momentum=0.9), ["velocity"]),
        (lambda: bn.Adam(1e-3), ["m", "v"]),
        (lambda: bn.RMSprop(1e-3), ["square_avg"]),
    ],
)
def test_running_averages_of_a_silent_gradient_decay_to_zero_not_to_subnormals(
    make, state_names, engine_name
):
    """A weight whose gradient falls silent (a dead unit) has its averages multiplied by 0.9 (or
    0.999) at every step: they must never sit in the slow subnormal range, and end at 0 or at a
    few units of flush_to_zero's rounding (2**-116), which no update can feel."""
    bn.engine.use(engine_name)
    optimizer = make()
    param = np.array([0.5, -0.25], dtype=np.float32)
    optimizer.step([param], [np.array([1e-3, 1e-3], dtype=np.float32)])
    silent = [np.array([0.0, 0.0], dtype=np.float32)]
    tiny = np.finfo(np.float32).smallest_normal
    subnormal_seen = False
    for _ in range(1000):
        optimizer.step([param], silent)
        for name in state_names:
            averages = optimizer._state[0][name]
            subnormal_seen |= bool(np.any((averages != 0) & (np.abs(averages) < tiny)))
    assert not subnormal_seen
    # 0.9**1000 * 1e-3 = 2e-49: below any float32; the rounding leaves at most a few 2**-116.
    assert abs(optimizer._state[0][state_names[0]][0]) <= 8 * 2.0**-116
