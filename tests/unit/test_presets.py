"""The Train page's form and presets: what the widgets hold becomes the runs to train, and
anything the browser sends is checked by TrainConfig on the way."""

from dataclasses import replace

import pytest

from mnistcore.data import TRAIN_SIZE
from mnistcore.presets import PRESETS, TrainForm


@pytest.mark.parametrize("name", PRESETS)
def test_a_preset_becomes_its_pair_of_runs_through_the_form(name):
    preset = PRESETS[name]
    without, twin = TrainForm.from_preset(preset).configs()
    assert without == preset.config and twin.dropout == preset.dropout
    assert TrainForm.from_values(TrainForm.from_preset(preset).as_values()) == TrainForm.from_preset(preset)


def test_the_widgets_all_images_and_patience_off_are_none_in_the_config():
    form = TrainForm.from_preset(PRESETS["Seed experiment"])
    assert form.train_size == TRAIN_SIZE and form.patience == 0
    (config,) = form.configs(with_dropout=False)
    assert config.train_size is None and config.patience is None and config.dropout == 0


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("dropout", 5.0, "dropout must be at least 0 and below 1"),
        ("epochs", 10**9, "epochs must be between 1 and 500"),
        ("seed", -3, "seed must be a non-negative integer"),
        ("batch_size", 10**6, "batch size must be between 1 and 8192"),
        ("lr", float("nan"), "learning rate must be above 0"),
        ("epochs", True, "a training setting has the wrong type"),
        ("train_size", "1000", "a training setting has the wrong type"),
        ("arch", "resnet", "arch must be one of logreg, mlp, cnn"),
        ("dataset", "cifar", "Unknown dataset 'cifar'"),
    ],
)
def test_a_value_the_browser_made_up_cannot_become_a_run(field, value, says):
    values = {**TrainForm.from_preset(PRESETS["Quick overfit"]).as_values(), field: value}
    with pytest.raises(Exception, match=says):
        TrainForm.from_values(values).configs()


def test_the_form_names_its_preset_only_while_the_settings_are_the_presets():
    for name, preset in PRESETS.items():
        assert TrainForm.from_preset(preset).preset() == name
    form = TrainForm.from_preset(PRESETS["Quick overfit"])
    for change in ({"lr": 0.01}, {"arch": "cnn"}, {"train_size": 5_000}, {"dropout": 0.3}):
        assert replace(form, **change).preset() is None, change  # the page shows "Custom"


def test_the_form_after_a_reload_is_the_one_that_sent_the_latest_run():
    form = replace(TrainForm.from_preset(PRESETS["Quick overfit"]), seed=7, epochs=12)
    assert TrainForm.from_configs(form.configs()) == form
    alone = form.configs()[:1]  # trained without dropout only: the twin's dropout is the first preset's
    assert TrainForm.from_configs(alone).epochs == 12
