"""barenet: neural networks from scratch in NumPy, readable, gradient-checked and fast.

This is the library's public API, re-exported from its modules. The library has two wings: the
textbook (layers, losses, optimizers, training), which computes each formula plainly, and
``barenet.engine``, which makes it fast and is switched on here. The MNIST application lives in
the sub-packages ``datasets``, ``digits``, ``report``, ``web`` and ``cli``, which use it.
"""

import barenet.engine as engine
from barenet.activations import (
    ACTIVATIONS,
    Activation,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
)
from barenet.callbacks import (
    Callback,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressLogger,
    TrainingCheckpoint,
)
from barenet.conv import AvgPool2D, Conv2D, MaxPool2D
from barenet.ensemble import Ensemble, ensemble
from barenet.explaining import Explanation, LayerOutput, explain
from barenet.gradcheck import check_gradients, gradient_errors
from barenet.heads import Head
from barenet.initializers import INITIALIZERS, get_initializer
from barenet.layers import Dense, Dropout, Flatten, Layer, Rescaling, Reshape
from barenet.losses import (
    LOSSES,
    BinaryCrossEntropy,
    CrossEntropy,
    Loss,
    MeanSquaredError,
    get_loss,
)
from barenet.model import Sequential, load_model
from barenet.normalization import BatchNorm1d, BatchNorm2d
from barenet.onnx_export import export_onnx
from barenet.optimizers import OPTIMIZERS, SGD, Adam, AdamW, Optimizer, RMSprop, get_optimizer
from barenet.saving import ModelFileError
from barenet.schedules import SCHEDULES, get_schedule
from barenet.training import TrainingDiverged
from barenet.version import __version__

engine.use(engine.default())  # the fastest engine installed; engine.use("reference") for none

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Activation",
    "Adam",
    "AdamW",
    "AvgPool2D",
    "BatchNorm1d",
    "BatchNorm2d",
    "BinaryCrossEntropy",
    "Callback",
    "Conv2D",
    "CrossEntropy",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "Ensemble",
    "Explanation",
    "Flatten",
    "Head",
    "History",
    "Layer",
    "LayerOutput",
    "LeakyReLU",
    "LearningRateScheduler",
    "Loss",
    "MaxPool2D",
    "MeanSquaredError",
    "ModelCheckpoint",
    "ModelFileError",
    "Optimizer",
    "ProgressLogger",
    "RMSprop",
    "ReLU",
    "Rescaling",
    "Reshape",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "TrainingCheckpoint",
    "TrainingDiverged",
    "__version__",
    "check_gradients",
    "engine",
    "ensemble",
    "explain",
    "export_onnx",
    "get_activation",
    "get_initializer",
    "get_loss",
    "get_optimizer",
    "get_schedule",
    "gradient_errors",
    "load_model",
]
