"""Ensembles: the averaged probabilities exactly, gradients checked, one model file, refusals."""

import numpy as np
import pytest

import barenet as bn
from barenet.ensemble import Ensemble, ensemble
from barenet.gradcheck import check_gradients
from barenet.saving import ModelFileError, read_model_file, write_model_file


def member(rng, hidden=8, features=6, classes=4, batch_norm=False):
    layers = [bn.Dense(features, hidden, bias=not batch_norm, rng=rng)]
    layers += [bn.BatchNorm1d(hidden)] if batch_norm else []
    layers += [
        bn.ReLU(),
        bn.Dropout(0.2, rng=rng),
        bn.Dense(hidden, classes, rng=rng),
        bn.Softmax(),
    ]
    model = bn.Sequential(layers).compile("cross_entropy", "adam")
    model.input_shape = (features,)
    return model


@pytest.fixture
def members(rng):
    return [member(rng), member(rng, hidden=5, batch_norm=True), member(rng, hidden=3)]


def test_it_gives_the_mean_of_its_members_probabilities(members, rng):
    X = 3 * rng.standard_normal((20, 6)).astype(np.float32)
    combined = ensemble(members)
    expected = np.mean([model.predict_proba(X) for model in members], axis=0)
    np.testing.assert_allclose(combined.predict_proba(X), expected, rtol=1e-5, atol=1e-7)
    # Its scores are log p, and cross-entropy from them is -log p_y.
    np.testing.assert_allclose(combined.predict(X), expected, rtol=1e-5, atol=1e-7)
    y = rng.integers(0, 4, 20)
    loss = combined.evaluate(X, y)["loss"]
    assert loss == pytest.approx(-np.log(expected[np.arange(20), y]).mean(), rel=1e-5)


def test_one_member_is_that_member_and_confident_members_do_not_overflow(rng):
    model = member(rng)
    X = rng.standard_normal((5, 6)).astype(np.float32)
    np.testing.assert_allclose(
        ensemble([model]).predict_proba(X), model.predict_proba(X), atol=1e-6
    )
    model.layers[-2].params["weight"] *= 1e4  # probabilities of exactly 0 and 1 in float32
    scores = ensemble([model, member(rng)]).forward(model.as_batch(X), logits=True)
    assert np.isfinite(scores).all()


def test_gradients_through_the_average_and_every_member(members, rng):
    layer = Ensemble([model.layers for model in members])
    X = rng.standard_normal((7, 6))
    assert check_gradients(layer, X, training=False) < 1e-6
    combined = ensemble(members)
    assert check_gradients(combined, X, rng.integers(0, 4, 7), training=False) < 1e-6


def test_it_saves_and_loads_as_one_model_file(members, rng, tmp_path):
    X = rng.standard_normal((9, 6)).astype(np.float32)
    combined = ensemble(members)
    path = combined.save(tmp_path / "three.npz", {"note": "three"}, include_optimizer=False)
    arrays, _ = read_model_file(path)
    assert "layers.0.1.1.running_var" in arrays  # member 1, layer 1: its batch norm's statistics
    loaded = bn.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == ["Ensemble", "Softmax"]
    assert loaded.layers[0].label() == "Ensemble(3 networks)" and loaded.metadata["note"] == "three"
    np.testing.assert_array_equal(loaded.predict_proba(X), combined.predict_proba(X))
    explanation = bn.explain(loaded, X[:2])
    assert explanation.saliency.shape == (2, 6) and np.abs(explanation.saliency).sum() > 0


def test_a_member_declaring_huge_layers_is_refused_before_anything_is_allocated(members, tmp_path):
    path = ensemble(members).save(tmp_path / "e.npz")
    arrays, description = read_model_file(path)
    description["layers"][0]["config"]["members"][2][0]["config"]["in_features"] = 10**9
    write_model_file(tmp_path / "huge.npz", arrays, description)
    with pytest.raises(ModelFileError, match=r"layer 0\.2\.0 \(Dense\) declares sizes"):
        bn.load_model(tmp_path / "huge.npz")


def test_members_that_do_not_fit_together_are_refused(rng):
    with pytest.raises(ValueError, match="at least one model"):
        ensemble([])
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])
    scores_only = bn.Sequential([bn.Dense(6, 4, rng=rng)])
    with pytest.raises(ValueError, match="member 1 ends in Dense; .* must end in Softmax"):
        Ensemble([member(rng).layers, scores_only.layers])
    other_input = member(rng, features=5)
    with pytest.raises(ValueError, match=r"Model 1 takes inputs of shape \(5,\)"):
        ensemble([member(rng), other_input])
    with pytest.raises(ValueError, match="different numbers of classes"):
        ensemble([member(rng), member(rng, classes=3)])
    wide = bn.Sequential([bn.Dense(6, 4, rng=rng), bn.Softmax()], dtype="float64")
    wide.input_shape = (6,)
    with pytest.raises(ValueError, match="computes in float64"):
        ensemble([member(rng), wide])


def test_a_custom_activation_inside_a_member_is_refused_when_saving(rng, tmp_path):
    tanh = bn.Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2)
    custom = bn.Sequential([bn.Dense(6, 4, rng=rng), tanh, bn.Dense(4, 4, rng=rng), bn.Softmax()])
    custom.input_shape = (6,)
    with pytest.raises(ValueError, match=r"custom Activation\(fn, derivative\)"):
        ensemble([member(rng), custom]).save(tmp_path / "custom.npz")
    assert not (tmp_path / "custom.npz").exists()
