import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session", params=["cnn", "mlp"])
def shipped_model(request):
    """Each model shipped inside the package: own-image tests must pass with both."""
    from barenet.digits.shipped import open_model

    return open_model(request.param)[0]
