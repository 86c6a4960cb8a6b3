import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def shipped_model():
    """The MLP shipped inside the package."""
    from barenet.cli import shipped_model_path
    from barenet.saving import load_model

    return load_model(shipped_model_path())
