"""Plotly figures the pages show. Built here, not in the pages, so they are tested without a
browser and the CLI or a report can reuse them. Every figure keeps its axis labels inside it
(automargins) and its legend above the plot, where it never covers an axis."""

from __future__ import annotations

import math

# pandas now, not on plotly's first use from whichever session's thread builds a figure first:
# two at once saw it half-imported ("partially initialized module 'pandas'").
import numpy as np
import pandas  # noqa: F401
import plotly.graph_objects as go
from plotly.colors import convert_colors_to_same_type, qualitative, unlabel_rgb

HIGHLIGHT = "#e4572e"
MUTED = "#9aa5b1"
# Twelve colours that stay apart from each other: a dozen runs overlaid are told apart.
PALETTE = ("#1f77b4", "#e4572e", "#2ca02c", "#9467bd", "#8c564b", "#17becf", *qualitative.Dark2[:6])
LEGEND_ROW = 24  # px a row of legend entries takes above the plot


def _layout(fig: go.Figure, height: int, legend: list[str] | tuple[str, ...] = (), **axes) -> go.Figure:
    """Margins, axis labels kept inside (automargin), and a legend of ``legend``'s entries
    above the plot, its height added to the figure's so the plot keeps its size however many
    entries there are: five to a row when they are short, two when they are long."""
    per_row = 5 if max(map(len, legend), default=0) <= 12 else 2
    rows = math.ceil(len(legend) / per_row) if len(legend) > 1 else 0
    for axis in axes.values():
        axis.setdefault("automargin", True)
    fig.update_layout(
        height=height + rows * LEGEND_ROW,
        margin=dict(l=10, r=10, t=10 + rows * LEGEND_ROW, b=10),
        showlegend=rows > 0,
        legend=dict(orientation="h", x=0, y=1, yanchor="bottom", entrywidthmode="fraction", entrywidth=1 / per_row),
        **axes,
    )
    return fig


def probability_bars(
    probabilities: np.ndarray, classes: tuple[str, ...], height: int = 300, horizontal: bool | None = None
) -> go.Figure:
    """The ten class probabilities as bars, the top one highlighted. Horizontal (``None``: when
    the class names are words, not digits), where ten names side by side would run together."""
    if horizontal is None:
        horizontal = max(len(c) for c in classes) > 2
    top = int(np.argmax(probabilities))
    values, names = [float(p) for p in probabilities], list(classes)
    fig = go.Figure(
        go.Bar(
            x=values if horizontal else names,
            y=names if horizontal else values,
            orientation="h" if horizontal else "v",
            marker_color=[HIGHLIGHT if i == top else MUTED for i in range(len(classes))],
            text=[f"{p:.0%}" if p >= 0.01 else "" for p in probabilities],
            textposition="outside",
            hovertemplate=f"%{{{'y' if horizontal else 'x'}}}: %{{{'x' if horizontal else 'y'}:.1%}}<extra></extra>",
        )
    )
    value_axis = dict(range=[0, 1.25 if horizontal else 1.12], tickformat=".0%", title="probability")
    class_axis = dict(type="category", tickangle=0)
    if horizontal:
        class_axis["autorange"] = "reversed"  # the first class on top, as in a list
    return _layout(
        fig, height, xaxis=value_axis if horizontal else class_axis, yaxis=class_axis if horizontal else value_axis
    )


def model_comparison(rows: list[tuple[str, np.ndarray]], classes: tuple[str, ...], height: int = 320) -> go.Figure:
    """Several models' probabilities for the same input, grouped by class."""
    fig = go.Figure(
        [
            go.Bar(
                name=name,
                x=list(classes),
                y=[float(p) for p in probabilities],
                marker_color=PALETTE[i % len(PALETTE)],
                hovertemplate=f"{name}<br>%{{x}}: %{{y:.1%}}<extra></extra>",
            )
            for i, (name, probabilities) in enumerate(rows)
        ]
    )
    fig.update_layout(barmode="group")
    return _layout(
        fig,
        height,
        legend=[name for name, _ in rows],
        yaxis=dict(range=[0, 1.05], tickformat=".0%", title="probability"),
        xaxis=dict(type="category"),
    )


def _rgba(colour: str, alpha: float) -> str:
    """A PALETTE colour ("#1f77b4" or Dark2's "rgb(27,158,119)") made see-through."""
    r, g, b = unlabel_rgb(convert_colors_to_same_type(colour, colortype="rgb")[0][0])
    return f"rgba({r:g},{g:g},{b:g},{alpha})"


def _epoch_axis(epochs: int | None) -> dict:
    return dict(title="epoch", range=[0.5, epochs + 0.5] if epochs else None)


def loss_curves(
    series: list[tuple[str, list[dict]]], epochs: int | None = None, height: int = 360, log_y: bool = False
) -> go.Figure:
    """Training loss solid, validation loss dashed, one colour per run, the gap between them
    shaded, the best epoch so far (the one early stopping keeps) starred. Hovering an epoch
    shows every run's numbers there. ``series`` holds (label, epoch rows as the history gives
    them); the legend has one entry per run."""
    fig = go.Figure()
    for i, (label, rows) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        x = [r["epoch"] for r in rows]
        fig.add_scatter(
            x=x,
            y=[r["train_loss"] for r in rows],
            name=f"{label}: training",
            showlegend=False,
            mode="lines+markers",
            line=dict(color=colour),
            marker=dict(size=5),
            legendgroup=label,
            hovertemplate="training %{y:.3f}",
        )
        fig.add_scatter(
            x=x,
            y=[r["val_loss"] for r in rows],
            name=label,
            mode="lines+markers",
            line=dict(color=colour, dash="dash"),
            marker=dict(size=5),
            legendgroup=label,
            fill="tonexty",
            fillcolor=_rgba(colour, 0.12),
            hovertemplate="validation %{y:.3f}",
        )
        best_row = next((r for r in reversed(rows) if r["is_best"]), None)
        if best_row is not None:
            fig.add_scatter(
                x=[best_row["epoch"]],
                y=[best_row["val_loss"]],
                name=f"{label}: best epoch",
                showlegend=False,
                mode="markers",
                legendgroup=label,
                marker=dict(symbol="star", size=16, color=colour, line=dict(color="black", width=1)),
                hovertemplate="best epoch so far",
            )
    # Not from zero: the upturn of the validation loss is what the class should see.
    loss_axis = dict(title="loss" + (" (log scale)" if log_y else ""), type="log" if log_y else "linear")
    if not any(rows for _, rows in series):
        loss_axis["range"] = [-1, 0] if log_y else [0, 1]
    fig.update_layout(hovermode="x unified")
    return _layout(fig, height, legend=[label for label, _ in series], xaxis=_epoch_axis(epochs), yaxis=loss_axis)


def accuracy_curves(series: list[tuple[str, list[dict]]], epochs: int | None = None, height: int = 240) -> go.Figure:
    """Validation accuracy, one line per run, in the loss chart's colours."""
    fig = go.Figure()
    lowest = min((r["val_accuracy"] for _, rows in series for r in rows), default=0.5)
    for i, (label, rows) in enumerate(series):
        fig.add_scatter(
            x=[r["epoch"] for r in rows],
            y=[r["val_accuracy"] for r in rows],
            name=label,
            mode="lines+markers",
            line=dict(color=PALETTE[i % len(PALETTE)]),
            marker=dict(size=5),
            hovertemplate="%{y:.1%}",
        )
    fig.update_layout(hovermode="x unified")
    return _layout(
        fig,
        height,
        legend=[label for label, _ in series],
        xaxis=_epoch_axis(epochs),
        yaxis=dict(title="validation accuracy", tickformat=".0%", range=[max(0.0, min(lowest, 0.9) - 0.05), 1.0]),
    )


def confusion_matrix(
    matrix: np.ndarray, classes: tuple[str, ...], selected: tuple[int, int] | None = None, height: int = 520
) -> go.Figure:
    """Counts as a heatmap, rows = true class, columns = predicted. An invisible marker sits on
    every cell so that a click selects it (plotly heatmaps cannot be selected themselves);
    ``clicked_cell`` reads the selection back."""
    k = len(classes)
    labels = list(classes)
    # Colour on a log scale, so the few mistakes still show beside the big diagonal.
    fig = go.Figure(
        go.Heatmap(
            z=np.log10(matrix + 1),
            x=labels,
            y=labels,
            text=matrix,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
            hovertemplate="true %{y}, answered %{x}: %{text} images<extra></extra>",
        )
    )
    true, predicted = np.divmod(np.arange(k * k), k)
    fig.add_scatter(
        x=[labels[p] for p in predicted],
        y=[labels[t] for t in true],
        mode="markers",
        marker=dict(symbol="square", size=28, opacity=0.01, color="black"),
        showlegend=False,
        hovertemplate="true %{y}, answered %{x}: click to see them<extra></extra>",
    )
    if selected is not None:
        fig.add_shape(
            type="rect",
            x0=selected[1] - 0.5,
            x1=selected[1] + 0.5,
            y0=selected[0] - 0.5,
            y1=selected[0] + 0.5,
            line=dict(color=HIGHLIGHT, width=3),
        )
    fig.update_layout(clickmode="event+select", dragmode=False)
    return _layout(
        fig,
        height,
        # Upright class names: slanted ones run into each other once a column is narrower than
        # "T-shirt/top" (a tablet, a laptop).
        xaxis=dict(title="the model answered", type="category", tickangle=0 if max(map(len, labels)) <= 2 else -90),
        yaxis=dict(title="true class", type="category", autorange="reversed"),
    )


def clicked_cell(points: object, classes: int = 10) -> tuple[int, int] | None:
    """(true, predicted) of the cell a selection event names, from ``confusion_matrix``'s
    markers, which are laid out row by row; None for anything else. The event comes from the
    browser, so every part of it is checked."""
    if not isinstance(points, (list, tuple)):
        return None
    for point in points:
        if not isinstance(point, dict) or point.get("curve_number") != 1:
            continue
        index = point.get("point_index")
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < classes * classes:
            true, predicted = divmod(index, classes)
            return true, predicted
    return None


def per_class_accuracy(accuracy: np.ndarray, classes: tuple[str, ...], height: int = 280) -> go.Figure:
    worst = int(np.argmin(accuracy))
    fig = go.Figure(
        go.Bar(
            x=list(classes),
            y=[float(a) for a in accuracy],
            text=[f"{a:.0%}" for a in accuracy],
            textposition="outside",
            marker_color=[HIGHLIGHT if i == worst else MUTED for i in range(len(classes))],
            hovertemplate="%{x}: %{y:.1%} right<extra></extra>",
        )
    )
    return _layout(
        fig,
        height,
        yaxis=dict(range=[max(0.0, float(accuracy.min()) - 0.1), 1.05], tickformat=".0%", title="accuracy"),
        xaxis=dict(type="category"),
    )


def probability_spread(samples: np.ndarray, classes: tuple[str, ...], height: int = 320) -> go.Figure:
    """Monte-Carlo dropout: every pass's probability for every class as a dot, with a box
    around the middle half."""
    fig = go.Figure(
        [
            go.Box(
                y=samples[:, i],
                name=c,
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                marker=dict(size=4, color=PALETTE[0]),
                line=dict(color=MUTED),
                hovertemplate=f"{c}: %{{y:.1%}}<extra></extra>",
            )
            for i, c in enumerate(classes)
        ]
    )
    return _layout(
        fig,
        height,
        yaxis=dict(range=[-0.02, 1.02], tickformat=".0%", title="probability"),
        xaxis=dict(type="category"),
    )


def probability_lines(
    epochs: list[int], probabilities: np.ndarray, classes: tuple[str, ...], height: int = 320
) -> go.Figure:
    """Epoch replay: each class's probability for one input, epoch by epoch."""
    final = probabilities[-1] if len(probabilities) else np.zeros(len(classes))
    fig = go.Figure(
        [
            go.Scatter(
                x=epochs,
                y=probabilities[:, i],
                name=c,
                mode="lines+markers",
                line=dict(width=4 if i == int(final.argmax()) else 1.5, color=PALETTE[i % len(PALETTE)]),
                hovertemplate=f"{c}, epoch %{{x}}: %{{y:.1%}}<extra></extra>",
            )
            for i, c in enumerate(classes)
        ]
    )
    fig.update_layout(hovermode="x")
    return _layout(
        fig,
        height,
        legend=classes,
        yaxis=dict(range=[0, 1.02], tickformat=".0%", title="probability"),
        xaxis=dict(title="epoch", dtick=1 if len(epochs) <= 30 else None),
    )


def confidence_histogram(series: list[tuple[str, np.ndarray]], height: int = 300) -> go.Figure:
    """How sure a model is of its top answer, on its own kind of images and on others."""
    fig = go.Figure(
        [
            go.Histogram(
                x=values,
                name=label,
                xbins=dict(start=0, end=1.0001, size=0.05),
                histnorm="percent",
                opacity=0.7,
                marker_color=PALETTE[i % len(PALETTE)],
            )
            for i, (label, values) in enumerate(series)
        ]
    )
    fig.update_layout(barmode="overlay")
    return _layout(
        fig,
        height,
        legend=[label for label, _ in series],
        xaxis=dict(title="confidence in the top answer", tickformat=".0%", range=[0, 1.0]),
        yaxis=dict(title="% of images"),
    )
