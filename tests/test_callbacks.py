"""EarlyStopping, ModelCheckpoint and LearningRateScheduler in real training runs."""

import numpy as np
import pytest

import barenet as bn


class Recorder(bn.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"epoch_begin {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end {epoch}")

    def on_train_end(self, logs=None):
        self.events.append("train_end")


class ScriptedMetric(bn.Callback):
    """Overwrites val_loss with scripted values, and records the weights at each epoch end."""

    def __init__(self, values):
        super().__init__()
        self.values, self.weights = values, []

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]
        self.weights.append(self.model.get_weights())


def data(rng):
    X = rng.standard_normal((64, 3))
    return X, (X.sum(axis=1) > 0).astype(int)


def model(rng):
    return bn.Sequential([bn.Dense(3, 2, rng=rng)]).compile("cross_entropy", bn.SGD(0.1))


def test_hooks_are_called_in_order(rng):
    recorder = Recorder()
    model(rng).fit(*data(rng), epochs=2, callbacks=[recorder], verbose=0)
    assert recorder.events == [
        "train_begin",
        "epoch_begin 0",
        "epoch_end 0",
        "epoch_begin 1",
        "epoch_end 1",
        "train_end",
    ]


def test_early_stopping_stops_and_restores_the_best_weights(rng):
    net = model(rng)
    script = ScriptedMetric([1.0, 0.5, 0.7, 0.8, 0.9, 0.1])
    stopper = bn.EarlyStopping(monitor="val_loss", patience=2)
    history = net.fit(*data(rng), epochs=6, callbacks=[script, stopper], verbose=0)
    assert len(history.epoch) == 4  # best at epoch 1, then 2 epochs of patience, stop after the 3rd
    assert stopper.best_epoch == 1 and stopper.stopped_epoch == 3
    for restored, best in zip(net.get_weights(), script.weights[1], strict=True):
        np.testing.assert_array_equal(restored, best)
    assert not np.array_equal(net.get_weights()[0], script.weights[3][0])


def test_early_stopping_needs_the_metric(rng):
    with pytest.raises(ValueError, match="Cannot monitor 'val_loss'.*Pass validation data"):
        model(rng).fit(*data(rng), epochs=2, callbacks=[bn.EarlyStopping()], verbose=0)


def test_checkpoint_keeps_the_best_epoch(rng, tmp_path):
    net = model(rng)
    script = ScriptedMetric([1.0, 0.5, 0.7])
    path = tmp_path / "best.npz"
    net.fit(*data(rng), epochs=3, callbacks=[script, bn.ModelCheckpoint(path)], verbose=0)
    saved = bn.load_model(path)
    assert saved.metadata["checkpoint_epoch"] == 2
    np.testing.assert_array_equal(saved.get_weights()[0], script.weights[1][0])


def test_learning_rate_scheduler_sets_the_rate(rng):
    net = model(rng)
    seen = []

    class Spy(bn.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.optimizer.current_learning_rate())

    scheduler = bn.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    net.fit(*data(rng), epochs=3, callbacks=[scheduler, Spy()], verbose=0)
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_metrics_added_by_callbacks_reach_the_history(rng):
    class EverySecondEpoch(bn.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch % 2 == 1:
                logs["extra"] = float(epoch)

    history = model(rng).fit(*data(rng), epochs=4, callbacks=[EverySecondEpoch()], verbose=0)
    assert history.history["extra"] == [None, 1.0, None, 3.0]
    assert all(len(values) == 4 for values in history.history.values())
