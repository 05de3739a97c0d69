"""One epoch of the tutorial's MLP on full Fashion-MNIST (50,000 train + 10,000 validation,
batch 64, Adam 0.003): the tutorial's DataLoader loop against mnistcore's trainer, side by side
in one process; then the seeds' lockstep pair (without and with dropout 0.2) against the floor,
the matrix products alone that its epoch must do. Each is timed ROUNDS times, alternating, and
the best time of each is kept.

    python -m benchmarks.epoch_speed
"""

import time
from dataclasses import replace

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


MLP_LAYERS = ((784, 256), (256, 128), (128, 64), (64, 10))


def gemm_floor(models: int = 2, batch: int = 64, samples: int = 50_000, layers=MLP_LAYERS) -> float:
    """The matrix products one lockstep epoch of ``models`` MLPs cannot avoid, alone: per step and
    layer the forward product, the weight gradient and (above the first layer) the input
    gradient, on tensors made beforehand. No activation, loss, optimizer or dispatch of the
    rest: what a perfect trainer would still spend."""
    steps = -(-samples // batch)
    tensors = [
        (torch.randn(batch, n_in), torch.randn(n_in, n_out), torch.randn(batch, n_out), first == 0)
        for first, (n_in, n_out) in enumerate(layers)
    ]
    started = time.perf_counter()
    for _ in range(steps * models):
        for x, w, grad_out, is_first in tensors:
            torch.mm(x, w)  # forward
            torch.mm(x.t(), grad_out)  # the weights' gradient
            if not is_first:
                torch.mm(grad_out, w.t())  # the gradient passed down
    return time.perf_counter() - started


def pair_epoch(data) -> float:
    """One epoch of the seeds' pair, without and with dropout 0.2, in lockstep as the Train page runs it."""
    base = TrainConfig(dataset="fashion", arch="mlp", epochs=1)
    started = time.perf_counter()
    result = run_to_end(train([base, replace(base, dropout=0.2)], data=data))
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

    floors, pairs = side_by_side(gemm_floor, lambda: pair_epoch(data))
    floor = line("matrix products of a pair epoch (the floor)", floors, "s")
    pair = line("the trainer's pair epoch (seeds' pair)", pairs, "s")
    print(f"{'pair epoch / floor':<44}: {pair / floor:6.1f}x  (goal <= 1.5x)")


if __name__ == "__main__":
    main()
