"""One epoch of the tutorial's MLP on full Fashion-MNIST (50,000 train + 10,000 validation,
batch 64, Adam 0.003): the tutorial's DataLoader loop against mnistcore's trainer, side by side
in one process; then two lockstep pairs against their floor, the matrix products alone that
their epoch must do: the seeds' pair (that MLP without and with dropout 0.2) and a CNN pair on
MNIST (without and with dropout 0.3). Each is timed ROUNDS times, alternating, and the best time
of each is kept.

    python -m benchmarks.epoch_speed
"""

import time
from dataclasses import replace
from functools import partial

import numpy as np
import torch
from torch import nn, optim
from torch.utils.data import DataLoader, SubsetRandomSampler
from torchvision import datasets, transforms

from mnistcore.data import data_root, prepare
from mnistcore.training import TrainConfig, load_train_data, run_to_end, train

ROUNDS = 3


def tutorial_epoch() -> float:
    """A faithful copy of the tutorial's notebook loop, for one epoch with validation."""
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    trainset = datasets.FashionMNIST(str(data_root()), download=False, train=True, transform=transform)
    indices = list(range(len(trainset)))
    np.random.shuffle(indices)
    split = 10000
    train_sampler = SubsetRandomSampler(indices[split:])
    valid_sampler = SubsetRandomSampler(indices[:split])
    trainloader = DataLoader(trainset, batch_size=64, sampler=train_sampler)
    validloader = DataLoader(trainset, batch_size=64, sampler=valid_sampler)

    model = nn.Sequential(
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
        nn.LogSoftmax(dim=1),
    )
    criterion = nn.NLLLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.003)

    started = time.perf_counter()
    running_loss = 0
    for images, labels in trainloader:
        images = images.view(images.shape[0], -1)
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    else:
        valid_loss = 0
        accuracy = 0
        with torch.no_grad():
            model.eval()
            for images, labels in validloader:
                images = images.view(images.shape[0], -1)
                log_ps = model(images)
                valid_loss += criterion(log_ps, labels)
                ps = torch.exp(log_ps)
                top_p, top_class = ps.topk(1, dim=1)
                equals = top_class == labels.view(*top_class.shape)
                accuracy += torch.mean(equals.type(torch.FloatTensor))
        model.train()
    return time.perf_counter() - started


def mnistcore_epoch(data) -> float:
    started = time.perf_counter()
    result = run_to_end(train(TrainConfig(dataset="fashion", arch="mlp", epochs=1), data=data))
    assert result.status == "completed", result.message
    return time.perf_counter() - started


# Each layer as a matrix product per image: (rows, inputs, outputs). A fully connected layer is
# one row; a convolution is im2col's, one row per output pixel, a 5x5 window of every input
# channel in, one column per filter out.
MLP_LAYERS = ((1, 784, 256), (1, 256, 128), (1, 128, 64), (1, 64, 10))
CNN_LAYERS = ((28 * 28, 1 * 5 * 5, 16), (14 * 14, 16 * 5 * 5, 32), (1, 32 * 7 * 7, 128), (1, 128, 10))


def gemm_floor(models: int = 2, batch: int = 64, samples: int = 50_000, layers=MLP_LAYERS) -> float:
    """The matrix products one lockstep epoch of ``models`` networks cannot avoid, alone: per step
    and layer the forward product, the weight gradient and (above the first layer) the input
    gradient, on tensors made beforehand. No activation, pooling, im2col, loss, optimizer or
    dispatch of the rest: what a perfect trainer would still spend."""
    steps = -(-samples // batch)
    tensors = [
        (torch.randn(batch * rows, n_in), torch.randn(n_in, n_out), torch.randn(batch * rows, n_out), first == 0)
        for first, (rows, n_in, n_out) in enumerate(layers)
    ]
    started = time.perf_counter()
    for _ in range(steps * models):
        for x, w, grad_out, is_first in tensors:
            torch.mm(x, w)  # forward
            torch.mm(x.t(), grad_out)  # the weights' gradient
            if not is_first:
                torch.mm(grad_out, w.t())  # the gradient passed down
    return time.perf_counter() - started


SEEDS_PAIR = TrainConfig(dataset="fashion", arch="mlp", epochs=1), 0.2
CNN_PAIR = TrainConfig(dataset="mnist", arch="cnn", epochs=1), 0.3


def pair_epoch(data, pair) -> float:
    """One epoch of a pair, without and with dropout, in lockstep as the Train page runs it."""
    base, dropout = pair
    started = time.perf_counter()
    result = run_to_end(train([base, replace(base, dropout=dropout)], data=data))
    assert result.status == "completed", result.message
    return time.perf_counter() - started


def side_by_side(first, second) -> tuple[list[float], list[float]]:
    """Each timed ROUNDS times, alternating, so both see the same moments of a noisy machine."""
    times = [], []
    for _ in range(ROUNDS):
        times[0].append(first())
        times[1].append(second())
    return times


def line(name: str, times: list[float], unit: str = "s/epoch") -> float:
    print(f"{name:<44}: {min(times):6.2f} {unit}  (runs: {', '.join(f'{t:.2f}' for t in times)})")
    return min(times)


def main() -> None:
    prepare("fashion")
    data = load_train_data(TrainConfig())  # held in memory once, as the app and CLI do
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; one epoch each, best of {ROUNDS}")
    tutorial, ours = side_by_side(tutorial_epoch, lambda: mnistcore_epoch(data))
    ratio = line("the tutorial's DataLoader loop", tutorial) / line("mnistcore trainer", ours)
    print(f"{'ratio':<44}: {ratio:6.1f}x  (target >= 8x)")

    prepare("mnist")
    digits = load_train_data(CNN_PAIR[0])
    for name, pair, pair_data, layers in (
        ("seeds' MLP pair", SEEDS_PAIR, data, MLP_LAYERS),
        ("CNN pair", CNN_PAIR, digits, CNN_LAYERS),
    ):
        floors, pairs = side_by_side(partial(gemm_floor, layers=layers), partial(pair_epoch, pair_data, pair))
        floor = line(f"{name}: its matrix products (the floor)", floors, "s")
        epoch = line(f"{name}: the trainer's epoch", pairs, "s")
        print(f"{'pair epoch / floor':<44}: {epoch / floor:6.2f}x  (goal <= 1.5x)")


if __name__ == "__main__":
    main()
