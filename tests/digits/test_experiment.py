"""Repeated runs: each variant trains on its own options (train-limit included), seeds follow
each other, and the summary is the mean and spread of the runs."""

import pytest

from barenet.digits.config import TrainConfig
from barenet.digits.experiment import RunRecord, describe, parse_vary, run_experiment, summarize

SMALL = TrainConfig(layers=[784, 16, 10], epochs=1, batch_size=64)


def test_each_variant_trains_on_its_own_train_limit(tiny_digits):
    # The bug this guards against: the limit of the base options was applied to the data once
    # more before the runs, so a larger variant silently trained on the smaller subset.
    base = SMALL.replace(train_limit=150)
    variants = parse_vary(["train-limit=150,600"], base)
    records = run_experiment(base, tiny_digits, 1, variants)
    assert [r.train_samples for r in records] == [150, 600]
    assert [r.variant for r in records] == ["train_limit=150", "train_limit=600"]


def test_seeds_follow_each_other_and_every_run_is_reported(tiny_digits):
    seen = []
    records = run_experiment(
        SMALL.replace(seed=5), tiny_digits, 2, [{}], on_run=lambda r: seen.append(r.seed)
    )
    assert [r.seed for r in records] == seen == [5, 6]
    assert all(0 <= r.test_accuracy <= 1 for r in records)


def test_vary_makes_a_grid_and_reads_each_kind_of_value():
    variants = parse_vary(
        ["layers=784-32-10|784,64,10", "batch-size=full,32", "batch-norm=yes", "augment=elastic"],
        SMALL,
    )
    assert len(variants) == 4
    assert variants[0] == {
        "layers": [784, 32, 10],
        "batch_size": None,
        "batch_norm": True,
        "augment": "elastic",
    }
    assert describe(variants[3]) == (
        "layers=784-64-10 batch_size=32 batch_norm=True augment=elastic"
    )
    assert describe({}) == "base"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("learning-rate", "expects KEY=V1,V2"),
        ("speed=1,2", "unknown option 'speed'"),
        ("epochs=one,two", "cannot read the values of epochs"),
        ("batch-norm=true,maybe", "cannot read the values of batch_norm"),
    ],
)
def test_bad_vary_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_vary([spec], SMALL)


def test_summary_is_mean_and_sample_spread():
    records = [RunRecord("base", seed, accuracy, 0.1, 2.0, 100) for seed, accuracy in
               enumerate([0.90, 0.92, 0.94])]  # fmt: skip
    summary = summarize(records)
    assert summary["mean_accuracy"] == pytest.approx(0.92)
    assert summary["std_accuracy"] == pytest.approx(0.02)
    assert summarize(records[:1])["std_accuracy"] == 0.0


def test_every_variant_is_checked_before_the_first_run(tiny_digits):
    seen = []
    with pytest.raises(ValueError, match="--dropout must be in"):
        run_experiment(SMALL, tiny_digits, 1, parse_vary(["dropout=0.1,1.5"], SMALL),
                       on_run=lambda r, _: seen.append(r))  # fmt: skip
    assert seen == []
