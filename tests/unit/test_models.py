import pytest
import torch
from torch import nn

from mnistcore.models import ARCHS, build_model, count_parameters


@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_returns_ten_logits_per_image(arch):
    model = build_model(arch, dropout=0.2, mean=0.13, std=0.31).eval()
    logits = model(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5, 10)
    # Logits, for cross_entropy: neither probabilities (rows summing to one) nor log-probabilities
    # (rows whose exponentials sum to one).
    assert not torch.allclose(logits.sum(1), torch.ones(5), atol=1e-3)
    assert not torch.allclose(logits.logsumexp(1), torch.zeros(5), atol=1e-3)


def test_mlp_is_the_tutorials_784_256_128_64_10_network():
    linears = [m for m in build_model("mlp").modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 256), (256, 128), (128, 64), (64, 10)]
    assert count_parameters(build_model("mlp")) == 242_762


def test_mlp_dropout_after_each_hidden_layer_only_while_training():
    torch.manual_seed(0)
    model = build_model("mlp", dropout=0.2)
    x = torch.rand(512, 1, 28, 28)
    zeros = {}
    for name in ("fc2", "fc3", "fc4"):  # the inputs of these are the hidden layers' outputs
        getattr(model, name).register_forward_pre_hook(
            lambda m, args, name=name: zeros.__setitem__(name, (args[0] == 0).float().mean().item())
        )
    model.eval()
    model(x)
    eval_zeros = dict(zeros)
    model.train()
    model(x)
    for name in ("fc2", "fc3", "fc4"):  # a fifth of the live units are silenced, each layer
        assert zeros[name] - eval_zeros[name] == pytest.approx(0.2 * (1 - eval_zeros[name]), abs=0.04)
    model.eval()
    assert torch.equal(model(x), model(x))


def test_dropout_does_not_change_the_checkpoint_layout():
    assert build_model("mlp", 0.0).state_dict().keys() == build_model("mlp", 0.5).state_dict().keys()


def test_model_normalises_its_own_input():
    model = build_model("logreg", mean=0.5, std=0.25)
    assert torch.allclose(model.normalize(torch.full((1, 1, 28, 28), 0.75)), torch.ones(1, 1, 28, 28))
    assert model.state_dict()["mean"] == 0.5  # carried in every checkpoint


@pytest.mark.parametrize("arch, dropout", [("resnet", 0.0), ("mlp", 1.0), ("mlp", -0.1)])
def test_bad_model_arguments_are_refused(arch, dropout):
    with pytest.raises(ValueError):
        build_model(arch, dropout)
