"""python -m mnistcore train|evaluate|predict|data|teacher"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from dataclasses import fields
from pathlib import Path

from .errors import MnistcoreError


def _progress_bar(done: int, total: int, prefix: str, width: int = 30) -> None:
    filled = width * done // total
    sys.stderr.write(f"\r{prefix} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\r" + " " * (len(prefix) + width + 20) + "\r")
    sys.stderr.flush()


def cmd_train(args) -> None:
    from dataclasses import replace

    from .checkpoints import save_run
    from .data import load_split
    from .settings import Settings
    from .status import Status
    from .training import EpochEnd, Finished, Progress, TrainConfig, train

    config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    # --compare-dropout P: the Train page's pair, this config and its twin with dropout P, in lockstep.
    configs = [config] if args.compare_dropout is None else [config, replace(config, dropout=args.compare_dropout)]
    if len({c.dropout for c in configs}) < len(configs):
        raise ValueError("--compare-dropout must differ from --dropout: the pair compares two dropouts")
    test = load_split(config.dataset, "test")  # now: a missing or damaged file fails before training
    show_bar = sys.stderr.isatty() and not args.json
    if not args.json:
        pair = " and ".join(c.label for c in configs)
        print(f"Training the {config.arch} {pair} on {config.dataset} for up to {config.epochs} epochs")
        print(f"{'epoch':>5} {'run':<20} {'train loss':>10} {'val loss':>9} {'val acc':>8} {'seconds':>8}")
    for event in train(configs):
        if isinstance(event, Progress) and show_bar:
            _progress_bar(event.batch, event.batches, f"epoch {event.epoch}")
        elif isinstance(event, EpochEnd):
            if args.json:
                print(json.dumps(_epoch_line(event, configs)), flush=True)
            for m in () if args.json else event.metrics:
                best = "  *best" if m.is_best else ""
                print(
                    f"{m.epoch:>5} {configs[m.run].label:<20} {m.train_loss:>10.4f} {m.val_loss:>9.4f} "
                    f"{m.val_accuracy:>8.4f} {m.seconds:>8.1f}{best}",
                    flush=True,
                )
        elif isinstance(event, Finished):
            finished = event
    if all(result.best_epoch is None for result in finished.results):
        raise MnistcoreError(finished.message or "Training produced no usable epoch; nothing saved.")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    summaries = []
    for result in finished.results:
        c = result.config
        if args.out:
            out = Path(args.out)
            if len(configs) > 1:  # one file each: my-run.pt -> my-run-d0.pt, my-run-d0.2.pt
                out = out.with_name(f"{out.stem}-d{c.dropout:g}{out.suffix or '.pt'}")
        else:
            out = Settings.from_env().runs_dir / "cli" / f"{c.dataset}-{c.arch}-d{c.dropout:g}-{stamp}.pt"
        card = save_run(result, out, test) if result.best_epoch is not None else None
        summaries.append(
            {
                "run": c.label,
                "status": result.status,
                "best_epoch": result.best_epoch,
                "val_loss": result.best_val_loss,
                "test_accuracy": card.test_accuracy if card else None,
                "test_loss": card.test_loss if card else None,
                "checkpoint": str(out) if card else None,
            }
        )
    if args.json:
        summary = summaries[0] if len(summaries) == 1 else {"runs": summaries}
        print(json.dumps({"summary": {"status": finished.status, **summary}}), flush=True)
        return
    if finished.status != Status.COMPLETED or any(r.status == Status.EARLY_STOPPED for r in finished.results):
        print(finished.message)
    for s in summaries:
        if s["checkpoint"] is None:
            print(f"The run {s['run']}: no usable epoch; nothing saved.")
        else:
            print(
                f"The run {s['run']}: best epoch {s['best_epoch']} (val loss {s['val_loss']:.4f}); "
                f"test accuracy {s['test_accuracy']:.4f}; saved {s['checkpoint']}"
            )


def _epoch_line(event, configs) -> dict:
    """One epoch as --json prints it: a single run's metrics as they are; a pair's under "runs",
    with the pair's seconds (they train in one loop, so one time covers both)."""
    rows = [{k: v for k, v in m.as_dict().items() if k != "run"} for m in event.metrics]
    if len(configs) == 1:
        return rows[0]
    runs = [{"run": configs[m.run].label, **row} for m, row in zip(event.metrics, rows, strict=True)]
    for row in runs:
        del row["seconds"], row["epoch"]
    return {"epoch": event.epoch, "seconds": event.metrics[0].seconds, "runs": runs}


def _checkpoint(path: str):
    from .checkpoints import load_checkpoint
    from .errors import CheckpointError

    try:
        return load_checkpoint(path)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def cmd_evaluate(args) -> None:
    from .data import load_split
    from .evaluation import loss_and_accuracy

    model, card = _checkpoint(args.checkpoint)
    test = load_split(card.dataset, "test")
    loss, accuracy = loss_and_accuracy(model, test.images, test.labels)
    result = {
        "checkpoint": args.checkpoint,
        "dataset": card.dataset,
        "arch": card.arch,
        "accuracy": accuracy,
        "loss": loss,
        "images": len(test),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{args.checkpoint}: {card.arch} on {card.dataset} test split: "
            f"accuracy {accuracy:.4f}, loss {loss:.4f} ({len(test)} images)"
        )


def cmd_predict(args) -> None:
    from .image_reader import read_image_file
    from .inference import classify
    from .preprocess import prepare_input

    model, card = _checkpoint(args.checkpoint)
    failed = False
    for file in args.images:
        try:
            x = prepare_input(read_image_file(file), card.dataset)
        except MnistcoreError as exc:
            print(f"mnistcore: {file}: {exc}", file=sys.stderr)
            failed = True
            continue
        if x is None:
            print(json.dumps({"file": file, "label": None, "probabilities": [0.0] * 10}))
            continue
        prediction = classify(model, x, card.dataset)
        print(
            json.dumps(
                {
                    "file": file,
                    "label": prediction.index,
                    "class": prediction.label,
                    "probabilities": [round(float(p), 6) for p in prediction.probabilities],
                }
            ),
            flush=True,
        )
    if failed:
        sys.exit(1)


def cmd_data(args) -> None:
    from .data import DATASETS, prepare

    for name in args.dataset or DATASETS:
        prepare(name)


def cmd_teacher(args) -> None:
    from .settings import Settings
    from .teacher_key import teacher_link

    print(teacher_link(Settings.from_env().runs_dir, args.port))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # One line, not argparse's usage block: the user sees what is wrong at once.
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from .data import DATASETS
    from .models import ARCHS
    from .training import TrainConfig

    d = TrainConfig()
    parser = _Parser(prog="python -m mnistcore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model; prints one line per epoch")
    p.add_argument("--dataset", choices=DATASETS, default=d.dataset)
    p.add_argument("--arch", choices=ARCHS, default=d.arch)
    p.add_argument("--dropout", type=float, default=d.dropout, metavar="P")
    p.add_argument("--epochs", type=int, default=d.epochs, metavar="N")
    p.add_argument("--batch-size", type=int, default=d.batch_size, metavar="B")
    p.add_argument("--lr", type=float, default=d.lr, metavar="LR")
    p.add_argument("--train-size", type=int, default=d.train_size, metavar="N")
    p.add_argument(
        "--patience",
        type=int,
        default=d.patience,
        metavar="K",
        help="stop after K epochs without a better validation loss",
    )
    p.add_argument("--seed", type=int, default=d.seed, metavar="S")
    p.add_argument("--augment", action="store_true", help="random shift/rotation/scale/stroke")
    p.add_argument(
        "--compare-dropout",
        type=float,
        metavar="P",
        help="also train a twin with dropout P in lockstep, on the same batches (as the Train page does)",
    )
    p.add_argument("--cosine", action="store_true", help="anneal the learning rate to zero over the epochs")
    p.add_argument("--out", metavar="PATH", help="checkpoint path (default: runs/cli/...)")
    p.add_argument("--json", action="store_true", help="one JSON object per epoch on stdout")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("evaluate", help="test-split accuracy and loss of a checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("predict", help="classify image files, one JSON line each")
    p.add_argument("checkpoint")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("data", help="prepare and verify the datasets")
    p.add_argument("dataset", nargs="*", metavar="DATASET", help=f"any of {', '.join(DATASETS)} (default: all)")
    p.set_defaults(run=cmd_data)

    p = sub.add_parser("teacher", help="print the link to the teacher's page (with its key)")
    p.add_argument("--port", type=int, default=8501, help="the port the app is served on")
    p.set_defaults(run=cmd_teacher)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except MnistcoreError as exc:
        print(f"mnistcore: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a config out of range: TrainConfig says which value and why
        print(f"mnistcore: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nmnistcore: interrupted", file=sys.stderr)
        return 130
    return 0
