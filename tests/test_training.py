"""fit: training styles, XOR, determinism, bad input, divergence, steps and logging."""

import re

import numpy as np
import pytest

import barenet as bn
from tests.helpers import blobs, small_model

# Every test here runs on the textbook alone and on the default engine.
pytestmark = pytest.mark.usefixtures("wing")

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)


def test_xor_as_the_tutorials_ran_it():
    """2-3-1 tanh, MSE, per-sample SGD at learning rate 0.1, 1000 epochs, U(-0.5, 0.5) init."""
    rng = np.random.default_rng(2)
    model = bn.Sequential(
        [
            bn.Dense(2, 3, init="uniform", bias_init="uniform", rng=rng),
            bn.Tanh(),
            bn.Dense(3, 1, init="uniform", bias_init="uniform", rng=rng),
            bn.Tanh(),
        ]
    ).compile("mse", bn.SGD(0.1))
    model.fit(XOR_X, XOR_Y, epochs=1000, batch_size=1, verbose=0, seed=2)
    np.testing.assert_array_less(np.abs(model.predict(XOR_X) - XOR_Y), 0.1)
    np.testing.assert_array_equal(model.predict_classes(XOR_X), [0, 1, 1, 0])


@pytest.mark.parametrize("batch_size", [1, 16, None])
def test_three_training_styles_learn(batch_size, rng):
    X, y = blobs(rng)
    model = small_model(rng)
    history = model.fit(X, y, epochs=20, batch_size=batch_size, verbose=0, seed=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(X, y)["accuracy"] > 0.95


def test_softmax_output_with_cross_entropy_trains_stably(rng):
    X, y = blobs(rng)
    model = bn.Sequential(
        [bn.Dense(5, 16, rng=rng), bn.ReLU(), bn.Dense(16, 3, rng=rng), bn.Softmax()]
    )
    model.compile("cross_entropy", bn.Adam(0.05))
    assert model.head.fused
    # Large inputs saturate the softmax at once: a naive -log(p) would give inf and 0 gradients.
    history = model.fit(X * 30, y, epochs=15, batch_size=32, verbose=0, seed=0)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(X * 30, y)["accuracy"] > 0.95
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0, rtol=1e-5)


def test_fit_history_keys_and_validation(rng):
    X, y = blobs(rng)
    history = small_model(rng).fit(X, y, epochs=3, validation_split=0.2, verbose=0)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.history)
    assert all(len(values) == 3 for values in history.history.values())
    assert history.epoch == [0, 1, 2]


def test_same_seed_same_run(rng):
    X, y = blobs(rng)
    runs = []
    for _ in range(2):
        init = np.random.default_rng(7)
        model = bn.Sequential(
            [
                bn.Dense(5, 8, rng=init),
                bn.ReLU(),
                bn.Dropout(0.3, rng=init),
                bn.Dense(8, 3, rng=init),
            ]
        ).compile("cross_entropy", "adam")
        model.fit(X, y, epochs=3, batch_size=8, verbose=0, seed=11)
        runs.append(model.predict(X))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_same_seed_same_run_on_a_loaded_model_with_dropout(rng, tmp_path):
    """A loaded model's Dropout has no seeded generator: fit(seed=...) seeds it (fine-tuning a
    shipped model twice with one seed gives one model)."""
    X, y = blobs(rng)
    init = np.random.default_rng(7)
    layers = [bn.Dense(5, 8, rng=init), bn.ReLU(), bn.Dropout(0.5), bn.Dense(8, 3, rng=init)]
    bn.Sequential(layers).compile("cross_entropy", "adam").save(tmp_path / "m.npz")
    runs = []
    for seed in (11, 11, 12):
        model = bn.load_model(tmp_path / "m.npz")
        model.fit(X, y, epochs=2, batch_size=8, verbose=0, seed=seed)
        runs.append(model.predict(X))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])  # the masks follow the seed


@pytest.mark.parametrize(
    "X, y, message",
    [
        (
            np.zeros((4, 6)),
            np.zeros(4, int),
            r"Dense\(in_features=5\) expected input of shape \(N, 5\), got \(N, 6\)",
        ),
        (np.zeros((4, 5)), np.zeros(3, int), "X has 4 samples but y has 3 labels"),
        (np.zeros((4, 5)), np.array([0, 1, 3, 0]), r"class ids in 0..2 .* Received a label of 3"),
        (np.zeros((4, 5)), np.array([0, -1, 2, 0]), "Received a label of -1"),
        (np.zeros((4, 5)), np.array([0.0, 1.0, 2.0, 0.0]), "must be integers"),
        (np.zeros((4, 5)), np.zeros((4, 4)), r"shape \(N,\) or \(N, 3\)"),
        (np.full((4, 5), np.nan), np.zeros(4, int), "NaN or infinite"),
        (np.array([[np.inf] * 5] * 4), np.zeros(4, int), "NaN or infinite"),
        (np.zeros(5), np.zeros(5, int), r"Expected X of shape \(N, features...\)"),
    ],
)
def test_bad_training_input_is_a_clear_error(X, y, message, rng):
    with pytest.raises(ValueError, match=message):
        small_model(rng).fit(X, y, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, "positive integer epochs"),
        ({"epochs": 1, "batch_size": 0}, "batch_size >= 1 or None"),
        ({"epochs": 1, "validation_split": 1.0}, "validation_split must be in"),
    ],
)
def test_bad_fit_arguments(kwargs, message, rng):
    X, y = blobs(rng, n=20)
    with pytest.raises(ValueError, match=message):
        small_model(rng).fit(X, y, verbose=0, **kwargs)


def test_fit_before_compile_is_an_error(rng):
    with pytest.raises(ValueError, match="call model.compile"):
        bn.Sequential([bn.Dense(5, 3, rng=rng)]).fit(np.zeros((2, 5)), np.zeros(2, int), epochs=1)


def test_divergence_stops_with_a_clear_error_and_finite_weights(rng):
    X, y = blobs(rng)
    model = bn.Sequential([bn.Dense(5, 32, rng=rng), bn.ReLU(), bn.Dense(32, 3, rng=rng)])
    model.compile("mse", bn.SGD(1e4))
    with pytest.raises(bn.TrainingDiverged, match="smaller learning rate"):
        model.fit(X * 1e3, y, epochs=50, batch_size=8, verbose=0)
    assert all(np.isfinite(param).all() for _, param, _ in model.parameters())


def test_steps_per_epoch_draws_that_many_batches(rng):
    X, y = blobs(rng, n=100)
    model = small_model(rng, optimizer=bn.SGD(0.01))
    model.fit(X, y, epochs=3, batch_size=1, steps_per_epoch=10, verbose=0)
    assert model.optimizer.iterations == 30


def test_verbose_prints_one_line_per_epoch(rng, capsys):
    X, y = blobs(rng, n=50)
    small_model(rng).fit(X, y, epochs=2, verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Epoch 1/2  train loss ") and lines[1].startswith("Epoch 2/2")
    assert "train accuracy" in lines[0] and "validation" not in lines[0]


def test_verbose_names_the_validation_accuracy_beside_the_training_one(rng, capsys):
    X, y = blobs(rng, n=50)
    small_model(rng).fit(X, y, epochs=2, validation_split=0.2, verbose=1)
    for line in capsys.readouterr().out.strip().splitlines():
        assert re.fullmatch(
            r"Epoch \d/2  train loss \d+\.\d{4}  accuracy: train \d+\.\d\d%, "
            r"validation \d+\.\d\d%  \d+\.\d s",
            line,
        ), line


def test_fit_has_one_definition():
    from barenet.training import Trainer

    assert bn.Sequential.fit is Trainer.fit and bn.Sequential.evaluate is Trainer.evaluate


def test_empty_data_and_zero_steps_are_sentences(rng):
    model = small_model(rng)
    with pytest.raises(ValueError, match="evaluate\\(\\) received no samples"):
        model.evaluate(np.zeros((0, 5)), np.zeros(0, int))
    with pytest.raises(ValueError, match="positive integer steps_per_epoch. Received: 0"):
        model.fit(*blobs(rng, n=20), epochs=1, steps_per_epoch=0, verbose=0)


def test_a_loss_that_blows_up_while_finite_is_divergence(rng):
    X, y = blobs(rng, n=256)
    model = small_model(rng, optimizer=bn.Adam(1e9))
    with pytest.raises(bn.TrainingDiverged, match="smaller learning rate"):
        model.fit(X, y, epochs=20, batch_size=32, verbose=0, seed=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())
