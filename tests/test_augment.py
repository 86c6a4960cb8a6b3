"""Training-time augmentation: exact on known maps, seeded, and wired into fit."""

import numpy as np
import pytest

import barenet as bn
from barenet.augment import (
    Combined,
    ElasticDistortion,
    PixelMap,
    RandomAffine,
    bilinear,
    gaussian_matrix,
    get_augmentation,
    pixel_grid,
)


@pytest.fixture
def digits():
    from barenet.datasets import load_mnist

    (x_train, _), _ = load_mnist()
    return x_train[:64]


def grid(shape):
    rows, cols = np.mgrid[0 : shape[-2], 0 : shape[-1]].astype(np.float32)
    return np.broadcast_to(rows, shape), np.broadcast_to(cols, shape)


def test_bilinear_reads_whole_pixels_exactly_and_fills_outside_with_zeros(digits):
    rows, cols = grid(digits.shape)
    np.testing.assert_array_equal(bilinear(digits, rows, cols), digits)
    shifted = bilinear(digits, rows, cols - 3)  # every pixel reads 3 columns to its left
    np.testing.assert_array_equal(shifted[:, :, 3:], digits[:, :, :-3])
    assert not shifted[:, :, :3].any()
    rotated = bilinear(digits, cols, 27 - rows)  # output (r, c) reads (c, 27 - r)
    np.testing.assert_array_equal(rotated, np.rot90(digits, k=1, axes=(1, 2)))


def test_bilinear_interpolates_between_neighbours():
    image = np.array([[[0.0, 10.0], [20.0, 30.0]]])
    value = bilinear(
        image, np.full((1, 2, 2), 0.5, np.float32), np.full((1, 2, 2), 0.25, np.float32)
    )
    np.testing.assert_allclose(value, 0.5 * (2.5 + 22.5))


def test_zero_strength_is_the_identity(digits, rng):
    out = RandomAffine(0, 0, 0)(digits, rng)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, digits, atol=1e-3)


def test_same_seed_same_images_and_ink_is_kept(digits):
    augment = RandomAffine(max_shift=2, max_rotation=10, max_scale=0.1)
    first = augment(digits, np.random.default_rng(5))
    np.testing.assert_array_equal(first, augment(digits, np.random.default_rng(5)))
    assert not np.array_equal(first, augment(digits, np.random.default_rng(6)))
    assert not np.allclose(first, digits, atol=1)  # something moved
    # A small affine map keeps the amount of ink within the change of area (at most 1.1^2).
    ratio = first.sum(axis=(1, 2)) / digits.sum(axis=(1, 2))
    assert ratio.min() > 0.75 and ratio.max() < 1.3, ratio


def test_channels_are_moved_together(digits, rng):
    two = np.stack([digits, 255 - digits.astype(np.int32)], axis=1)  # (N, 2, 28, 28)
    out = RandomAffine()(two, np.random.default_rng(1))
    single = RandomAffine()(digits, np.random.default_rng(1))
    assert out.shape == two.shape
    np.testing.assert_allclose(out[:, 0], single, atol=1e-3)


def test_bad_arguments_are_refused(rng):
    with pytest.raises(ValueError, match="max_rotation >= 0"):
        RandomAffine(max_rotation=-1)
    with pytest.raises(ValueError, match="max_scale < 1"):
        RandomAffine(max_scale=1.5)
    with pytest.raises(ValueError, match=r"shape \(N, H, W\) or \(N, C, H, W\), got \(3, 784\)"):
        RandomAffine()(np.zeros((3, 784)), rng)


def test_fit_augments_training_batches_only_and_reproducibly(digits, rng):
    seen = []

    def spy(batch, generator):
        seen.append(batch.shape)
        return RandomAffine()(batch, generator)

    def run():
        model = bn.Sequential(
            [
                bn.Flatten(),
                bn.Rescaling(1 / 255),
                bn.Dense(784, 10, rng=np.random.default_rng(0)),
                bn.Softmax(),
            ]
        )
        model.compile("cross_entropy", "adam")
        labels = np.arange(64) % 10
        model.fit(
            digits,
            labels,
            epochs=2,
            batch_size=16,
            validation_split=0.25,
            augment=spy,
            verbose=0,
            seed=3,
        )
        return model

    first, second = run(), run()
    assert seen[:3] == [(16, 28, 28)] * 3 and len(seen) == 2 * 2 * 3  # 48 training images a run
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_gaussian_matrix_is_a_zero_padded_normalised_convolution():
    matrix = gaussian_matrix(28, sigma=4.0)
    impulse = np.zeros(28, np.float32)
    impulse[14] = 1
    response = matrix @ impulse  # the kernel itself, centred on pixel 14
    assert response.argmax() == 14 and np.allclose(response[10:14], response[18:14:-1])
    assert response.sum() == pytest.approx(1.0, abs=1e-3)  # all of it falls inside 28 pixels
    assert 0.5 < (matrix @ np.ones(28, np.float32))[0] < 0.6  # about half of it at an end
    expected = np.exp(-1 / (2 * 4.0**2))  # one pixel away, relative to the centre
    assert response[15] / response[14] == pytest.approx(expected, rel=1e-5)


def test_elastic_moves_are_smooth_seeded_and_scaled_by_alpha(digits):
    elastic = ElasticDistortion(alpha=34, sigma=4)
    rows, cols = pixel_grid(28, 28)
    src_y, src_x = elastic.source_coordinates(500, 28, 28, np.random.default_rng(2))
    dy, dx = src_y - rows, src_x - cols
    assert src_y.shape == (500, 28, 28) and src_y.dtype == np.float32
    # Simard's setting moves pixels by about 1.3 pixels (standard deviation), neighbours alike.
    assert 0.8 < dy[:, 8:20, 8:20].std() < 2.0 and 0.8 < dx[:, 8:20, 8:20].std() < 2.0
    neighbours = np.corrcoef(dy[:, 14, 14], dy[:, 14, 15])[0, 1]
    assert neighbours > 0.95, neighbours
    weaker = ElasticDistortion(alpha=17, sigma=4)
    half_y, _ = weaker.source_coordinates(500, 28, 28, np.random.default_rng(2))
    np.testing.assert_allclose(half_y - rows, dy / 2, atol=1e-5)
    first = elastic(digits, np.random.default_rng(5))
    np.testing.assert_array_equal(first, elastic(digits, np.random.default_rng(5)))
    assert first.shape == digits.shape and not np.allclose(first, digits, atol=1)
    ratio = first.sum(axis=(1, 2)) / digits.sum(axis=(1, 2))
    assert ratio.min() > 0.6 and ratio.max() < 1.5, ratio
    np.testing.assert_allclose(ElasticDistortion(alpha=0)(digits, np.random.default_rng(1)), digits)


def test_combined_maps_add_their_displacements_and_read_once():
    class FixedShift(PixelMap):
        def __init__(self, dy: float, dx: float) -> None:
            self.dy, self.dx = dy, dx

        def source_coordinates(self, n, h, w, rng):
            rows, cols = pixel_grid(h, w)
            return np.broadcast_to(rows + self.dy, (n, h, w)), np.broadcast_to(
                cols + self.dx, (n, h, w)
            )

    image = np.arange(2 * 6 * 6, dtype=np.float32).reshape(2, 6, 6)
    both = Combined([FixedShift(1, 0), FixedShift(0, 2)])(image, np.random.default_rng(0))
    np.testing.assert_array_equal(both[:, :5, :4], image[:, 1:, 2:])
    with pytest.raises(ValueError, match="one or more pixel maps"):
        Combined([FixedShift(0, 1), object()])


def test_augmentations_by_name():
    assert get_augmentation("none") is None
    assert isinstance(get_augmentation("affine"), RandomAffine)
    assert isinstance(get_augmentation("elastic"), ElasticDistortion)
    both = get_augmentation("affine+elastic")
    assert isinstance(both, Combined) and [type(m) for m in both.maps] == [
        RandomAffine,
        ElasticDistortion,
    ]
    with pytest.raises(ValueError, match="Unknown augmentation 'warp'. Expected one of: affine"):
        get_augmentation("warp")
    with pytest.raises(ValueError, match="alpha >= 0"):
        ElasticDistortion(alpha=-1)
    with pytest.raises(ValueError, match="sigma > 0"):
        ElasticDistortion(sigma=0)
