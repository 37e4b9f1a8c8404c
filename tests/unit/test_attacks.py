"""Attacks against hand-computed cases: tiny linear classifiers whose gradients are known in closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zeroshift.errors import SpecError, UsageError
from zeroshift.shifts import make_shift
from zeroshift.shifts.attacks import APGD, FGSM, PGD, canonical_eps, loss_and_grad, minimal_epsilon, parse_eps


class Linear(torch.nn.Module):
    """logits = W @ flatten(x) + b, on (B, 3, 2, 2) pixels."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.as_tensor(weight, dtype=torch.float32), requires_grad=False)
        self.bias = torch.nn.Parameter(torch.as_tensor(bias, dtype=torch.float32), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.weight.T + self.bias


class Normalize(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 0.5) / 0.25


def tiny_convnet(seed: int = 0, classes: int = 5) -> torch.nn.Module:
    """A small random conv net on (B, 3, 8, 8) pixels whose predictions vary with the input."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        Normalize(),
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(512, classes),
    ).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


@pytest.fixture
def linear():
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(3, 12))
    bias = rng.normal(size=3) * 0.1
    x = torch.as_tensor(rng.uniform(0.3, 0.7, size=(4, 3, 2, 2)), dtype=torch.float32)
    labels = torch.tensor([0, 1, 2, 1])
    return Linear(weight, bias), weight, bias, x, labels


def analytic_grad(weight, bias, x, cls, targeted=False):
    """d CE(softmax(Wx + b), cls) / dx = (softmax - onehot(cls)) @ W, per sample (minus that when targeted)."""
    flat = x.flatten(1).double().numpy()
    z = flat @ weight.T + bias
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(weight.shape[0])[cls.numpy()]
    g = (p - onehot) @ weight
    return (-g if targeted else g).reshape(x.shape)


def test_gradient_of_one_step_matches_the_hand_computed_case(linear):
    model, weight, bias, x, labels = linear
    _, grad, _ = loss_and_grad(model, x, labels, None)
    np.testing.assert_allclose(grad.numpy(), analytic_grad(weight, bias, x, labels), rtol=1e-5, atol=1e-6)
    targets = torch.tensor([2, 0, 1, 0])
    _, grad_t, _ = loss_and_grad(model, x, labels, targets)
    np.testing.assert_allclose(grad_t.numpy(), analytic_grad(weight, bias, x, targets, True), rtol=1e-5, atol=1e-6)
    # the FGSM step follows the sign of that gradient exactly
    eps = 0.05
    adv = FGSM(eps=eps).perturb(model, x, labels, torch.full((4,), eps), [0, 1, 2, 3])
    expected = np.clip(x.numpy() + eps * np.sign(analytic_grad(weight, bias, x, labels)), 0, 1)
    np.testing.assert_allclose(adv.numpy(), expected, atol=1e-7)
    # an untargeted step raises the loss of the true class, a targeted one raises the target's score
    with torch.no_grad():
        before, after = model(x), model(adv)
    ce = torch.nn.functional.cross_entropy
    assert (ce(after, labels, reduction="none") > ce(before, labels, reduction="none")).all()


def test_fgsm_equals_one_pgd_step_without_random_start():
    net = tiny_convnet()
    x = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    labels = net(x).argmax(dim=1)
    for eps in (1 / 255, 4 / 255, 0.1):
        e = torch.full((6,), eps)
        fgsm = FGSM(eps=eps).perturb(net, x, labels, e, list(range(6)))
        pgd = PGD(eps=eps, steps=1, step_size=eps, random_start=False).perturb(net, x, labels, e, list(range(6)))
        assert torch.equal(fgsm, pgd)
        assert not torch.equal(fgsm, x)


@pytest.mark.parametrize("attack", [PGD(eps=0.0), PGD(eps=0.0, norm="l2"), APGD(eps=0.0, steps=5), FGSM(eps=0.0)])
def test_eps_zero_leaves_the_pixels_unchanged(attack):
    net = tiny_convnet()
    x = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    labels = torch.tensor([0, 1, 2, 3])
    assert torch.equal(attack.attack(net, x, labels, [1, 2, 3, 4]), x)


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("cls", [PGD, APGD])
def test_perturbations_stay_in_the_ball_and_in_the_image_range(cls, norm):
    net = tiny_convnet()
    x = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    x[0] = 0.0  # saturated images must stay in [0, 1]
    labels = net(x).argmax(dim=1)
    eps = torch.tensor([0.0, 0.01, 0.05, 0.2, 1.0]) if norm == "linf" else torch.tensor([0.0, 0.1, 0.5, 1.0, 3.0])
    adv = cls(eps=1.0, norm=norm, steps=6).perturb(net, x, labels, eps, [5, 6, 7, 8, 9])
    delta = (adv - x).flatten(1)
    size = delta.abs().amax(dim=1) if norm == "linf" else delta.norm(dim=1)
    assert (size <= eps + 1e-5).all(), (size, eps)
    assert adv.min() >= 0 and adv.max() <= 1
    assert (size[2:] > 0).all()


def test_random_start_depends_on_the_image_seed_not_on_the_batch():
    net = tiny_convnet()
    x = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    labels = net(x).argmax(dim=1)
    pgd = PGD(eps=8 / 255, steps=2)
    e = torch.full((3,), 8 / 255)
    whole = pgd.perturb(net, x, labels, e, [11, 22, 33])
    alone = pgd.perturb(net, x[2:], labels[2:], e[2:], [33])
    assert torch.equal(whole[2:], alone)
    assert not torch.equal(whole[2:], pgd.perturb(net, x[2:], labels[2:], e[2:], [34]))


def test_attacks_lower_accuracy_and_do_not_raise_it_as_eps_grows():
    net = tiny_convnet(seed=1)
    x = torch.rand(16, 3, 8, 8, generator=torch.Generator().manual_seed(5))
    labels = net(x).argmax(dim=1)  # the clean accuracy is 1 by construction
    for attack, scale in (("pgd(steps=5)", 1), ("apgd(steps=10)", 1), ("pgd(norm='l2', steps=5)", 10)):
        accuracy = []
        for eps in (0.0, 0.005, 0.01, 0.02, 0.05):
            shift = make_shift(f"{attack[:-1]}, eps={eps * scale})")
            adv = shift.attack(net, x, labels, list(range(16)))
            accuracy.append(float((net(adv).argmax(dim=1) == labels).float().mean()))
        assert accuracy[0] == 1.0
        assert all(b <= a for a, b in zip(accuracy, accuracy[1:], strict=False)), (attack, accuracy)
        assert accuracy[-1] < 0.5, (attack, accuracy)


def test_targeted_attack_reaches_its_target():
    model = Linear(np.eye(3, 12) * 5, np.zeros(3))
    x = torch.full((3, 3, 2, 2), 0.5)
    x.view(3, -1)[torch.arange(3), torch.arange(3)] = 0.6  # image i is class i by a margin of 0.5
    labels = torch.arange(3)
    targets = torch.tensor([1, 2, 0])
    adv = PGD(eps=0.2, steps=20, target="random").perturb(model, x, labels, torch.full((3,), 0.2), [1, 2, 3], targets)
    assert torch.equal(model(adv).argmax(dim=1), targets)


def test_minimal_epsilon_finds_the_analytic_boundary_of_a_linear_classifier():
    # two classes: FGSM moves every pixel by eps against w = w_true - w_other, so the decision flips when
    # eps * ||w||_1 exceeds the margin w . x + (b_true - b_other) (no clipping: pixels stay inside [0, 1])
    rng = np.random.default_rng(7)
    weight = rng.normal(size=(2, 12))
    bias = np.array([0.3, -0.2])
    model = Linear(weight, bias)
    x = torch.as_tensor(rng.uniform(0.45, 0.55, size=(6, 3, 2, 2)), dtype=torch.float32)
    logits = model(x)
    labels = logits.argmax(dim=1)
    labels[0] = 1 - labels[0]  # sample 0 starts misclassified: its minimal eps is 0
    w = weight[labels.numpy()] - weight[1 - labels.numpy()]
    margin = (x.flatten(1).double().numpy() * w).sum(axis=1) + bias[labels.numpy()] - bias[1 - labels.numpy()]
    analytic = margin / np.abs(w).sum(axis=1)
    eps_max, steps = 0.315, 20  # x +- eps_max stays inside [0.1, 0.9]: no clipping; some boundaries lie beyond
    found = minimal_epsilon(FGSM(eps=eps_max), model, x, labels, list(range(6)), eps_max, steps).numpy()
    assert found[0] == 0.0
    for i in range(1, 6):
        if analytic[i] > eps_max:
            assert found[i] == np.inf
        else:
            assert analytic[i] - 1e-6 <= found[i] <= analytic[i] + eps_max / 2**steps + 1e-6, (i, found, analytic)
    assert np.isfinite(found[1:]).any() and np.isinf(found[1:]).any()


def test_a_model_without_gradients_is_refused_with_one_line():
    class Frozen(torch.nn.Module):
        spec = "frozen:model"

        def forward(self, x):
            with torch.no_grad():
                return x.flatten(1)[:, :3] * 2

    net = Frozen()
    net.model = net
    with pytest.raises(UsageError, match="gives no gradients"):
        FGSM(eps=0.1).attack(net, torch.rand(2, 3, 2, 2), torch.tensor([0, 1]), [0, 1])


def test_eps_parsing_and_canonical_specs():
    assert parse_eps("4/255") == 4 / 255 and parse_eps(" 1 / 255 ") == 1 / 255 and parse_eps(0) == 0.0
    assert canonical_eps(4 / 255) == "4/255" and canonical_eps(0.03) == 0.03
    assert make_shift("pgd(eps=0.01568627450980392)").canonical == make_shift("pgd(eps='4/255')").canonical
    assert make_shift("fgsm").canonical == "fgsm(eps='4/255', target=None)"
    for bad, message in [
        ("pgd(eps=-0.01)", "non-negative"),
        ("pgd(eps='-1/255')", "non-negative"),
        ("fgsm(eps='x')", "number or a fraction"),
        ("pgd(eps='1/0')", "number or a fraction"),
        ("pgd(norm='l1')", "norm must be"),
        ("fgsm(norm='l2')", "unknown parameter 'norm'"),
        ("pgd(steps=0)", "steps must be"),
        ("apgd(target='best')", "target must be"),
        ("pgd(random_start=1)", "random_start"),
        ("pgd(step_size=-1)", "non-negative"),
    ]:
        with pytest.raises(SpecError, match=message):
            make_shift(bad)
