"""The switch between NumPy's loops and compiled ones: names, errors, and the default."""

import pytest

import barenet as bn
from barenet import kernels


def test_numpy_is_the_default_and_hands_out_no_kernel():
    assert kernels.active() == "numpy"
    assert kernels.compiled("adam") is None
    assert bn.kernels is kernels


def test_unknown_kernels_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="Unknown kernels 'cuda'; choose one of: numpy, numba"):
        kernels.use("cuda")
    assert kernels.active() == "numpy"


def test_missing_compiler_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(kernels.KERNELS, "numba", "barenet_no_such_module")
    with pytest.raises(ImportError, match=r'pip install "barenet\[fast\]"'):
        kernels.use("numba")
    assert kernels.active() == "numpy" and kernels.compiled("adam") is None


def test_using_restores_the_previous_kernels(monkeypatch):
    fake = type("Module", (), {"KERNELS": {"adam": print}})
    monkeypatch.setattr(kernels.importlib, "import_module", lambda name: fake)
    with kernels.using("numba"):
        assert kernels.active() == "numba" and kernels.compiled("adam") is print
        assert kernels.compiled("max_pool_forward") is None  # not provided: NumPy runs
    assert kernels.active() == "numpy" and kernels.compiled("adam") is None


def test_using_restores_even_after_an_error(monkeypatch):
    fake = type("Module", (), {"KERNELS": {"adam": print}})
    monkeypatch.setattr(kernels.importlib, "import_module", lambda name: fake)
    with pytest.raises(RuntimeError), kernels.using("numba"):
        raise RuntimeError("inside")
    assert kernels.active() == "numpy"
