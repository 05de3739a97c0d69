"""The Train page's charts, as a learner used to TensorBoard expects them."""

from mnistcore.charts import LEGEND_ROW, PALETTE, loss_curves


def epochs(n: int, start: float = 1.0) -> list[dict]:
    return [
        {"epoch": e, "train_loss": start / e, "val_loss": start / e + 0.1, "val_accuracy": 0.9, "is_best": e == n}
        for e in range(1, n + 1)
    ]


def test_hovering_an_epoch_shows_every_run_and_the_loss_axis_can_be_logarithmic():
    series = [("without dropout", epochs(5)), ("with dropout 0.5", epochs(5, 2.0))]
    linear, log = loss_curves(series, 25), loss_curves(series, 25, log_y=True)
    assert linear.layout.hovermode == "x unified"
    assert (linear.layout.yaxis.type, log.layout.yaxis.type) == ("linear", "log")
    assert log.layout.yaxis.title.text == "loss (log scale)"


def test_the_legend_sits_above_the_plot_and_a_dozen_runs_get_room_and_colours_of_their_own():
    two = loss_curves([(f"run {i}: without dropout", epochs(3)) for i in range(2)])
    dozen = loss_curves([(f"run {i}: without dropout", epochs(3)) for i in range(12)])
    assert dozen.layout.legend.yanchor == "bottom" and dozen.layout.legend.y >= 1  # never over the axes
    assert dozen.layout.height - two.layout.height == 5 * LEGEND_ROW  # 6 rows of 2 against 1: the plot keeps its size
    colours = {trace.line.color for trace in dozen.data if trace.showlegend is not False}
    assert len(colours) == 12 == len(PALETTE)
