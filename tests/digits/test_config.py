"""TrainConfig: every out-of-range option is named, widths parse, conv shapes are checked."""

import dataclasses

import pytest

from barenet.digits.config import TrainConfig, config_from_json, output_names, parse_widths


def test_defaults_are_valid_and_replace_makes_a_new_config():
    config = TrainConfig()
    config.validate()
    wider = config.replace(layers=[784, 512, 10])
    assert wider.layers == [784, 512, 10] and config.layers == [784, 128, 64, 10]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"layers": [784]}, "--layers must be two or more positive widths"),
        ({"layers": [100, 10]}, "--layers must start with 784"),
        ({"activation": "swish"}, "--activation must be relu | leaky_relu"),
        ({"output": "relu6"}, "--output must be relu .* | none"),
        ({"loss": "hinge"}, "--loss must be mse | cross_entropy"),
        ({"optimizer": "lion"}, "--optimizer must be sgd | momentum"),
        ({"schedule": "step"}, "--schedule must be constant | cosine"),
        ({"init": "orthogonal"}, "--init must be uniform | normal"),
        ({"augment": "mixup"}, r"--augment must be none \| affine \| elastic \| affine\+elastic"),
        ({"epochs": 0}, "--epochs must be at least 1"),
        ({"batch_size": 0}, "--batch-size must be at least 1, or 'full'"),
        ({"train_limit": 0}, "--train-limit must be at least 1"),
        ({"dropout": 1.0}, r"--dropout must be in \[0, 1\)"),
        ({"conv_dropout": -0.1}, r"--conv-dropout must be in \[0, 1\)"),
        ({"learning_rate": 0}, "--learning-rate must be greater than 0"),
        ({"conv": [32, 64, 128]}, "shrinks 28x28 images to nothing"),
        ({"conv": [32, 64], "convs_per_block": 3}, "shrinks 28x28 images to nothing"),
        ({"convs_per_block": 0}, "--convs-per-block must be 1 to 10"),
        ({"convs_per_block": 10**12}, "--convs-per-block must be 1 to 10"),
        ({"threads": 0}, "--threads must be 1 to 256"),
        ({"threads": 257}, "--threads must be 1 to 256"),
        ({"warmup_epochs": -1.0}, "--warmup-epochs must be 0 or more"),
        ({"test_every": -3}, r"--test-every must be 0 \(never\) or more"),
    ],
)
def test_out_of_range_options_are_named(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes).validate()


def test_a_yes_or_no_augment_from_an_older_model_file_names_its_augmentation():
    assert TrainConfig(augment=True).augment == "affine"
    assert TrainConfig(augment=False).augment == "none"
    assert TrainConfig(augment="affine+elastic").replace(seed=1).augment == "affine+elastic"


def test_widths_parse_with_commas_or_dashes():
    assert parse_widths("784,128,10") == parse_widths("784-128-10") == [784, 128, 10]
    with pytest.raises(ValueError):
        parse_widths("784,wide,10")


def test_conv_output_side_and_output_names():
    assert TrainConfig(conv=[32, 64], kernel_size=5).conv_output_side() == 4
    assert TrainConfig(conv=[8], kernel_size=3).conv_output_side() == 13
    assert output_names()[-1] == "none" and "softmax" in output_names()


def test_a_network_too_large_is_refused_before_anything_is_allocated():
    with pytest.raises(
        ValueError, match="would have 79,500,000,010 parameters, over barenet's limit"
    ):
        TrainConfig(layers=[784, 100_000_000, 10]).validate()


def test_a_minus_sign_is_not_a_separator_between_commas():
    assert parse_widths("784,-5,10") == [784, -5, 10]
    with pytest.raises(ValueError, match="--layers must be two or more positive widths"):
        TrainConfig(layers=parse_widths("784,-5,10")).validate()
    with pytest.raises(ValueError, match="--seed must be 0 or more"):
        TrainConfig(seed=-1).validate()


def test_a_config_from_json_round_trips_and_names_the_first_wrong_value():
    every_field = dataclasses.asdict(TrainConfig(conv=[8], quirks=[], threads=2))
    assert config_from_json(every_field) == TrainConfig(conv=[8], threads=2)
    assert config_from_json({}) == TrainConfig()  # options a file predates take defaults
    with pytest.raises(ValueError, match="its option epochs is '66', not a whole number"):
        config_from_json({"epochs": "66"})
    with pytest.raises(ValueError, match="its option threads is 1.5, not a whole number or null"):
        config_from_json({"threads": 1.5})
    with pytest.raises(ValueError, match=r"it has unknown options \['shell'\]"):
        config_from_json({"shell": "rm -rf"})
    with pytest.raises(ValueError, match="not a JSON object"):
        config_from_json([1, 2])
