"""The class's experiment on one chart, for the teacher to project: every student's validation
curve, faint, and each group's mean over them, bold, with the spread of the group shaded."""

from __future__ import annotations

import math

import plotly.graph_objects as go

from .charts import PALETTE, _layout, _rgba
from .classroom import Group

FONT_SIZE = 18  # read from the back of the room
LEGEND_ROW = 36  # px a row of legend entries takes at that size
BANDS = {"minmax": "lowest to highest run", "sd": "one standard deviation either side"}  # as a teacher picks one


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def class_curves(groups: list[Group], band: str = "minmax", height: int = 480) -> go.Figure:
    """For each group, in its own colour: every run's validation loss as a thin faint line,
    the group's mean as a thick one, and a shaded band from the lowest to the highest run
    (``band="minmax"``) or one standard deviation either side of the mean (``"sd"``). The
    legend has one entry per group, with how many runs it holds; hovering an epoch shows
    each group's mean there."""
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}")
    fig = go.Figure()
    names = []
    for i, group in enumerate(groups):
        colour, name = PALETTE[i % len(PALETTE)], f"{group.label} ({_runs(len(group.runs))})"
        names.append(name)
        for run in group.runs:
            fig.add_scatter(
                x=[e["epoch"] for e in run.epochs],
                y=[e["val_loss"] for e in run.epochs],
                mode="lines",
                line=dict(color=_rgba(colour, 0.25), width=1),
                legendgroup=name,
                showlegend=False,
                hoverinfo="skip",
            )
        if band == "sd":
            low = [m - s for m, s in zip(group.mean, group.sd, strict=True)]
            high = [m + s for m, s in zip(group.mean, group.sd, strict=True)]
        else:
            low, high = group.low, group.high
        # The band: an invisible lower edge, then the upper edge filled down to it ("tonexty"
        # fills to the trace added just before).
        fig.add_scatter(
            x=group.epochs,
            y=low,
            mode="lines",
            line=dict(width=0),
            legendgroup=name,
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=group.epochs,
            y=high,
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor=_rgba(colour, 0.2),
            legendgroup=name,
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=group.epochs,
            y=group.mean,
            name=name,
            mode="lines",
            line=dict(color=colour, width=5),
            legendgroup=name,
            customdata=[_runs(n) for n in group.count],
            hovertemplate=f"{group.label}: %{{y:.3f}} (mean of %{{customdata}})<extra></extra>",
        )
    longest = max((e for g in groups for e in g.epochs), default=0)
    loss_axis = dict(title="validation loss")
    if not longest:
        loss_axis["range"] = [0, 1]
    _layout(
        fig,
        height,
        legend=names,
        xaxis=dict(title="epoch", dtick=1 if longest <= 30 else None, range=[0.5, longest + 0.5] if longest else None),
        yaxis=loss_axis,
    )
    # Every entry ("without dropout (12 runs)") is long enough that _layout puts two to a row;
    # at this font size a row is taller than it allows for, and one group keeps its entry too.
    rows = math.ceil(len(names) / 2)
    # Each size named: a page's chart theme sets the legend's and the axes' own, smaller ones.
    big = dict(size=FONT_SIZE)
    fig.update_xaxes(tickfont=big, title_font=big)
    fig.update_yaxes(tickfont=big, title_font=big)
    fig.update_layout(
        font=big,
        legend_font=big,
        hoverlabel_font=big,
        showlegend=bool(names),
        height=height + rows * LEGEND_ROW,
        margin=dict(l=10, r=10, t=10 + rows * LEGEND_ROW, b=10),
        hovermode="x unified",
    )
    return fig
