"""The stacked step (mnistcore/stacked.py) trains lockstep runs as the plain step does.

Not bit for bit, on any machine: a batched matrix product adds up in another order than one
model's, and each CPU's kernels (AVX2, AVX-512, AMX; MKL, oneDNN) choose their own order too.
So the tests compare what a student sees, the curves, the best epoch and the accuracy, with
tolerances that follow from float32 arithmetic, not from one machine's results:

- Losses, relative 1e-3 (CURVES). float32 rounds each operation to u = 2**-24 = 6e-8 of its
  result. A sum of K terms in another order differs by about sqrt(K) * u of the sum of their
  magnitudes when the rounding errors have random signs; the widest sum here is fc1's, K = 784,
  so about 2e-6 relative per layer and step. A loss is a smooth function of the weights, so over
  S steps these add like a random walk too: sqrt(48) * 2e-6 = 1e-5 for the MLP's 48 steps. The
  tolerance is a hundred times that; another seed moves each run's losses by 1.7% or more,
  ten times the tolerance and more (test_a_real_difference_is_far_outside_the_tolerance).
- Accuracy, within half a point (ACCURACY): one validation image of 200 whose two best logits
  are within rounding of each other may go either way.
- The best epoch, the same: on these data the best epoch beats the next best by 1.6% or more,
  sixteen times the loss tolerance (asserted, so that a change of data cannot make it a coin
  toss).
- The CNN's validation losses, relative 3e-2 (CNN_VAL_CURVES). The biases of its convolutions
  feed batch norm, which cancels them, so their gradient is zero but for rounding; Adam scales
  any gradient to a step of up to the learning rate, 0.003, whatever its size, so each bias
  wanders by up to 0.003 a step in a direction rounding picks. Training is blind to it (batch
  norm subtracts the batch's mean); evaluation subtracts the running mean, which lags the
  batches' by about 1 / momentum = 10 steps, so it sees the biases off by up to 10 * 0.003 =
  0.03 in units of the normalised activation, a change of the loss of that order, where another
  seed moves it by 25% or more. Its training losses keep the 1e-3.

The weights themselves are not compared after training: a weight whose true gradient is zero,
or nearly so, gets a full Adam step in whichever direction rounding decides, and on another
CPU it ends elsewhere by up to the learning rate times the steps. The loss does not depend on
such a weight, which is why the curves agree and the weights need not."""

import threading
from dataclasses import replace

import pytest
import torch

from mnistcore.status import Status
from mnistcore.training import EpochEnd, Finished, TrainConfig, TrainData, run_to_end, train
from tests.conftest import synthetic_split

CURVES = 1e-3  # relative, on the losses
CNN_VAL_CURVES = 3e-2  # relative, on the CNN's validation losses
ACCURACY = 0.005  # half a point: one validation image of 200
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


def best_epoch_margin(run) -> float:
    """How much lower the best epoch's validation loss is than the next best's, relatively."""
    losses = sorted(m.val_loss for m in run.history)
    return (losses[1] - losses[0]) / losses[0] if len(losses) > 1 else float("inf")


def assert_same_training(plain, stacked, val_curves=CURVES):
    assert stacked.status == plain.status and stacked.message == plain.message
    for a, b in zip(plain.results, stacked.results, strict=True):
        assert (b.status, b.epochs_trained) == (a.status, a.epochs_trained)
        assert best_epoch_margin(a) > 10 * CURVES  # the data decide the best epoch, not rounding
        assert b.best_epoch == a.best_epoch
        assert [m.train_loss for m in b.history] == pytest.approx([m.train_loss for m in a.history], rel=CURVES)
        assert [m.val_loss for m in b.history] == pytest.approx([m.val_loss for m in a.history], rel=val_curves)
        accuracies = [m.val_accuracy for m in a.history]
        assert [m.val_accuracy for m in b.history] == pytest.approx(accuracies, abs=ACCURACY)


PAIRS = {
    "mlp pair": [MLP, replace(MLP, dropout=0.2)],
    "cnn pair": [CNN, replace(CNN, dropout=0.3)],
    "logreg pair": [replace(MLP, arch="logreg"), replace(MLP, arch="logreg", dropout=0.5)],
    "cosine, augmented": [
        replace(MLP, cosine=True, augment=True),
        replace(MLP, cosine=True, augment=True, dropout=0.5),
    ],
}


@pytest.mark.parametrize("name", PAIRS)
def test_the_stacked_step_trains_a_pair_as_the_plain_step_does(noisy_data, name):
    configs = PAIRS[name]
    plain, stacked = both_ways(configs, noisy_data)
    assert_same_training(plain, stacked, CNN_VAL_CURVES if configs[0].arch == "cnn" else CURVES)


@pytest.mark.parametrize("name", ["mlp pair", "cnn pair"])
def test_a_real_difference_is_far_outside_the_tolerance(noisy_data, name):
    # The tolerances above pass rounding, not another batch order: the comparison can fail.
    plain = run_to_end(train(PAIRS[name], data=noisy_data, stacked=False))
    reseeded = run_to_end(train([replace(c, seed=8) for c in PAIRS[name]], data=noisy_data))
    for a, b in zip(plain.results, reseeded.results, strict=True):
        train_gap = max(
            abs(y.train_loss - x.train_loss) / x.train_loss for x, y in zip(a.history, b.history, strict=True)
        )
        val_gap = max(abs(y.val_loss - x.val_loss) / x.val_loss for x, y in zip(a.history, b.history, strict=True))
        assert train_gap > 10 * CURVES
        assert val_gap > (CNN_VAL_CURVES if name == "cnn pair" else 10 * CURVES)


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
