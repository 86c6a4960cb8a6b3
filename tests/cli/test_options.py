"""Shared options: choices read from the registries when used, presets with options on top."""

import dataclasses

import click
import pytest

from barenet.cli.options import RegistryChoice, config_from_options, parse_batch_size
from barenet.digits.config import TrainConfig
from barenet.digits.presets import get_preset


def test_a_registry_choice_reads_the_names_each_time():
    names = {"relu": 1}
    choice = RegistryChoice(names.keys)
    assert choice.convert("relu", None, None) == "relu"
    names["gelu"] = 2
    assert choice.choices == ("relu", "gelu") and choice.convert("gelu", None, None) == "gelu"
    with pytest.raises(click.BadParameter, match="'swish' is not one of 'relu', 'gelu'"):
        choice.convert("swish", None, None)


def test_options_override_the_preset():
    config = config_from_options("quick", {"epochs": 7, "batch_size": "full", "seed": None})
    assert config.epochs == 7 and config.batch_size is None
    assert config.layers == get_preset("quick").config.layers
    with pytest.raises(ValueError, match="--dropout must be in"):
        config_from_options(None, {"dropout": 2.0})


def test_batch_size_is_a_number_or_full():
    assert parse_batch_size(None, None, "64") == 64
    assert parse_batch_size(None, None, "FULL") == "full"


@pytest.mark.parametrize("text", ["0", "-3", "big"])
def test_batch_size_zero_or_negative_is_refused(text):
    with pytest.raises(click.BadParameter, match="expected a positive number or 'full'"):
        parse_batch_size(None, None, text)


@pytest.mark.parametrize(
    ("arguments", "augment"),
    [
        (["--preset", "cnn"], "affine"),
        (["--preset", "cnn", "--augment"], "affine"),
        (["--augment", "elastic"], "elastic"),
        (["--augment", "affine+elastic", "--epochs", "2"], "affine+elastic"),
        (["--preset", "cnn", "--no-augment"], "none"),
        (["--preset", "cnn", "--augment", "none"], "none"),
    ],
)
def test_augment_takes_a_name_and_alone_means_affine(arguments, augment):
    from barenet.cli.train import train_command

    params = train_command.make_context("train", arguments).params
    fields = {field.name for field in dataclasses.fields(TrainConfig)} | {"no_augment"}
    options = {key: value for key, value in params.items() if key in fields}
    assert config_from_options(params["preset"], options).augment == augment


def test_an_unknown_augmentation_is_a_usage_error():
    from barenet.cli.train import train_command

    with pytest.raises(click.BadParameter, match="'warp' is not one of 'none', 'affine'"):
        train_command.make_context("train", ["--augment", "warp"])
