import threading
from dataclasses import replace

import pytest
import torch

from mnistcore.evaluation import loss_and_accuracy
from mnistcore.training import EpochEnd, Finished, Progress, TrainConfig, TrainData, run_to_end, train

FAST = TrainConfig(dataset="mnist", arch="mlp", epochs=3, batch_size=32, lr=0.003, seed=7)


def weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_trainer_learns_and_yields_progress_then_epochs_then_finished(tiny_data):
    events = list(train(FAST, data=tiny_data))
    kinds = [type(e) for e in events]
    assert kinds[-1] is Finished and kinds.count(Finished) == 1
    assert kinds.count(EpochEnd) == 3
    assert kinds.index(Progress) < kinds.index(EpochEnd)
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    m = epochs[-1].metrics[0]
    assert m.val_accuracy > 0.9 and m.train_loss < epochs[0].metrics[0].train_loss
    assert events[-1].status == "completed"


def test_lockstep_models_see_exactly_the_same_batches(tiny_data):
    # The no-dropout model trained beside a dropout model ends exactly where it ends alone. (With
    # the plain step: the stacked one rounds its sums otherwise, see test_stacked.py.)
    together = run_to_end(train([FAST, replace(FAST, dropout=0.5)], data=tiny_data, stacked=False))
    alone = run_to_end(train(FAST, data=tiny_data))
    assert torch.equal(weights(together.results[0].model), weights(alone.results[0].model))
    assert not torch.equal(weights(together.results[0].model), weights(together.results[1].model))


def test_a_dropout_model_draws_the_same_masks_whatever_trains_beside_it(tiny_data):
    pair = [replace(FAST, dropout=0.2), replace(FAST, dropout=0.5)]
    with_partner = run_to_end(train(pair, data=tiny_data, stacked=False))
    alone = run_to_end(train(replace(FAST, dropout=0.2), data=tiny_data))
    assert torch.equal(weights(with_partner.results[0].model), weights(alone.results[0].model))


def test_lockstep_refuses_runs_that_would_see_different_batches(tiny_data):
    with pytest.raises(ValueError, match="batch_size"):
        list(train([FAST, replace(FAST, batch_size=64)], data=tiny_data))


def test_same_seed_same_run_other_seed_other_run(tiny_data):
    a = run_to_end(train(FAST, data=tiny_data)).results[0]
    b = run_to_end(train(FAST, data=tiny_data)).results[0]
    c = run_to_end(train(replace(FAST, seed=8), data=tiny_data)).results[0]
    assert [m.val_loss for m in a.history] == [m.val_loss for m in b.history]
    assert [m.val_loss for m in a.history] != [m.val_loss for m in c.history]


def overfitting_data(tiny_data):
    # Validation labels that contradict training: the more the model learns, the worse it does.
    val = tiny_data.val
    return TrainData(tiny_data.train, type(val)(val.images, (val.labels + 1) % 10))


def test_early_stopping_stops_after_patience_and_keeps_the_best_epoch(tiny_data):
    data = overfitting_data(tiny_data)
    finished = run_to_end(train(replace(FAST, epochs=20, patience=2), data=data))
    run = finished.results[0]
    assert run.status == "early_stopped"
    assert run.epochs_trained == run.best_epoch + 2 < 20
    val_loss, _ = loss_and_accuracy(run.model, data.val.images, data.val.labels)
    assert val_loss == pytest.approx(run.best_val_loss, rel=1e-5)
    assert "kept epoch" in run.message


def test_without_patience_every_epoch_runs_and_the_best_weights_are_kept(tiny_data):
    data = overfitting_data(tiny_data)
    run = run_to_end(train(replace(FAST, epochs=5), data=data)).results[0]
    assert run.epochs_trained == 5
    losses = [m.val_loss for m in run.history]
    assert run.best_epoch == losses.index(min(losses)) + 1
    assert loss_and_accuracy(run.model, data.val.images, data.val.labels)[0] == pytest.approx(min(losses), rel=1e-5)


def test_stop_ends_the_run_at_the_next_batch_and_keeps_the_best_so_far(tiny_data):
    stop = threading.Event()
    events = []
    for event in train(replace(FAST, epochs=10), data=tiny_data, stop=stop):
        events.append(event)
        if isinstance(event, EpochEnd):
            stop.set()
    assert isinstance(events[-1], Finished) and events[-1].status == "stopped"
    assert isinstance(events[-2], EpochEnd)  # nothing ran after the stop
    run = events[-1].results[0]
    assert run.best_epoch == 1 and run.status == "stopped"


def test_non_finite_loss_stops_with_a_clear_message(tiny_data, monkeypatch):
    # Poison the weights after the first optimiser step, as an exploding learning rate would.
    real_step = torch.optim.Adam.step

    def exploding_step(self, *args, **kwargs):
        out = real_step(self, *args, **kwargs)
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    p.fill_(float("inf"))
        return out

    monkeypatch.setattr(torch.optim.Adam, "step", exploding_step)
    finished = run_to_end(train(replace(FAST, lr=10.0), data=tiny_data))
    assert finished.status == "diverged"
    assert "learning rate 10 is too high" in finished.message
    run = finished.results[0]
    assert run.best_epoch is None
    assert all(torch.isfinite(p).all() for p in run.model.parameters())  # not left poisoned


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("epochs", 0, "epochs"),
        ("lr", 0.0, "learning rate"),
        ("lr", float("nan"), "learning rate"),
        ("batch_size", 0, "batch size"),
        ("dropout", 1.0, "dropout"),
        ("train_size", 60_000, "training-set size"),
        ("arch", "resnet", "arch"),
        ("patience", 0, "patience"),
        ("dataset", "cifar", "dataset"),
    ],
)
def test_config_out_of_range_is_refused_saying_which_value(field, value, says):
    with pytest.raises(Exception, match=says):
        replace(TrainConfig(), **{field: value})


def test_cosine_schedule_anneals_the_learning_rate_epoch_by_epoch(tiny_data, monkeypatch):
    rates = []
    step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    run_to_end(train(replace(FAST, epochs=4), data=tiny_data))
    assert set(rates) == {FAST.lr}  # the tutorial's constant rate by default
    rates.clear()
    run_to_end(train(replace(FAST, epochs=4, cosine=True), data=tiny_data))
    per_epoch = sorted(set(rates), reverse=True)
    assert len(per_epoch) == 4 and per_epoch[0] == FAST.lr and per_epoch[-1] < FAST.lr / 5
    assert rates == sorted(rates, reverse=True)


def test_a_learning_rate_of_10_explodes_the_loss_and_stops_as_diverged(tiny_data):
    finished = run_to_end(train(replace(FAST, lr=10.0, epochs=5), data=tiny_data))
    assert finished.status == "diverged"
    assert "exploded" in finished.message and "learning rate 10 is too high" in finished.message
    assert finished.results[0].epochs_trained < 5
