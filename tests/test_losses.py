"""Loss values against direct formulas, stability at extreme logits, and label checks."""

import numpy as np
import pytest

import barenet as bn
from barenet.activations import log_softmax, sigmoid, softmax


def test_cross_entropy_value_matches_the_definition(rng):
    logits = rng.standard_normal((6, 4))
    labels = np.array([0, 3, 1, 2, 2, 0])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(6), labels]))
    assert bn.CrossEntropy().forward(logits, labels) == pytest.approx(expected)
    assert bn.CrossEntropy(from_logits=False).forward(p, labels) == pytest.approx(expected)
    assert bn.CrossEntropy().forward(logits, np.eye(4)[labels]) == pytest.approx(expected)


def test_fused_gradient_is_softmax_minus_onehot_over_n(rng):
    logits = rng.standard_normal((5, 3))
    labels = np.array([0, 1, 2, 1, 0])
    loss = bn.CrossEntropy()
    loss.forward(logits, labels)
    np.testing.assert_allclose(loss.backward(), (softmax(logits) - np.eye(3)[labels]) / 5)


def test_extreme_logits_stay_finite():
    logits = np.array([[1000.0, -1000.0, 0.0], [-1e4, 1e4, 5.0]], dtype=np.float32)
    loss = bn.CrossEntropy()
    value = loss.forward(logits, np.array([1, 0]))
    assert np.isfinite(value) and value == pytest.approx((2000 + 2e4) / 2, rel=1e-5)
    assert np.isfinite(loss.backward()).all()
    assert np.isfinite(log_softmax(logits)).all()
    np.testing.assert_allclose(softmax(logits).sum(axis=1), 1.0)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow either
        assert sigmoid(np.array([-1000.0, 0.0, 1000.0])).tolist() == [0.0, 0.5, 1.0]
    bce = bn.BinaryCrossEntropy()
    assert bce.forward(np.array([[800.0, -800.0]]), np.array([[0.0, 1.0]])) == pytest.approx(800)


def test_mse_one_hot_encodes_integer_labels():
    predictions = np.array([[0.5, 0.5], [0.0, 1.0]])
    assert bn.MeanSquaredError().forward(predictions, np.array([0, 1])) == pytest.approx(0.125)


def test_probability_cross_entropy_clips_zero():
    value = bn.CrossEntropy(from_logits=False).forward(np.array([[0.0, 1.0]]), np.array([0]))
    assert value == pytest.approx(-np.log(1e-7))


def test_bce_takes_class_ids_or_targets_of_the_predictions_shape():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, -2.0]])
    bce = bn.BinaryCrossEntropy()
    by_ids = bce.forward(logits, np.array([0, 1]))
    grad_by_ids = bce.backward()
    by_rows = bce.forward(logits, np.eye(3)[[0, 1]])
    assert by_ids == pytest.approx(by_rows)
    np.testing.assert_allclose(grad_by_ids, bce.backward())
    single = bce.forward(np.array([[3.0], [-3.0]]), np.array([1, 0]))
    assert single == pytest.approx(np.log1p(np.exp(-3.0)))
    with pytest.raises(ValueError, match="BinaryCrossEntropy expected targets"):
        bce.forward(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="must be integers"):
        bce(np.zeros((3, 1)), np.zeros(3))  # calling a loss checks the labels' values too
    with pytest.raises(ValueError, match=r"class ids in 0\.\.1"):
        bce(np.zeros((3, 1)), np.array([0, 1, 2]))


def test_losses_by_name():
    assert isinstance(bn.get_loss("mse"), bn.MeanSquaredError)
    assert repr(bn.get_loss("cross_entropy")) == "CrossEntropy(from_logits=True)"


@pytest.mark.parametrize(
    "targets",
    [
        np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.2, 0.3, 0.1]]),  # multi-hot, none, partial
        np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8], [0.0, 1.0, 0.0]]),  # label smoothing
    ],
)
def test_cross_entropy_gradient_is_exact_for_rows_that_do_not_sum_to_one(targets, rng):
    logits = rng.standard_normal((3, 3))
    assert bn.check_gradients(bn.CrossEntropy(), logits, targets) < 1e-7
    loss = bn.CrossEntropy()
    loss.forward(logits, targets)
    expected = (softmax(logits) * targets.sum(axis=1, keepdims=True) - targets) / 3
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-12)


def test_clipped_probabilities_have_no_gradient():
    """Where the clip holds a prediction at a bound it crossed, the loss does not change with it."""
    predictions = np.array([[1.2, 0.3, -0.1], [0.5, 1e-9, 0.5]])
    targets = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    loss = bn.CrossEntropy(from_logits=False)
    loss.forward(predictions, targets)
    gradient = loss.backward()
    assert gradient[0, 0] == gradient[0, 2] == gradient[1, 1] == 0.0
    bce = bn.BinaryCrossEntropy(from_logits=False)
    bce.forward(predictions, targets)
    assert bce.backward()[0, 0] == bce.backward()[0, 2] == bce.backward()[1, 1] == 0.0
    assert bce.backward()[0, 1] != 0.0
