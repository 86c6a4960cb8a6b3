"""What configurable objects share: a repr from their config, and argument checks."""

import numpy as np
import pytest

import barenet as bn
from barenet.augment import RandomAffine
from barenet.configurable import check_positive_int


def test_reprs_show_the_arguments_that_rebuild_each_object():
    assert repr(bn.Dropout(0.25)) == "Dropout(rate=0.25)"
    assert repr(bn.CrossEntropy()) == "CrossEntropy(from_logits=True)"
    assert repr(bn.SGD(0.1, momentum=0.9)).startswith("SGD(learning_rate=0.1, weight_decay=0.0,")
    assert repr(RandomAffine(1, 5, 0.05)) == (
        "RandomAffine(max_shift=1, max_rotation=5, max_scale=0.05)"
    )
    assert repr(bn.ReLU()) == "ReLU()"
    dense = bn.Dense(3, 2)
    assert type(dense)(**dense.get_config()).get_config() == dense.get_config()


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "4", None])
def test_positive_integers_only(value):
    with pytest.raises(ValueError, match="Conv2D expected a positive integer stride. Received: "):
        check_positive_int("Conv2D", kernel_size=3, stride=value)


def test_numpy_integers_are_integers():
    check_positive_int("Dense", in_features=np.int64(4), out_features=1)
