import signal

import numpy as np
import pytest

import barenet as bn


@pytest.fixture(params=["reference", "engine"])
def wing(request):
    """Runs a test on the textbook alone, then on the default engine."""
    name = "reference" if request.param == "reference" else bn.engine.default()
    with bn.engine.using(name):
        yield request.param


@pytest.fixture(autouse=True)
def _engine_as_it_was():
    """Each test leaves the engine (and its threads) as it found it."""
    name, threads = bn.engine.active(), bn.engine.threads()
    yield
    bn.engine.use(name, threads=threads)


@pytest.fixture(autouse=True)
def _ctrl_c_as_it_was():
    """Each test leaves the Ctrl-C handler as it found it: a command run in-process that was
    interrupted ignores any later Ctrl-C (it only has to exit), and every program started
    afterwards would inherit that."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


@pytest.fixture(autouse=True, scope="session")
def _data_cache_in_a_temporary_folder(tmp_path_factory):
    """Sources converted into the data cache go to a temporary folder, never the home folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BARENET_DATA_CACHE", str(tmp_path_factory.mktemp("data-cache")))
        yield


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session", params=["cnn", "mlp"])
def shipped_model(request):
    """Each model shipped inside the package: own-image tests must pass with both."""
    from barenet.digits.shipped import open_model

    return open_model(request.param)[0]
