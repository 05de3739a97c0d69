"""A one-page run report a student can hand in: one self-contained HTML file (the charts'
JavaScript inside, so it opens without internet) with the run's settings, its loss curves, the
confusion matrix and the mistakes the model was surest of."""

from __future__ import annotations

import html
from dataclasses import asdict

import numpy as np

from .cards import ModelCard
from .charts import accuracy_curves, confusion_matrix, loss_curves, per_class_accuracy
from .data import get_spec
from .display import enlarge, png_data_uri
from .evaluation import Evaluation

SETTINGS = (
    ("dataset", "dataset"),
    ("arch", "model"),
    ("dropout", "dropout"),
    ("epochs", "epochs"),
    ("lr", "learning rate"),
    ("batch_size", "batch size"),
    ("train_size", "training images"),
    ("patience", "early-stopping patience"),
    ("seed", "seed"),
    ("augment", "augmentation"),
)

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; color: #222; }
h1 { margin-bottom: 0.2em; } .muted { color: #666; }
table { border-collapse: collapse; } td, th { padding: 2px 12px 2px 0; text-align: left; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; }
.mistake { width: 130px; font-size: 12px; text-align: center; }
.mistake img { width: 112px; image-rendering: pixelated; }
"""


def run_report(name: str, card: ModelCard, evaluation: Evaluation, test_images: np.ndarray, mistakes: int = 16) -> str:
    """HTML of the report. ``test_images``: the split's uint8 (N, 28, 28) images, in the order
    the evaluation saw them. Every value from the card is escaped, and the same inputs give the
    same bytes, so a report downloaded many times is held once."""
    spec = get_spec(card.dataset)
    config = asdict(card.config) if card.config is not None else {}
    history = list(card.history)
    values = {**config, "dataset": card.dataset, "arch": card.arch, "dropout": card.dropout}
    rows = "".join(
        f"<tr><th>{html.escape(title)}</th><td>{html.escape(_shown(values.get(key)))}</td></tr>"
        for key, title in SETTINGS
    )
    summary = (
        f"Test accuracy <b>{evaluation.accuracy:.2%}</b> and loss {evaluation.loss:.3f} on "
        f"{len(evaluation.labels):,} test images"
    )
    if card.best_epoch:
        summary += (
            f"; weights of epoch {html.escape(str(card.best_epoch))} (lowest validation loss) of "
            f"{html.escape(str(card.epochs_trained))}"
        )

    figures = []
    if history:
        figures.append(loss_curves([(card.label, history)], height=340))
        figures.append(accuracy_curves([(card.label, history)], height=260))
    figures.append(confusion_matrix(evaluation.confusion(), spec.classes, height=460))
    figures.append(per_class_accuracy(evaluation.per_class_accuracy(), spec.classes, height=260))
    charts = "".join(
        fig.to_html(full_html=False, include_plotlyjs=(i == 0), div_id=f"figure-{i}", config={"displayModeBar": False})
        for i, fig in enumerate(figures)
    )

    cells = []
    for i in evaluation.confident_mistakes(mistakes):
        said, true = spec.classes[evaluation.predictions[i]], spec.classes[evaluation.labels[i]]
        picture = png_data_uri(enlarge(test_images[i] / 255.0, 112))
        cells.append(
            f'<div class="mistake"><img src="{picture}" alt="test image {i}"><br>'
            f"said <b>{html.escape(said)}</b> ({evaluation.confidences[i]:.0%})<br>"
            f"was {html.escape(true)}</div>"
        )

    trained = f" Trained {html.escape(card.created[:10])}." if card.created else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Run report: {html.escape(name)}</title>
<style>{STYLE}</style></head><body>
<h1>Run report: {html.escape(name)}</h1>
<p class="muted">{html.escape(spec.title)}, {html.escape(card.label)}.{trained} From the handwriting lab.</p>
<p>{summary}.</p>
<h2>Settings</h2><table>{rows}</table>
<h2>Curves, confusion matrix and accuracy per class</h2>
<p class="muted">Loss: training solid, validation dashed; the star is the best epoch, the one kept.
Confusion matrix: rows are the true classes, columns what the model answered.</p>
{charts}
<h2>The mistakes it was surest of</h2>
<div class="figures">{"".join(cells) or "<p>None: every test image was right.</p>"}</div>
</body></html>
"""


def _shown(value: object) -> str:
    """A setting as a person reads it, not as Python prints it."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}" if isinstance(value, float) else str(value)
