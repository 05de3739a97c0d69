"""The stacked step (mnistcore/stacked.py) trains lockstep runs as the plain step does.

Not bit for bit: a batched matrix product adds up in another order than one model's, a float32
rounding apart per step, which a few epochs of training carry to 1e-6 to 1e-4 in the losses.
The curves are compared at a relative 1e-3, above that and well below any real difference (a
changed mask, batch or learning rate moves them by 1e-2 or more).

The CNN's validation curves agree less closely, to about 1e-3, with either step: the biases of
its convolutions feed batch norm, which cancels them, so their gradient is zero but for rounding
and Adam scales that rounding up to full-size steps; eval mode sees them through the running
means. Its curves are compared at 1e-2, still well below what a changed mask does."""

import threading
from dataclasses import replace

import pytest
import torch

from mnistcore.status import Status
from mnistcore.training import EpochEnd, Finished, TrainConfig, TrainData, run_to_end, train
from tests.conftest import synthetic_split

TOLERANCE = 1e-3
CNN_TOLERANCE = 1e-2
MLP = TrainConfig(dataset="mnist", arch="mlp", epochs=3, batch_size=32, seed=7)
CNN = replace(MLP, arch="cnn", epochs=2)


@pytest.fixture
def noisy_data() -> TrainData:
    # A third of the training labels wrong: the losses stay well above zero, so the curves
    # have digits left to compare.
    train_split = synthetic_split(512, seed=1)
    g = torch.Generator().manual_seed(3)
    wrong = torch.rand(len(train_split.labels), generator=g) < 1 / 3
    labels = torch.where(wrong, torch.randint(0, 10, train_split.labels.shape, generator=g), train_split.labels)
    return TrainData(type(train_split)(train_split.images, labels), synthetic_split(200, seed=2))


def both_ways(configs, data):
    plain = run_to_end(train(configs, data=data, stacked=False))
    stacked = run_to_end(train(configs, data=data))
    return plain, stacked


def curves(run) -> list[float]:
    return [v for m in run.history for v in (m.train_loss, m.val_loss, m.val_accuracy)]


def assert_same_training(plain, stacked, tolerance=TOLERANCE):
    assert stacked.status == plain.status and stacked.message == plain.message
    for a, b in zip(plain.results, stacked.results, strict=True):
        assert (b.status, b.best_epoch, b.epochs_trained) == (a.status, a.best_epoch, a.epochs_trained)
        assert curves(b) == pytest.approx(curves(a), rel=tolerance, abs=1e-6)


@pytest.mark.parametrize(
    "configs, tolerance",
    [
        pytest.param([MLP, replace(MLP, dropout=0.2)], TOLERANCE, id="mlp pair"),
        pytest.param([CNN, replace(CNN, dropout=0.3)], CNN_TOLERANCE, id="cnn pair"),
        pytest.param(
            [replace(MLP, arch="logreg"), replace(MLP, arch="logreg", dropout=0.5)], TOLERANCE, id="logreg pair"
        ),
        pytest.param(
            [replace(MLP, cosine=True, augment=True), replace(MLP, cosine=True, augment=True, dropout=0.5)],
            TOLERANCE,
            id="cosine, augmented",
        ),
    ],
)
def test_the_stacked_step_trains_a_pair_as_the_plain_step_does(noisy_data, configs, tolerance):
    plain, stacked = both_ways(configs, noisy_data)
    assert_same_training(plain, stacked, tolerance)
    if configs[0].arch == "mlp":
        for a, b in zip(plain.results, stacked.results, strict=True):
            for name, value in a.model.state_dict().items():
                assert torch.allclose(b.model.state_dict()[name], value, rtol=1e-3, atol=1e-4), name


def test_a_model_stacked_with_any_partner_trains_the_same_to_the_bit(noisy_data):
    # Each model's slice of a stacked product is computed on its own: its partner's dropout
    # changes nothing of it.
    first = run_to_end(train([replace(MLP, dropout=0.2), replace(MLP, dropout=0.5)], data=noisy_data))
    second = run_to_end(train([replace(MLP, dropout=0.2), replace(MLP, dropout=0.3)], data=noisy_data))
    for a, b in zip(first.results[0].model.parameters(), second.results[0].model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert curves(first.results[0]) == curves(second.results[0])


def test_a_run_that_stops_early_leaves_the_others_training_as_the_plain_step_does(noisy_data):
    # Validation labels that contradict training: the more a model learns, the worse it does.
    val = noisy_data.val
    data = TrainData(noisy_data.train, type(val)(val.images, (val.labels + 1) % 10))
    configs = [
        replace(MLP, epochs=6, patience=1),
        replace(MLP, epochs=6, dropout=0.2),
        replace(MLP, epochs=6, dropout=0.5, patience=3),
    ]
    plain, stacked = both_ways(configs, data)
    assert [r.status for r in plain.results][0] == Status.EARLY_STOPPED
    assert plain.results[1].epochs_trained == 6  # two trained on, then one alone
    assert_same_training(plain, stacked)


def test_a_diverging_pair_stops_as_the_plain_step_does(noisy_data):
    plain, stacked = both_ways([replace(MLP, lr=10.0), replace(MLP, lr=10.0, dropout=0.2)], noisy_data)
    assert plain.status == stacked.status == Status.DIVERGED
    assert stacked.message == plain.message
    for run in stacked.results:
        assert all(torch.isfinite(p).all() for p in run.model.parameters())


def test_stop_ends_a_stacked_pair_at_the_next_batch(noisy_data):
    stop = threading.Event()
    events = []
    for event in train([MLP, replace(MLP, dropout=0.2)], data=noisy_data, stop=stop):
        events.append(event)
        if isinstance(event, EpochEnd):
            stop.set()
    assert isinstance(events[-1], Finished) and events[-1].status == Status.STOPPED
    assert [run.best_epoch for run in events[-1].results] == [1, 1]
