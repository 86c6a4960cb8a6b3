"""The implementations the speed benchmark compares, each training the same MLP on MNIST.

Every contender runs in its own worker process (see ``speed.py``), so that its imports and peak
memory are its own and only one BLAS thread pool is busy at a time. All of them: float32, batch
128, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8, no weight decay), He-normal weights and zero
biases (scikit-learn keeps its own Glorot initialisation), cross-entropy on softmax outputs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import numpy as np

BATCH = 128
LEARNING_RATE = 1e-3


def mnist_float() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST as float32 rows in [0, 1]: what PyTorch and scikit-learn users feed their models."""
    from barenet.datasets import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist()
    scale = np.float32(1 / 255)
    return (
        x_train.reshape(-1, 784).astype(np.float32) * scale,
        y_train.astype(np.int64),
        x_test.reshape(-1, 784).astype(np.float32) * scale,
        y_test.astype(np.int64),
    )


class Barenet:
    """barenet through its public API: uint8 images in, converted one batch at a time."""

    name = "barenet"

    def __init__(
        self, layers: Sequence[int], batch_size: int = BATCH, limit: int | None = None
    ) -> None:
        import barenet as bn
        from barenet.datasets import load_mnist
        from barenet.digits.config import TrainConfig
        from barenet.digits.recipe import build_model

        (self.x_train, self.y_train), (self.x_test, self.y_test) = load_mnist()
        if limit:
            self.x_train, self.y_train = self.x_train[:limit], self.y_train[:limit]
        # Pixels -> Rescaling -> Dense/ReLU ... -> Dense -> Softmax, He-normal, zero biases, seed 0.
        model = build_model(TrainConfig(layers=list(layers), output="softmax"))
        self.model = model.compile("cross_entropy", bn.Adam(LEARNING_RATE))
        self.batch_size, self.epoch, self.shuffle_seed = batch_size, 0, 0

    def threads(self) -> int:
        """How many threads share each training batch (the engine's choice)."""
        from barenet.engine.sharding import shards_for

        return shards_for(self.model, self.batch_size)

    def train_epoch(self) -> float:
        started = time.perf_counter()
        self.model.fit(
            self.x_train,
            self.y_train,
            epochs=1,
            batch_size=self.batch_size,
            verbose=0,
            seed=self.shuffle_seed + self.epoch,
        )
        self.epoch += 1
        return time.perf_counter() - started

    def predict_classes(self) -> np.ndarray:
        """The class of each of the 10,000 test images (what the inference timing times)."""
        return self.model.predict_classes(self.x_test)

    def accuracy(self) -> float:
        return float((self.predict_classes() == self.y_test).mean())


class Torch:
    """PyTorch on the CPU with 2 threads: the usual loop over shuffled index batches."""

    name = "PyTorch"

    def __init__(
        self, layers: Sequence[int], batch_size: int = BATCH, limit: int | None = None
    ) -> None:
        import torch

        torch.set_num_threads(2)
        torch.manual_seed(0)
        x_train, y_train, x_test, y_test = mnist_float()
        self.x_train, self.y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
        self.x_test, self.y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
        modules: list[torch.nn.Module] = []
        for index, (fan_in, fan_out) in enumerate(itertools.pairwise(layers)):
            linear = torch.nn.Linear(fan_in, fan_out)
            torch.nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
            torch.nn.init.zeros_(linear.bias)
            modules.append(linear)
            if index < len(layers) - 2:
                modules.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*modules)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.loss = torch.nn.CrossEntropyLoss()  # softmax fused into the loss, as in barenet
        self.batch_size, self.torch = batch_size, torch

    def train_epoch(self) -> float:
        torch = self.torch
        started = time.perf_counter()
        order = torch.randperm(len(self.x_train))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            self.optimizer.zero_grad(set_to_none=True)
            self.loss(self.model(self.x_train[rows]), self.y_train[rows]).backward()
            self.optimizer.step()
        return time.perf_counter() - started

    def predict_classes(self) -> np.ndarray:
        with self.torch.no_grad():
            return self.model(self.x_test).argmax(dim=1).numpy()

    def accuracy(self) -> float:
        return float((self.predict_classes() == self.y_test.numpy()).mean())


class Sklearn:
    """scikit-learn's MLPClassifier (adam, float32 input), one ``partial_fit`` per epoch."""

    name = "scikit-learn"

    def __init__(
        self, layers: Sequence[int], batch_size: int = BATCH, limit: int | None = None
    ) -> None:
        from sklearn.neural_network import MLPClassifier

        self.x_train, self.y_train, self.x_test, self.y_test = mnist_float()
        self.model = MLPClassifier(
            hidden_layer_sizes=tuple(layers[1:-1]),
            solver="adam",
            alpha=0.0,
            batch_size=batch_size,
            learning_rate_init=LEARNING_RATE,
            random_state=0,
        )

    def train_epoch(self) -> float:
        started = time.perf_counter()
        self.model.partial_fit(self.x_train, self.y_train, classes=np.arange(10))
        return time.perf_counter() - started

    def accuracy(self) -> float:
        return float(self.model.score(self.x_test, self.y_test))


class PerSampleLoop:
    """The tutorials' loop: one sample at a time, plain NumPy, SGD at 0.01 (no batches, no Adam).

    Timed on ``limit`` samples and scaled to the 60,000 of an epoch.
    """

    name = "per-sample loop"

    def __init__(
        self, layers: Sequence[int], batch_size: int = 1, limit: int | None = 6000
    ) -> None:
        x_train, y_train, self.x_test, self.y_test = mnist_float()
        self.limit = limit or len(x_train)
        self.x_train, self.y_train = x_train[: self.limit], y_train[: self.limit]
        rng = np.random.default_rng(0)
        pairs = list(itertools.pairwise(layers))
        self.weights = [
            (rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32) for a, b in pairs
        ]
        self.biases = [np.zeros((1, b), np.float32) for _, b in pairs]
        self.rng = rng

    def train_epoch(self) -> float:
        started = time.perf_counter()
        eye = np.eye(10, dtype=np.float32)
        for i in self.rng.permutation(self.limit):
            activations = [self.x_train[i : i + 1]]
            for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
                z = activations[-1] @ w + b
                activations.append(np.maximum(z, 0) if k < len(self.weights) - 1 else z)
            scores = activations[-1]
            probabilities = np.exp(scores - scores.max())
            probabilities /= probabilities.sum()
            delta = probabilities - eye[self.y_train[i]]
            for k in reversed(range(len(self.weights))):
                grad_w = activations[k].T @ delta
                if k:
                    next_delta = (delta @ self.weights[k].T) * (activations[k] > 0)
                self.weights[k] -= np.float32(0.01) * grad_w
                self.biases[k] -= np.float32(0.01) * delta
                if k:
                    delta = next_delta
        return (time.perf_counter() - started) * 60000 / self.limit

    def accuracy(self) -> float:
        out = self.x_test
        for k, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out = out @ w + b
            if k < len(self.weights) - 1:
                out = np.maximum(out, 0)
        return float((out.argmax(axis=1) == self.y_test).mean())


class BarenetPerSample(Barenet):
    """barenet with ``batch_size=1`` on the loop's subset, SGD at 0.01, scaled to 60,000 samples."""

    name = "barenet batch_size=1"

    def __init__(
        self, layers: Sequence[int], batch_size: int = 1, limit: int | None = 6000
    ) -> None:
        import barenet as bn

        super().__init__(layers, batch_size=1, limit=limit)
        self.model.compile("cross_entropy", bn.SGD(0.01))
        self.limit = len(self.x_train)

    def train_epoch(self) -> float:
        return super().train_epoch() * 60000 / self.limit


CONTENDERS = {cls.name: cls for cls in (Barenet, Torch, Sklearn, PerSampleLoop, BarenetPerSample)}
