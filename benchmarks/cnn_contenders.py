"""The speed benchmark's CNN: conv5x5x32-maxpool-conv5x5x64-maxpool-fc128-fc10, in barenet and in
PyTorch, both float32, batch 128, Adam at 1e-3, He-normal weights and zero biases, no padding.

``layers`` (what ``speed.py`` passes every contender) is unused: the architecture is fixed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from contenders import BATCH, LEARNING_RATE, Barenet, Torch, mnist_float

CONV_CHANNELS = [32, 64]
DENSE = [784, 128, 10]  # the input's 784 pixels, then the dense widths after the conv blocks


def cnn_training_flops(samples: int = 60_000) -> float:
    """FLOPs of one training epoch of the CNN: forward, weight gradient, and input gradient for
    all but the first convolution (as ``training_flops`` counts the MLPs)."""
    conv1 = 2 * 24 * 24 * 32 * 25  # per sample: output pixels x channels x kernel, 2 per MAC
    conv2 = 2 * 8 * 8 * 64 * 32 * 25
    fc1, fc2 = 2 * 1024 * 128, 2 * 128 * 10
    return float((2 * conv1 + 3 * (conv2 + fc1 + fc2)) * samples)


class BarenetCNN(Barenet):
    """barenet's ``cnn-quick`` architecture through its public recipe, uint8 images in."""

    name = "barenet CNN"

    def __init__(self, layers: Sequence[int] = (), batch_size: int = BATCH, seed: int = 0) -> None:
        import barenet as bn
        from barenet.datasets import load_mnist
        from barenet.digits.config import TrainConfig
        from barenet.digits.recipe import build_model

        (self.x_train, self.y_train), (self.x_test, self.y_test) = load_mnist()
        config = TrainConfig(layers=DENSE, conv=CONV_CHANNELS, kernel_size=5, seed=seed)
        self.model = build_model(config).compile("cross_entropy", bn.Adam(LEARNING_RATE))
        # Seed s shuffles its epochs with seeds 1000 s, 1000 s + 1, ...
        self.batch_size, self.epoch, self.shuffle_seed = batch_size, 0, 1000 * seed


class TorchCNN(Torch):
    """The same CNN in PyTorch on the CPU with 2 threads (its oneDNN convolutions); the
    training loop is the MLP contender's."""

    name = "PyTorch CNN"

    def __init__(self, layers: Sequence[int] = (), batch_size: int = BATCH, seed: int = 0) -> None:
        import torch

        torch.set_num_threads(2)
        torch.manual_seed(seed)
        x_train, y_train, x_test, y_test = mnist_float()
        self.x_train = torch.from_numpy(x_train.reshape(-1, 1, 28, 28))
        self.x_test = torch.from_numpy(x_test.reshape(-1, 1, 28, 28))
        self.y_train, self.y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)
        nn = torch.nn
        self.model = nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(), nn.Linear(128, 10),
        )  # fmt: skip
        for module in self.model:
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=LEARNING_RATE)
        self.loss = nn.CrossEntropyLoss()
        self.batch_size, self.torch = batch_size, torch

    def predict_classes(self) -> np.ndarray:
        """Batches of 1,000 (barenet's ``predict`` chooses its own: 32 images for this CNN)."""
        with self.torch.no_grad():
            return np.concatenate(
                [self.model(part).argmax(dim=1).numpy() for part in self.x_test.split(1000)]
            )
