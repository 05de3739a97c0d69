"""The Insight pages' computations: evaluation, what the network sees, snapshots, the report."""

import re

import numpy as np
import pytest
import torch

from mnistcore.cards import ModelCard
from mnistcore.charts import clicked_cell, confusion_matrix
from mnistcore.checkpoints import snapshots_path
from mnistcore.display import diverging, heat_overlay, tile
from mnistcore.evaluation import Evaluation, evaluate, loss_and_accuracy
from mnistcore.inside import conv_filters, feature_maps, first_layer_weights, mc_dropout, saliency
from mnistcore.models import build_model
from mnistcore.report import run_report
from mnistcore.snapshots import MAX_SNAPSHOTS, load_snapshots, replay, save_snapshots, take_snapshot, wants_snapshot
from mnistcore.training import TrainConfig, run_to_end, train

CLASSES = tuple(str(d) for d in range(10))


def one_hot_answers(pairs):
    """An Evaluation whose answer for each (true, said, confidence) is exactly that."""
    probabilities = []
    for _, said, confidence in pairs:
        p = np.full(10, (1 - confidence) / 9, np.float32)
        p[said] = confidence
        probabilities.append(p)
    return Evaluation(np.array(probabilities), np.array([t for t, _, _ in pairs]), loss=0.0)


def test_the_confusion_matrix_counts_true_classes_by_row_and_answers_by_column():
    ev = one_hot_answers([(3, 3, 0.9), (3, 5, 0.8), (3, 5, 0.99), (7, 7, 0.6), (7, 1, 0.7)])
    matrix = ev.confusion()
    assert matrix[3, 3] == 1 and matrix[3, 5] == 2 and matrix[7, 7] == 1 and matrix[7, 1] == 1
    assert matrix.sum() == 5
    assert ev.accuracy == pytest.approx(2 / 5)
    assert ev.per_class_accuracy()[3] == pytest.approx(1 / 3) and ev.per_class_accuracy()[7] == pytest.approx(0.5)
    assert ev.most_confused() == (3, 5)
    assert ev.cell(3, 5).tolist() == [2, 1]  # most confident first
    assert ev.confident_mistakes(2).tolist() == [2, 1]


def test_evaluate_in_batches_gives_the_whole_splits_loss_and_answers(tiny_data):
    result = run_to_end(train(TrainConfig(dataset="mnist", epochs=1, batch_size=32), data=tiny_data)).results[0]
    images, labels = tiny_data.val.images, tiny_data.val.labels
    ev = evaluate(result.model, images, labels, batch_size=64)
    device = next(result.model.parameters()).device  # trained on whatever device there is
    with torch.no_grad():
        logits = result.model(images.unsqueeze(1).float().to(device) / 255).cpu()
    assert ev.loss == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item(), rel=1e-5, abs=1e-6)
    assert ev.predictions.tolist() == logits.argmax(1).tolist()
    assert ev.probabilities.shape == (200, 10)
    np.testing.assert_allclose(ev.probabilities.sum(1), 1, rtol=1e-5)
    result.model.train()
    assert loss_and_accuracy(result.model, images, labels) == (pytest.approx(ev.loss, rel=1e-5), ev.accuracy)
    assert result.model.training  # loss_and_accuracy gives the mode back


def test_a_click_on_a_confusion_cell_names_that_cell():
    fig = confusion_matrix(np.arange(100).reshape(10, 10), CLASSES, selected=(2, 7))
    clickable = fig.data[1]
    for i, (x, y) in enumerate(zip(clickable.x, clickable.y, strict=True)):
        # What Streamlit reports for a click on that marker:
        point = {"curve_number": 1, "point_index": i, "x": x, "y": y}
        true, said = clicked_cell([point])
        assert (y, x) == (CLASSES[true], CLASSES[said])
    assert clicked_cell([{"curve_number": 0, "point_index": 3}]) is None and clicked_cell([]) is None
    frame = fig.layout.shapes[0]
    assert (frame.x0 + 0.5, frame.y0 + 0.5) == (7, 2)


def test_first_layer_weights_are_one_picture_per_unit():
    assert first_layer_weights(build_model("logreg")).shape == (10, 28, 28)
    assert first_layer_weights(build_model("mlp")).shape == (256, 28, 28)
    with pytest.raises(ValueError):
        first_layer_weights(build_model("cnn"))
    cnn = build_model("cnn").eval()
    assert conv_filters(cnn).shape == (16, 5, 5)
    first, second = feature_maps(cnn, torch.rand(1, 1, 28, 28))
    assert first.shape == (16, 14, 14) and second.shape == (32, 7, 7)


def test_saliency_of_logistic_regression_is_its_class_template():
    # For a linear model the gradient of a class score is that class's weights, whatever the input.
    torch.manual_seed(0)
    model = build_model("logreg").eval()
    x = torch.rand(1, 1, 28, 28)
    top = int(model(x).argmax())
    heat = saliency(model, x)
    template = model.fc.weight[top].detach().abs().reshape(28, 28).numpy()
    strongest = template > np.quantile(template, 0.99)
    assert heat.shape == (28, 28) and heat.max() == pytest.approx(1.0)
    assert (heat[strongest] == 1.0).all()
    assert np.corrcoef(heat.flatten(), np.minimum(template / np.quantile(template, 0.99), 1).flatten())[0, 1] > 0.999
    assert all(p.grad is None for p in model.parameters())  # the shared model keeps no gradient


def test_mc_dropout_spreads_the_answers_and_leaves_the_shared_model_alone():
    torch.manual_seed(0)
    model = build_model("mlp", dropout=0.5).eval()
    x = torch.rand(1, 1, 28, 28)
    before = model(x)
    samples = mc_dropout(model, x, passes=40)
    assert samples.shape == (40, 10)
    np.testing.assert_allclose(samples.sum(1), 1, rtol=1e-5)
    assert len({row.tobytes() for row in samples}) == 40  # every pass dropped other units
    assert np.array_equal(samples, mc_dropout(model, x, passes=40))  # reproducible
    assert torch.equal(model(x), before) and not model.mc_dropout
    with pytest.raises(ValueError, match="without dropout"):
        mc_dropout(build_model("mlp"), x)


def test_snapshots_are_taken_every_epoch_of_a_short_run_and_spaced_in_a_long_one():
    assert [e for e in range(1, 31) if wants_snapshot("mlp", e, 30)] == list(range(1, 31))
    assert len([e for e in range(1, 201) if wants_snapshot("mlp", e, 200)]) <= MAX_SNAPSHOTS
    assert not wants_snapshot("cnn", 1, 30)


def test_replay_gives_each_epochs_answer_for_one_input(tmp_path, tiny_data):
    config = TrainConfig(dataset="mnist", epochs=3, batch_size=32)
    snapshots, models = {}, []
    from mnistcore.training import EpochEnd

    for event in train(config, data=tiny_data):
        if isinstance(event, EpochEnd):
            snapshots[event.epoch] = take_snapshot(event.models[0])
            models.append({k: v.clone() for k, v in event.models[0].state_dict().items()})
    checkpoint = tmp_path / "run-1.pt"
    save_snapshots(checkpoint, snapshots)
    assert snapshots_path(checkpoint).is_file()
    card = ModelCard(dataset="mnist", arch="mlp", dropout=0.0)
    loaded = load_snapshots(checkpoint, card)
    x = torch.from_numpy(tiny_data.val.images[:1].numpy()).float().div(255).unsqueeze(1)
    epochs, probabilities = replay(card, loaded, x)
    assert epochs == [1, 2, 3] and probabilities.shape == (3, 10)
    model = build_model("mlp").eval()
    for row, state in zip(probabilities, models, strict=True):
        model.load_state_dict(state)
        exact = torch.softmax(model(x), 1)[0].detach().numpy()
        np.testing.assert_allclose(row, exact, atol=0.02)  # half precision is close enough to show
    assert load_snapshots(tmp_path / "none.pt", card) == {}


def test_the_report_is_one_self_contained_page_with_the_runs_numbers():
    ev = one_hot_answers([(3, 3, 0.9), (3, 5, 0.8), (7, 7, 0.6), (7, 1, 0.97)])
    images = np.zeros((4, 28, 28), np.uint8)
    card = ModelCard.from_dict(
        {
            "dataset": "mnist",
            "arch": "mlp",
            "dropout": 0.2,
            "best_epoch": 2,
            "epochs_trained": 3,
            "config": {"dataset": "mnist", "arch": "mlp", "dropout": 0.2, "epochs": 3, "lr": 0.003},
            "history": [
                {
                    "epoch": e,
                    "train_loss": 1 / e,
                    "val_loss": 1 / e + 0.1,
                    "val_accuracy": 0.8,
                    "seconds": 1.0,
                    "is_best": e == 2,
                }
                for e in (1, 2, 3)
            ],
        }
    )
    page = run_report("<script>alert(1)</script>", card, ev, images)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "50.00%" in page and "epoch 2" in page and "0.003" in page
    assert page.count('<img src="data:image/png;base64,') == 2  # the two mistakes, inline
    assert "said <b>1</b> (97%)" in page
    assert len(re.findall(r"Plotly\.newPlot", page)) == 4  # loss, accuracy, confusion, per class
    assert not re.search(r"<script[^>]*\bsrc=", page) and "plotly.js v" in page  # inline: opens offline


def test_pictures():
    w = np.array([[1.0, -1.0, 0.0]])
    rgb = diverging(w)
    assert rgb[0, 0].tolist() == [1, 0, 0] and rgb[0, 1].tolist() == [0, 0, 1] and rgb[0, 2].tolist() == [1, 1, 1]
    over = heat_overlay(np.ones((2, 2)), np.array([[0.0, 1.0], [0.0, 0.0]]))
    assert over.shape == (2, 2, 3) and over[0, 1, 0] > over[0, 0, 0] * 0.99 and over[0, 1, 2] < over[0, 0, 2]
    grid = tile(np.ones((5, 4, 4)), columns=3, scale=2, gap=1)
    assert grid.shape == (2 * 9 + 1, 3 * 9 + 1) and grid.dtype == np.uint8
