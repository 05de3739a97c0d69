"""The drawing pad of the Draw page: a Streamlit component of our own, because the drawing
canvas on PyPI has a toolbar whose pencil is its select tool, and a child who taps it drags
strokes around instead of drawing. This one only draws, by finger, pen or mouse, and shrinks
to fit a narrow column."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent
_pad = st.components.v2.component(
    "mnistcore.drawing_pad",
    html=(
        '<div class="pad"><canvas role="img" aria-label="Drawing pad: draw one digit here"></canvas>'
        '<div class="tools"><button type="button" data-undo>&#x21B6; Undo</button>'
        '<button type="button" data-clear>&#x2715; Clear the canvas</button></div></div>'
    ),
    css=(HERE / "drawing_pad.css").read_text(),
    js=(HERE / "drawing_pad.js").read_text(),
)


def drawing_pad(side: int, brush: int, key: str) -> None:
    """A ``side`` x ``side`` pad with its own Undo and Clear buttons. Its state, {"drawing": a
    PNG data: URL or None}, is in ``st.session_state[key]`` as the browser sent it: read it with
    image_reader.read_canvas."""
    _pad(
        data={"side": side, "brush": brush},
        key=key,
        default={"drawing": None},
        on_drawing_change=lambda: None,  # a change reruns the fragment the pad is in
        width="stretch",
        height="content",
    )
