"""Generated non-digits: every kind draws ink on its canvas, seeded, and no letter is a digit."""

import numpy as np
import pytest

from barenet.digits.nondigits import KINDS, LETTERS, non_digit


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_draws_some_ink_on_its_canvas(kind):
    for seed in range(10):
        ink = non_digit(kind, 120, np.random.default_rng(seed))
        assert ink.shape == (120, 120) and ink.dtype == np.float32
        assert ink.min() >= 0 and ink.max() <= 1 and ink.max() > 0.25, (kind, seed)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_same_seed_same_drawing(kind):
    first = non_digit(kind, 96, np.random.default_rng(3))
    np.testing.assert_array_equal(first, non_digit(kind, 96, np.random.default_rng(3)))


def test_no_letter_is_also_written_as_a_digit():
    assert not set(LETTERS) & set("OoDIilJjSsZzBbGgqQT0123456789")


def test_an_unknown_kind_names_the_known_ones():
    with pytest.raises(ValueError, match="non-digit .cat.. Expected one of: letter"):
        non_digit("cat", 64, np.random.default_rng(0))
