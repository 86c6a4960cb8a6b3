"""Sharded training steps: the batch split among threads gives the one-thread step's gradients."""

import threading

import numpy as np
import pytest

import barenet as bn
from barenet.engine import sharding
from barenet.engine.sharding import AllReduce, ShardedStep, blas_controller
from barenet.engine.training import gradients

pytest.importorskip("threadpoolctl")


def fit(model, X, y, threads, **options):
    """``model.fit`` with each batch shared among ``threads`` threads (the numpy engine)."""
    with bn.engine.using("numpy", threads=threads):
        return model.fit(X, y, **options)


def one_step(model, shards, X, y):
    """One sharded forward, loss and backward of (X, y)."""
    with bn.engine.using("numpy"):
        return ShardedStep(model, shards, gradients)(model, X, y)


def _cnn(dtype="float64", dropout=0.0, seed=0):
    """Convolution, both batch norms, pooling, dropout, dense: every kind of shardable layer."""
    rng = np.random.default_rng(seed)
    layers = [
        bn.Rescaling(1 / 255),
        bn.Reshape((1, 8, 8)),
        bn.Conv2D(1, 4, 3, rng=rng),
        bn.BatchNorm2d(4),
        bn.ReLU(),
        bn.MaxPool2D(2),
        bn.Flatten(),
        bn.Dense(36, 8, rng=rng),
        bn.BatchNorm1d(8),
        bn.Tanh(),
        bn.Dropout(dropout, rng=np.random.default_rng(seed + 1)),
        bn.Dense(8, 3, rng=rng),
        bn.Softmax(),
    ]
    return bn.Sequential(layers, dtype=dtype).compile("cross_entropy", "adam")


def _data(samples, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (samples, 8, 8)).astype(np.float64), rng.integers(0, 3, samples)


def _gradients(model):
    return [grad.copy() for _, _, grad in model.parameters()]


@pytest.mark.parametrize("samples, threads", [(13, 2), (13, 3), (8, 4), (3, 4)])
def test_sharded_gradients_are_the_whole_batch_gradients(samples, threads):
    """Unequal shards (13 = 6 + 7, 4 + 5 + 4), batch norm's sums over all shards, and a batch
    smaller than the shards (3 samples: one thread)."""
    X, y = _data(samples)
    model = _cnn()
    with bn.engine.using("numpy", threads=1):
        loss, scores = model.forward_backward(X, y)
    expected = _gradients(model)
    running = [value.copy() for _, value in model.buffers()]
    model = _cnn()  # the same initial weights
    sharded_loss, sharded_scores = one_step(model, threads, X, y)
    assert sharded_loss == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(sharded_scores, scores, rtol=1e-12, atol=1e-12)
    for ours, theirs in zip(_gradients(model), expected, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    # The model's batch-norm running statistics moved as the one-thread step moved them.
    for (_, ours), theirs in zip(model.buffers(), running, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_fit_with_threads_trains_as_one_thread_does():
    X, y = _data(64)
    one, two = _cnn(), _cnn()
    fit(one, X, y, 1, epochs=2, batch_size=16, seed=0, verbose=0)
    fit(two, X, y, 2, epochs=2, batch_size=16, seed=0, verbose=0)
    for ours, theirs in zip(two.get_weights(), one.get_weights(), strict=True):
        np.testing.assert_allclose(
            ours, theirs, rtol=1e-8, atol=1e-9
        )  # 0 +- rounding: a bias before batch norm
    assert two.history.history["loss"] == pytest.approx(one.history.history["loss"], rel=1e-10)


def test_the_same_seed_gives_the_same_sharded_run_with_dropout():
    X, y = _data(96)
    runs = []
    for _ in range(2):
        model = _cnn(dtype="float32", dropout=0.5)
        fit(model, X, y, 3, epochs=2, batch_size=32, seed=7, verbose=0)
        runs.append(model.get_weights())
    for ours, theirs in zip(*runs, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_replicas_draw_their_own_dropout_masks():
    X, y = _data(32)
    model = _cnn(dropout=0.5)
    with bn.engine.using("numpy"):
        step = ShardedStep(model, 2, gradients)
        step(model, X, y)
    masks = [model.layers[10]._mask, step.replicas[0].layers[10]._mask]
    assert masks[0].shape == masks[1].shape == (16, 8)
    assert not np.array_equal(masks[0], masks[1])


def test_a_failing_shard_raises_its_error_and_the_step_works_again():
    """The other shard waits in batch norm's sum: it is released, not left hanging, and the
    next batch trains."""

    class FailsOnThree(bn.ReLU):
        def forward(self, x, training=False):
            if len(x) == 3:
                raise RuntimeError("shard of three")
            return super().forward(x, training)

    rng = np.random.default_rng(0)
    bn.engine.allow_sharding(FailsOnThree)
    model = bn.Sequential(
        [bn.Dense(4, 5, rng=rng), bn.BatchNorm1d(5), FailsOnThree(), bn.BatchNorm1d(5)]
    ).compile("mse", "sgd")
    X, y = rng.normal(size=(8, 4)).astype(np.float32), rng.normal(size=(8, 5))
    outcome = {}

    def run():
        with bn.engine.using("numpy"):
            step = ShardedStep(model, 2, gradients)
            try:
                step(model, X[:7], y[:7])  # shards of 4 and 3
            except RuntimeError as error:
                outcome["error"] = str(error)
            outcome["next"] = step(model, X, y)  # shards of 4 and 4

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "a shard was left waiting at the barrier"
    assert outcome["error"] == "shard of three"
    loss, scores = outcome["next"]
    assert np.isfinite(loss) and scores.shape == (8, 5)


def test_all_reduce_gives_every_thread_the_same_total():
    reduce, totals = AllReduce(3), {}

    def shard(index):
        totals[index] = reduce.sum(index, np.full(4, index + 1.0))

    threads = [threading.Thread(target=shard, args=(index,)) for index in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for index in range(3):
        np.testing.assert_array_equal(totals[index], np.full(4, 6.0))


def test_sharded_training_stops_on_divergence():
    X, y = _data(64)
    model = _cnn().compile("cross_entropy", bn.SGD(learning_rate=1e9))
    with pytest.raises(bn.TrainingDiverged):
        fit(model, X, y, 2, epochs=3, batch_size=32, verbose=0)


def test_threads_none_shards_only_networks_with_a_convolution(monkeypatch):
    monkeypatch.setattr(sharding, "usable_cores", lambda: 4)
    monkeypatch.setattr(sharding, "blas_threads", lambda controller: 3)
    mlp = bn.Sequential([bn.Flatten(), bn.Dense(64, 3), bn.Softmax()])
    assert sharding.shards_for(mlp, 128) == 1
    cnn = _cnn()
    assert sharding.shards_for(cnn, 128) == 3  # as many as BLAS may use
    assert sharding.shards_for(cnn, 64) == 2  # shards of 32 samples at least
    assert sharding.shards_for(cnn, 16) == 1
    monkeypatch.setattr(sharding, "blas_controller", lambda: None)
    assert sharding.shards_for(cnn, 128) == 1  # no threadpoolctl: no sharding


def test_blas_on_one_thread_asks_the_libraries_now(monkeypatch):
    controller = blas_controller()
    with controller.limit(limits=1, user_api="blas"):
        assert sharding.blas_on_one_thread()
        with controller.limit(limits=2, user_api="blas"):
            # OpenBLAS gives no more threads than the cores it found when it was loaded.
            assert sharding.blas_on_one_thread() == (sharding.blas_threads(controller) == 1)
    monkeypatch.setattr(sharding, "blas_controller", lambda: None)
    assert not sharding.blas_on_one_thread()  # without threadpoolctl nobody can tell


class Centering(bn.layers.Layer):
    """Subtracts the batch mean: its samples meet, and it has not said it may be sharded."""

    def forward(self, x, training=False):
        return x - x.mean(axis=0)

    def backward(self, dy):
        return dy - dy.mean(axis=0)


def test_a_layer_that_is_not_shardable_keeps_training_on_one_thread():
    model = bn.Sequential([bn.Reshape((1, 4, 4)), bn.Conv2D(1, 2, 3), bn.Flatten(), Centering()])
    assert sharding.unshardable_layers(model) == ["Centering"]
    assert sharding.shards_for(model, 128) == 1
    model.compile("mse", "sgd")
    X, y = np.zeros((8, 16), np.float32), np.zeros((8, 8))
    with pytest.raises(ValueError, match="through Centering: use one thread"):
        fit(model, X, y, 2, epochs=1, verbose=0)


def test_threads_must_be_a_positive_integer_and_need_threadpoolctl(monkeypatch):
    X, y = _data(16)
    with pytest.raises(ValueError, match="positive integer threads. Received: 0"):
        bn.engine.use("numpy", threads=0)
    monkeypatch.setattr(sharding, "blas_controller", lambda: None)
    with pytest.raises(ValueError, match=r"among 2 threads needs the threadpoolctl package"):
        fit(_cnn(), X, y, 2, epochs=1, verbose=0)
    fit(_cnn(), X, y, None, epochs=1, verbose=0)  # threads=None: one thread, no error


def test_a_replica_shares_the_parameters_and_nothing_else():
    model = _cnn(dropout=0.5)
    twin = sharding.replica(model)
    for (name, param, grad), (_, twin_param, twin_grad) in zip(
        model.parameters(), twin.parameters(), strict=True
    ):
        assert twin_param is param, name
        assert twin_grad is not grad
    assert twin.loss is not model.loss and type(twin.loss) is type(model.loss)
    assert twin.layers[10].rng is not model.layers[10].rng


def test_a_quirk_is_trained_in_every_shard():
    """A tutorial's wrong derivative (a layer with no config) reaches every replica."""
    from barenet.digits.quirks import reproduced

    X, y = _data(32)
    one, two = _cnn(), _cnn()
    for model, threads in ((one, 1), (two, 2)):
        with reproduced(model, ["relu-derivative-above-1"]):
            fit(model, X, y, threads, epochs=1, batch_size=32, seed=0, verbose=0)
    plain = _cnn()
    fit(plain, X, y, 1, epochs=1, batch_size=32, seed=0, verbose=0)
    for ours, theirs in zip(two.get_weights(), one.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-9)
    quirked_and_plain = zip(one.get_weights(), plain.get_weights(), strict=True)
    assert not all(np.allclose(a, b) for a, b in quirked_and_plain)
