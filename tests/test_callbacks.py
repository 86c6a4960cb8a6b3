"""EarlyStopping, ModelCheckpoint and LearningRateScheduler in real training runs."""

import numpy as np
import pytest

import barenet as bn
from barenet.callbacks import Callback, TrainingCheckpoint


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


def _resumable_models(kind, rng_seed=0):
    import barenet as bn
    from barenet.schedules import CosineDecay

    rng = np.random.default_rng(rng_seed)
    if kind == "mlp":
        layers = [
            bn.Flatten(),
            bn.Dense(36, 16, rng=rng),
            bn.ReLU(),
            bn.Dropout(0.3, rng=np.random.default_rng(5)),
            bn.Dense(16, 3, rng=rng),
            bn.Softmax(),
        ]
    else:
        layers = [
            bn.Reshape((1, 6, 6)),
            bn.Conv2D(1, 3, 3, rng=rng),
            bn.BatchNorm2d(3),
            bn.ReLU(),
            bn.MaxPool2D(2),
            bn.Flatten(),
            bn.Dropout(0.2, rng=np.random.default_rng(6)),
            bn.Dense(12, 3, rng=rng),
            bn.Softmax(),
        ]
    return bn.Sequential(layers).compile("cross_entropy", bn.Adam(CosineDecay(0.02, 60)))


class StopAt(Callback):
    """Raises KeyboardInterrupt as epoch ``at`` begins, as a Ctrl-C would."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("kind, threads", [("mlp", 1), ("cnn", 1), ("cnn", 2)])
def test_an_interrupted_run_resumed_from_its_checkpoint_ends_bit_identical(kind, threads, tmp_path):
    """MLP with dropout; CNN with batch norm, dropout and augmentation; a cosine schedule; the
    CNN also with each batch split between two threads (barenet.engine.sharding)."""
    from barenet import load_model
    from barenet.augment import RandomAffine

    data_rng = np.random.default_rng(9)
    X = data_rng.integers(0, 256, (120, 6, 6)).astype(np.uint8)
    y = data_rng.integers(0, 3, 120)
    options = dict(
        batch_size=16,
        verbose=0,
        validation_split=0.2,
        augment=RandomAffine(max_shift=1) if kind == "cnn" else None,
    )
    bn.engine.use(bn.engine.active(), threads=threads)  # the fixture puts the engine back
    whole = _resumable_models(kind)
    whole.fit(X, y, epochs=5, seed=3, **options)
    cut = _resumable_models(kind)
    checkpoint = TrainingCheckpoint(tmp_path / "run.npz", every=1)
    with pytest.raises(KeyboardInterrupt):
        cut.fit(X, y, epochs=5, seed=3, callbacks=[checkpoint, StopAt(3)], **options)
    assert checkpoint.saved_epoch == 3
    resumed = load_model(tmp_path / "run.npz")
    assert resumed.training_state["epoch"] == 3 and len(resumed.history.epoch) == 3
    assert type(resumed.optimizer).__name__ == "Adam" and resumed.optimizer.iterations > 0
    resumed.fit(X, y, epochs=5, seed=12345, initial_epoch=3, **options)  # the seed is not used
    for ours, theirs in zip(whole.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    timeless = {key: values for key, values in whole.history.history.items() if key != "seconds"}
    assert {key: resumed.history.history[key] for key in timeless} == timeless
    assert resumed.optimizer.iterations == whole.optimizer.iterations


def test_checkpoints_every_n_epochs_and_at_the_end(tmp_path):
    data_rng = np.random.default_rng(1)
    X, y = data_rng.normal(size=(40, 6, 6)), data_rng.integers(0, 3, 40)
    saved = []

    class Recorder(TrainingCheckpoint):
        def save(self):
            super().save()
            saved.append(self.saved_epoch)

    _resumable_models("mlp").fit(
        X, y, epochs=5, verbose=0, seed=0, callbacks=[Recorder(tmp_path / "c.npz", every=2)]
    )
    assert saved == [2, 4, 5]
    saved.clear()  # with min_seconds, only the end's save comes this soon
    _resumable_models("mlp").fit(
        X,
        y,
        epochs=5,
        verbose=0,
        seed=0,
        callbacks=[Recorder(tmp_path / "c.npz", min_seconds=3600)],
    )
    assert saved == [5]
    with pytest.raises(ValueError, match="every >= 1"):
        TrainingCheckpoint(tmp_path / "c.npz", every=0)


def test_resuming_from_the_wrong_epoch_says_which(tmp_path):
    from barenet import load_model

    data_rng = np.random.default_rng(2)
    X, y = data_rng.normal(size=(40, 6, 6)), data_rng.integers(0, 3, 40)
    _resumable_models("mlp").fit(
        X, y, epochs=2, verbose=0, seed=0, callbacks=[TrainingCheckpoint(tmp_path / "c.npz")]
    )
    model = load_model(tmp_path / "c.npz")
    with pytest.raises(ValueError, match="written after epoch 2; resume with initial_epoch=2"):
        model.fit(X, y, epochs=4, initial_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="0 <= initial_epoch < epochs=2"):
        model.fit(X, y, epochs=2, initial_epoch=2, verbose=0)


def test_describe_epoch_names_the_data_each_figure_was_measured_on():
    from barenet.callbacks import describe_epoch

    train_only = {"loss": 0.12345, "accuracy": 0.965, "seconds": 1.25}
    assert describe_epoch(train_only) == "train loss 0.1235  train accuracy 96.50%"
    validated = {**train_only, "val_loss": 0.1, "val_accuracy": 0.971}
    assert describe_epoch(validated) == (
        "train loss 0.1235  accuracy: train 96.50%, validation 97.10%"
    )
    tested = {**validated, "test_loss": 0.2, "test_accuracy": 0.97, "extra": 3.0}
    assert describe_epoch(tested) == (
        "train loss 0.1235  accuracy: train 96.50%, validation 97.10%, test 97.00%  extra 3.0000"
    )


def test_the_epoch_line_fits_80_columns_with_validation(rng, capsys):
    logger = bn.ProgressLogger(epochs=10)
    logs = {"loss": 0.1234, "accuracy": 0.965, "val_loss": 0.1, "val_accuracy": 0.971}
    logger.on_epoch_end(2, {**logs, "seconds": 1.2})
    line = capsys.readouterr().out.rstrip("\n")
    assert line == "Epoch 3/10  train loss 0.1234  accuracy: train 96.50%, validation 97.10%  1.2 s"
    assert len(line) < 80
