"""The switch between the wings: names, errors, the default, and what each engine puts in place."""

import importlib.util

import numpy as np
import pytest

import barenet as bn
from barenet.engine import state


def test_the_default_is_the_fastest_engine_installed():
    expected = "numba" if importlib.util.find_spec("numba") else "numpy"
    assert bn.engine.default() == expected


def test_unknown_engines_are_refused_with_the_choices():
    before = bn.engine.active()
    with pytest.raises(ValueError, match="Unknown engine 'cuda'; choose one of: reference, numpy"):
        bn.engine.use("cuda")
    assert bn.engine.active() == before


def test_a_missing_compiler_says_how_to_install_it(monkeypatch):
    bn.engine.use("numpy")
    monkeypatch.setattr(bn.engine.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r'pip install "barenet\[fast\]"'):
        bn.engine.use("numba")
    assert bn.engine.active() == "numpy" and state.compiled("adam") is None


def test_using_restores_the_previous_engine_and_threads_even_after_an_error():
    bn.engine.use("numpy", threads=None)
    with pytest.raises(RuntimeError), bn.engine.using("reference", threads=1):
        assert bn.engine.active() == "reference" and bn.engine.threads() == 1
        assert bn.Dense.backward is bn.engine.TEXTBOOK[bn.Dense, "backward"]
        raise RuntimeError("inside")
    assert bn.engine.active() == "numpy" and bn.engine.threads() is None
    assert bn.Dense.backward is bn.engine.REPLACEMENTS[bn.Dense, "backward"]


def test_only_the_numba_engine_hands_out_compiled_kernels():
    with bn.engine.using("numpy"):
        assert state.compiled("adam") is None
    if bn.engine.default() == "numba":
        with bn.engine.using("numba"):
            assert callable(state.compiled("adam"))


def test_a_first_layer_computes_no_input_gradient_in_the_engine(rng):
    """The engine's backward in training stops at the first layer with parameters: the same
    parameter gradients as the textbook's full backward."""
    from barenet.engine.training import gradients

    X, y = rng.standard_normal((4, 2, 3)), np.array([0, 1, 2, 1])
    results = []
    for name in ("reference", "numpy"):
        with bn.engine.using(name, threads=1):
            model = bn.Sequential(
                [bn.Flatten(), bn.Dense(6, 5, rng=np.random.default_rng(0)), bn.Tanh(),
                 bn.Dense(5, 3, rng=np.random.default_rng(1))], dtype="float64",
            ).compile("cross_entropy", "sgd")  # fmt: skip
            if name == "reference":
                model.forward_backward(X, y)
            else:
                calls = []
                dense = type(model.layers[1])
                original = dense.backward

                def spy(self, dy, original=original, calls=calls):
                    calls.append(self)
                    return original(self, dy)

                dense.backward = spy
                try:
                    gradients(model, X, y)
                finally:
                    dense.backward = original
                assert calls == [model.layers[3]]  # not the first Dense's full backward
            results.append([grad.copy() for _, _, grad in model.parameters()])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
