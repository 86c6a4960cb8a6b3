"""Model files: bit-identical round trips, and refusal of pickled, corrupt or foreign files."""

import gzip
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import barenet as bn


@pytest.fixture
def trained(rng):
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] > 0).astype(int)
    model = bn.Sequential(
        [
            bn.Dense(4, 8, rng=rng),
            bn.LeakyReLU(0.05),
            bn.Dropout(0.1, rng=rng),
            bn.Dense(8, 2, init="xavier", rng=rng),
            bn.Softmax(),
        ]
    ).compile("cross_entropy", "adam")
    model.fit(X, y, epochs=2, verbose=0, validation_split=0.2)
    return model, X


def test_round_trip_is_bit_identical(trained, tmp_path):
    model, X = trained
    path = model.save(
        tmp_path / "model.npz", metadata={"note": "hello", "accuracy": np.float32(0.5)}
    )
    loaded = bn.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    assert repr(loaded.layers[1]) == "LeakyReLU(negative_slope=0.05)"
    assert loaded.metadata["note"] == "hello" and loaded.metadata["accuracy"] == 0.5
    assert loaded.history.history["val_loss"] == model.history.history["val_loss"]
    assert isinstance(loaded.loss, bn.CrossEntropy) and loaded.input_shape == (4,)


def test_float64_round_trip(rng, tmp_path):
    model = bn.Sequential([bn.Dense(3, 2, rng=rng), bn.Tanh()], dtype="float64")
    loaded = bn.load_model(model.save(tmp_path / "m"))  # .npz is added
    assert loaded.dtype == np.float64
    X = rng.standard_normal((5, 3))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_the_file_holds_no_pickles(trained, tmp_path):
    path = trained[0].save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as archive:
        config = json.loads(str(archive["__barenet__"]))
    assert config["format"] == "barenet.model" and config["layers"][0]["class"] == "Dense"


def test_save_is_atomic_and_leaves_no_temp_files(trained, tmp_path):
    model, _ = trained
    model.save(tmp_path / "model.npz")
    model.save(tmp_path / "model.npz")  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_custom_activation_cannot_be_saved(rng, tmp_path):
    model = bn.Sequential([bn.Dense(2, 2, rng=rng), bn.Activation(np.sin, np.cos)])
    with pytest.raises(ValueError, match="custom Activation"):
        model.save(tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()


def test_pickled_file_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(bn.ModelFileError, match="pickled .* never loads pickles"):
        bn.load_model(path)


def test_object_array_inside_npz_is_refused(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, __barenet__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(bn.ModelFileError, match="pickled"):
        bn.load_model(path)


def test_truncated_file_is_refused(trained, tmp_path):
    path = trained[0].save(tmp_path / "model.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(bn.ModelFileError, match="corrupt or truncated"):
        bn.load_model(path)


def test_corrupt_bytes_are_refused(trained, tmp_path):
    path = trained[0].save(tmp_path / "model.npz")
    data = bytearray(path.read_bytes())
    data[200:400] = b"\x00" * 200
    path.write_bytes(bytes(data))
    with pytest.raises(bn.ModelFileError, match=str(path.name)):
        bn.load_model(path)


def test_foreign_and_missing_files_are_refused(tmp_path):
    np.savez(tmp_path / "foreign.npz", weights=np.ones(3))
    with pytest.raises(bn.ModelFileError, match="not a barenet model"):
        bn.load_model(tmp_path / "foreign.npz")
    np.save(tmp_path / "bare.npy", np.ones(3))
    with pytest.raises(bn.ModelFileError, match="bare array"):
        bn.load_model(tmp_path / "bare.npy")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(bn.ModelFileError, match="text.npz"):
        bn.load_model(tmp_path / "text.npz")
    (tmp_path / "gz.npz").write_bytes(gzip.compress(b"hello"))
    with pytest.raises(bn.ModelFileError):
        bn.load_model(tmp_path / "gz.npz")
    with pytest.raises(bn.ModelFileError, match="does not exist"):
        bn.load_model(tmp_path / "nothing.npz")


def rewrite(path, change):
    """Rewrite a saved model's arrays through ``change(dict)``."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    change(arrays)
    np.savez(path, **arrays)


def test_wrong_shapes_and_names_are_refused(trained, tmp_path):
    path = trained[0].save(tmp_path / "model.npz")
    rewrite(path, lambda a: a.update({"layers.0.weight": np.ones((5, 8), np.float32)}))
    with pytest.raises(
        bn.ModelFileError, match=r"layers.0.weight has shape \(5, 8\), expected \(4, 8\)"
    ):
        bn.load_model(path)
    path = trained[0].save(tmp_path / "model2.npz")
    rewrite(path, lambda a: a.pop("layers.3.bias"))
    with pytest.raises(bn.ModelFileError, match=r"missing arrays \['layers.3.bias'\]"):
        bn.load_model(path)


def test_damaged_description_is_refused(trained, tmp_path):
    path = trained[0].save(tmp_path / "model.npz")
    rewrite(path, lambda a: a.update({"__barenet__": np.array("{not json")}))
    with pytest.raises(bn.ModelFileError, match="damaged model description"):
        bn.load_model(path)
    unknown_layer = {"format": "barenet.model", "dtype": "float32", "layers": [{"class": "Os"}]}
    rewrite(path, lambda a: a.update({"__barenet__": np.array(json.dumps(unknown_layer))}))
    with pytest.raises(
        bn.ModelFileError, match="layer class 'Os' that this program does not define"
    ):
        bn.load_model(path)


def test_zip_member_swapped_for_garbage(trained, tmp_path):
    original = trained[0].save(tmp_path / "model.npz")
    path = tmp_path / "swapped.npz"
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            data = b"garbage" if name == "layers.0.bias.npy" else source.read(name)
            target.writestr(name, data)
    with pytest.raises(bn.ModelFileError):
        bn.load_model(path)


def test_saved_files_get_ordinary_permissions(trained, tmp_path):
    import os

    path = trained[0].save(tmp_path / "model.npz")
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_the_file_format_knows_only_named_arrays(tmp_path):
    from barenet.saving import copy_arrays, read_model_file, write_model_file

    arrays = {"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2)}
    path = write_model_file(tmp_path / "plain", arrays, {"note": np.float32(0.5)})
    assert path.name == "plain.npz"
    read, description = read_model_file(path)
    assert description["note"] == 0.5 and description["barenet_version"] == bn.__version__
    target = {name: np.zeros_like(value) for name, value in arrays.items()}
    copy_arrays(path, target, read)
    for name, value in arrays.items():
        np.testing.assert_array_equal(target[name], value)
    with pytest.raises(bn.ModelFileError, match=r"b has shape \(2,\), expected \(3,\)"):
        copy_arrays(path, {**target, "b": np.zeros(3)}, read)


def test_a_failed_save_changes_nothing(tmp_path):
    model = bn.Sequential([bn.Dense(2, 2)])
    with pytest.raises(ValueError, match="is not JSON data"):
        model.save(tmp_path / "a.npz", metadata={"note": object()})
    assert model.metadata == {} and list(tmp_path.iterdir()) == []
    model.save(tmp_path / "b.npz", metadata={"note": "fine"})
    assert bn.load_model(tmp_path / "b.npz").metadata == {"note": "fine"}


def rewrite_description(path, change):
    """Rewrite a saved model's JSON description through ``change(dict)``."""

    def update(arrays):
        description = json.loads(str(arrays["__barenet__"]))
        change(description)
        arrays["__barenet__"] = np.array(json.dumps(description))

    rewrite(path, update)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format_version="2"), "invalid format_version '2'"),
        (lambda d: d.update(format_version=None), "invalid format_version None"),
        (lambda d: d.update(metadata=[1, 2]), "metadata is not a JSON object"),
        (lambda d: d.update(history=[0.5]), "history is not an object of per-epoch lists"),
        (lambda d: d.update(input_shape=5), "invalid model description"),
        (lambda d: d.update(layers=[]), "it has no layers"),
        (
            lambda d: d["layers"].__setitem__(
                0, {"class": "Rescaling", "config": {"scale": "nan"}}
            ),
            "Rescaling expected finite numbers",
        ),
    ],
)
def test_hostile_descriptions_are_refused_with_a_reason(trained, tmp_path, change, message):
    path = trained[0].save(tmp_path / "model.npz")
    rewrite_description(path, change)
    with pytest.raises(bn.ModelFileError, match=message):
        bn.load_model(path)


def test_a_model_that_computes_nan_is_refused(tmp_path):
    model = bn.Sequential([bn.Rescaling(1e308), bn.Dense(3, 2), bn.Softmax()])
    model.input_shape = (3,)
    path = model.save(tmp_path / "overflow.npz")
    with pytest.raises(bn.ModelFileError, match="non-finite outputs"):
        bn.load_model(path)


def test_deeply_nested_json_is_a_damaged_description(trained, tmp_path):
    path = trained[0].save(tmp_path / "model.npz")
    rewrite(path, lambda a: a.update({"__barenet__": np.array("[" * 200_000 + "]" * 200_000)}))
    with pytest.raises(bn.ModelFileError, match="damaged model description"):
        bn.load_model(path)


def test_each_wrong_kind_of_file_gets_its_own_reason(tmp_path):
    from PIL import Image

    Image.new("L", (4, 4)).save(tmp_path / "digit.png")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "folder.npz").mkdir()
    os.mkfifo(tmp_path / "pipe.npz")
    cases = {
        "digit.png": "not an .npz archive",
        "notes.txt": "not an .npz archive",
        "folder.npz": "is a folder",
        "pipe.npz": "not a regular file",
    }
    for name, reason in cases.items():
        with pytest.raises(bn.ModelFileError, match=reason):
            bn.load_model(tmp_path / name)
    with pytest.raises(bn.ModelFileError, match="path is empty"):
        bn.load_model("")


def test_sizes_are_checked_before_any_array_is_read(trained, tmp_path, monkeypatch):
    import io

    import barenet.saving

    path = trained[0].save(tmp_path / "model.npz")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)}
    )
    lying = tmp_path / "lying.npz"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(lying, "w") as target:
        for name in source.namelist():
            data = header.getvalue() + bytes(16) if name == "layers.0.weight.npy" else None
            target.writestr(name, data if data is not None else source.read(name))
    with pytest.raises(bn.ModelFileError, match=r"declares shape \(1000000000000,\)"):
        bn.load_model(lying)
    monkeypatch.setattr(barenet.saving, "MAX_FILE_BYTES", 1000)
    with pytest.raises(bn.ModelFileError, match="would unpack to .* over barenet's limit"):
        bn.load_model(path)


def test_a_layer_declaring_huge_sizes_is_refused_before_it_is_built(trained, tmp_path):
    path = trained[0].save(tmp_path / "model.npz")

    def enormous(description):
        layer = next(e for e in description["layers"] if e["class"] == "Dense")
        layer["config"].update(in_features=20000, out_features=20000)

    rewrite_description(path, enormous)
    with pytest.raises(bn.ModelFileError, match=r"declares sizes \[20000, 20000\]"):
        bn.load_model(path)
