"""The head: what a model's outputs mean, decided once from its last layer and its loss."""

import numpy as np
import pytest

import barenet as bn
from barenet.heads import Head, decide_head


@pytest.mark.parametrize(
    ("last", "loss", "expected"),
    [
        (bn.Softmax(), bn.CrossEntropy(), Head("softmax", True, 0.5)),
        (bn.Softmax(), bn.CrossEntropy(from_logits=False), Head("softmax", False, 0.5)),
        (bn.Sigmoid(), bn.BinaryCrossEntropy(), Head("sigmoid", True, 0.5)),
        (bn.Tanh(), bn.MeanSquaredError(), Head("tanh", False, 0.5)),
        (bn.Dense(2, 1), bn.BinaryCrossEntropy(), Head(None, False, 0.0)),
        (bn.Dense(2, 3), bn.MeanSquaredError(), Head(None, False, 0.5)),
        (None, None, Head(None, False, 0.5)),
    ],
)
def test_one_rule_decides_the_head(last, loss, expected):
    assert decide_head(last, loss) == expected


def test_the_model_decides_its_head_at_compile_and_when_a_last_layer_is_added():
    model = bn.Sequential([bn.Dense(2, 3), bn.Softmax()])
    assert not model.head.fused
    model.compile("cross_entropy", "sgd")
    assert model.head.fused and model.head.squash == "softmax"
    model.add(bn.Tanh())
    assert model.head == Head("tanh", False, 0.5)


def test_probabilities_of_each_kind_of_output():
    scores = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(Head().probabilities(scores).sum(axis=1), 1.0)
    outputs = np.array([[0.9, -0.2, 0.1], [-0.5, -0.1, -0.9]])
    squashed = Head("tanh").probabilities(outputs)  # (y + 1) / 2, then each row over its sum
    moved = (outputs + 1) / 2
    np.testing.assert_allclose(squashed, moved / moved.sum(axis=1, keepdims=True))
    np.testing.assert_array_equal(squashed.argmax(axis=1), outputs.argmax(axis=1))
    softmax_rows = np.array([[0.2, 0.8]])
    assert Head("softmax").probabilities(softmax_rows) is softmax_rows
