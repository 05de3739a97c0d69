"""Plotly figures the pages show. Built here, not in the pages, so they are tested without a
browser and the CLI or a report can reuse them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

HIGHLIGHT = "#e4572e"
MUTED = "#9aa5b1"


def probability_bars(probabilities: np.ndarray, classes: tuple[str, ...], height: int = 300) -> go.Figure:
    """The ten class probabilities as bars, the top one highlighted."""
    top = int(np.argmax(probabilities))
    fig = go.Figure(go.Bar(
        x=list(classes), y=[float(p) for p in probabilities],
        marker_color=[HIGHLIGHT if i == top else MUTED for i in range(len(classes))],
        text=[f"{p:.0%}" if p >= 0.01 else "" for p in probabilities], textposition="outside",
        hovertemplate="%{x}: %{y:.1%}<extra></extra>",
    ))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), showlegend=False,
                      yaxis=dict(range=[0, 1.12], tickformat=".0%", title="probability"),
                      xaxis=dict(type="category", tickangle=0))
    return fig


def model_comparison(rows: list[tuple[str, np.ndarray]], classes: tuple[str, ...], height: int = 320) -> go.Figure:
    """Several models' probabilities for the same input, grouped by class."""
    fig = go.Figure([
        go.Bar(name=name, x=list(classes), y=[float(p) for p in probabilities],
               hovertemplate=f"{name}<br>%{{x}}: %{{y:.1%}}<extra></extra>")
        for name, probabilities in rows
    ])
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=10, b=10),
                      yaxis=dict(range=[0, 1.05], tickformat=".0%", title="probability"),
                      xaxis=dict(type="category"), legend=dict(orientation="h", y=1.12))
    return fig


def enlarge(image: np.ndarray, size: int = 168) -> np.ndarray:
    """A small float image in [0, 1] as crisp uint8 pixels (no blur), for showing a 28x28 input."""
    factor = max(1, size // max(image.shape))
    return (np.kron(np.clip(image, 0, 1), np.ones((factor, factor))) * 255).astype(np.uint8)


PALETTE = ("#1f77b4", "#e4572e", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f")


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def loss_curves(series: list[tuple[str, list[dict]]], epochs: int | None = None,
                height: int = 380) -> go.Figure:
    """Train loss solid, validation loss dashed, one colour per run; the gap between them
    shaded; the best epoch so far (the one early stopping keeps) starred. ``series`` holds
    (label, epoch rows as the history gives them)."""
    fig = go.Figure()
    for i, (label, rows) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        x = [r["epoch"] for r in rows]
        fig.add_scatter(x=x, y=[r["train_loss"] for r in rows], name=f"{label}: train", mode="lines+markers",
                        line=dict(color=colour), marker=dict(size=5), legendgroup=label)
        fig.add_scatter(x=x, y=[r["val_loss"] for r in rows], name=f"{label}: validation", mode="lines+markers",
                        line=dict(color=colour, dash="dash"), marker=dict(size=5), legendgroup=label,
                        fill="tonexty", fillcolor=_rgba(colour, 0.12))
        best_row = next((r for r in reversed(rows) if r["is_best"]), None)
        if best_row is not None:
            best = best_row["epoch"]
            fig.add_scatter(x=[best], y=[best_row["val_loss"]], name=f"{label}: best epoch {best}",
                            mode="markers", legendgroup=label,
                            marker=dict(symbol="star", size=16, color=colour, line=dict(color="black", width=1)))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), hovermode="x unified",
                      xaxis=dict(title="epoch", range=[0.5, (epochs or 1) + 0.5] if epochs else None),
                      # Not from zero: the upturn of the validation loss is what the class should see.
                      yaxis=dict(title="loss (cross-entropy)", range=None if any(r for _, r in series) else [0, 1]),
                      legend=dict(orientation="h", y=-0.2))
    return fig


def accuracy_curves(series: list[tuple[str, list[dict]]], epochs: int | None = None,
                    height: int = 260) -> go.Figure:
    fig = go.Figure()
    lowest = min((r["val_accuracy"] for _, rows in series for r in rows), default=0.5)
    for i, (label, rows) in enumerate(series):
        fig.add_scatter(x=[r["epoch"] for r in rows], y=[r["val_accuracy"] for r in rows], name=label,
                        mode="lines+markers", line=dict(color=PALETTE[i % len(PALETTE)]), marker=dict(size=5))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=10), hovermode="x unified",
                      xaxis=dict(title="epoch", range=[0.5, (epochs or 1) + 0.5] if epochs else None),
                      yaxis=dict(title="validation accuracy", tickformat=".0%",
                                 range=[max(0.0, min(lowest, 0.9) - 0.05), 1.0]),
                      legend=dict(orientation="h", y=-0.3))
    return fig
