"""APGD-CE and PGD against implementations zeroshift did not write, from the same random start.

* APGD against a test-only, statement-by-statement port of AutoAttack's ``APGDAttack`` (``perturb`` with one
  restart and ``attack_single_run``, CE loss, L-inf and L2);
* PGD against Madry et al.'s loop written out plainly (uniform start in the box, signed-gradient steps, clip to the
  box and to [0, 1]; for L2 the normalised-gradient step and the ball projection).

Both run on a small random conv net over several hundred images (some of them labelled wrongly, so the clean
classifier already fails on them) at three radii, fp32 on CPU; the oracles get the random start from the same
per-image generators (``torch.Generator().manual_seed(seed)``, as ``zeroshift.shifts.attacks`` documents).
Robust accuracy must be equal and the adversarial images equal up to float round-off.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from zeroshift.shifts.attacks import APGD, PGD


def small_net(seed: int = 0, classes: int = 10) -> torch.nn.Module:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, padding=1, stride=2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(16 * 8 * 8, classes),
    ).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def images_and_labels(n: int, seed: int = 0, net: torch.nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random 16x16 images; labels = the net's prediction, one in six replaced by another class."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=g)
    x = F.interpolate(coarse, size=16, mode="bilinear", align_corners=False).clamp(0, 1)
    with torch.no_grad():
        labels = net(x).argmax(dim=1)
    wrong = torch.arange(n) % 6 == 5
    labels[wrong] = (labels[wrong] + 1 + torch.randint(0, 8, (int(wrong.sum()),), generator=g)) % 10
    return x, labels


def start_noise(seeds: list[int], shape: tuple[int, ...], kind: str) -> torch.Tensor:
    """Each image's own generator: uniform in [-1, 1] (L-inf) or standard normal (L2)."""
    rows = []
    for s in seeds:
        g = torch.Generator().manual_seed(s)
        rows.append(torch.rand(shape, generator=g) * 2 - 1 if kind == "uniform" else torch.randn(shape, generator=g))
    return torch.stack(rows)


# --- test-only port ---------------------------------------------------------------------------------------------
# PORT (test oracle only, not used by zeroshift): APGDAttack.attack_single_run and APGDAttack.perturb
# (best_loss=False, n_restarts=1, loss='ce', eot_iter=1, norms 'Linf' and 'L2') from
# https://github.com/fra31/auto-attack/blob/master/autoattack/autopgd_base.py, statement by statement. Changes:
# attributes became arguments; the start ``t = 2 * torch.rand(x.shape) - 1`` / ``torch.randn(x.shape)`` comes from
# ``noise(indices)`` so both implementations start from the same point; the verbose, L1, tf and largereps branches
# are left out.


class PortAPGD:
    def __init__(self, model, n_iter=100, norm="Linf", eps=None, rho=0.75):
        self.model = model
        self.n_iter = n_iter
        self.eps = eps
        self.norm = norm
        self.thr_decr = rho
        self.device = "cpu"

    def init_hyperparam(self, x):
        self.orig_dim = list(x.shape[1:])
        self.ndims = len(self.orig_dim)
        self.n_iter_2 = max(int(0.22 * self.n_iter), 1)
        self.n_iter_min = max(int(0.06 * self.n_iter), 1)
        self.size_decr = max(int(0.03 * self.n_iter), 1)

    def check_oscillation(self, x, j, k, y5, k3=0.75):
        t = torch.zeros(x.shape[1]).to(self.device)
        for counter5 in range(k):
            t += (x[j - counter5] > x[j - counter5 - 1]).float()
        return (t <= k * k3 * torch.ones_like(t)).float()

    def normalize(self, x):
        if self.norm == "Linf":
            t = x.abs().view(x.shape[0], -1).max(1)[0]
            return x / (t.view(-1, *([1] * self.ndims)) + 1e-12)
        t = (x**2).view(x.shape[0], -1).sum(-1).sqrt()
        return x / (t.view(-1, *([1] * self.ndims)) + 1e-12)

    def lp_norm(self, x):
        t = (x**2).view(x.shape[0], -1).sum(-1).sqrt()
        return t.view(-1, *([1] * self.ndims))

    def attack_single_run(self, x, y, t):
        x_adv = x + self.eps * torch.ones_like(x).detach() * self.normalize(t)
        x_adv = x_adv.clamp(0.0, 1.0)
        x_best = x_adv.clone()
        x_best_adv = x_adv.clone()
        loss_steps = torch.zeros([self.n_iter, x.shape[0]]).to(self.device)
        loss_best_steps = torch.zeros([self.n_iter + 1, x.shape[0]]).to(self.device)
        acc_steps = torch.zeros_like(loss_best_steps)
        criterion_indiv = torch.nn.CrossEntropyLoss(reduction="none")
        x_adv.requires_grad_()
        grad = torch.zeros_like(x)
        with torch.enable_grad():
            logits = self.model(x_adv)
            loss_indiv = criterion_indiv(logits, y)
            loss = loss_indiv.sum()
        grad += torch.autograd.grad(loss, [x_adv])[0].detach()
        grad /= 1.0
        grad_best = grad.clone()
        acc = logits.detach().max(1)[1] == y
        acc_steps[0] = acc + 0
        loss_best = loss_indiv.detach().clone()
        alpha = 2.0
        step_size = alpha * self.eps * torch.ones([x.shape[0], *([1] * self.ndims)]).to(self.device).detach()
        x_adv_old = x_adv.clone()
        k = self.n_iter_2 + 0
        counter3 = 0
        loss_best_last_check = loss_best.clone()
        reduced_last_check = torch.ones_like(loss_best)
        for i in range(self.n_iter):
            with torch.no_grad():
                x_adv = x_adv.detach()
                grad2 = x_adv - x_adv_old
                x_adv_old = x_adv.clone()
                a = 0.75 if i > 0 else 1.0
                if self.norm == "Linf":
                    x_adv_1 = x_adv + step_size * torch.sign(grad)
                    x_adv_1 = torch.clamp(torch.min(torch.max(x_adv_1, x - self.eps), x + self.eps), 0.0, 1.0)
                    x_adv_1 = torch.clamp(
                        torch.min(
                            torch.max(x_adv + (x_adv_1 - x_adv) * a + grad2 * (1 - a), x - self.eps), x + self.eps
                        ),
                        0.0,
                        1.0,
                    )
                elif self.norm == "L2":
                    x_adv_1 = x_adv + step_size * self.normalize(grad)
                    x_adv_1 = torch.clamp(
                        x
                        + self.normalize(x_adv_1 - x)
                        * torch.min(self.eps * torch.ones_like(x).detach(), self.lp_norm(x_adv_1 - x)),
                        0.0,
                        1.0,
                    )
                    x_adv_1 = x_adv + (x_adv_1 - x_adv) * a + grad2 * (1 - a)
                    x_adv_1 = torch.clamp(
                        x
                        + self.normalize(x_adv_1 - x)
                        * torch.min(self.eps * torch.ones_like(x).detach(), self.lp_norm(x_adv_1 - x)),
                        0.0,
                        1.0,
                    )
                x_adv = x_adv_1 + 0.0
            x_adv.requires_grad_()
            grad = torch.zeros_like(x)
            with torch.enable_grad():
                logits = self.model(x_adv)
                loss_indiv = criterion_indiv(logits, y)
                loss = loss_indiv.sum()
            grad += torch.autograd.grad(loss, [x_adv])[0].detach()
            grad /= 1.0
            pred = logits.detach().max(1)[1] == y
            acc = torch.min(acc, pred)
            acc_steps[i + 1] = acc + 0
            ind_pred = (pred == 0).nonzero().squeeze()
            x_best_adv[ind_pred] = x_adv[ind_pred] + 0.0
            with torch.no_grad():
                y1 = loss_indiv.detach().clone()
                loss_steps[i] = y1 + 0
                ind = (y1 > loss_best).nonzero().squeeze()
                x_best[ind] = x_adv[ind].clone()
                grad_best[ind] = grad[ind].clone()
                loss_best[ind] = y1[ind] + 0
                loss_best_steps[i + 1] = loss_best + 0
                counter3 += 1
                if counter3 == k:
                    fl_oscillation = self.check_oscillation(loss_steps, i, k, loss_best, k3=self.thr_decr)
                    fl_reduce_no_impr = (1.0 - reduced_last_check) * (loss_best_last_check >= loss_best).float()
                    fl_oscillation = torch.max(fl_oscillation, fl_reduce_no_impr)
                    reduced_last_check = fl_oscillation.clone()
                    loss_best_last_check = loss_best.clone()
                    if fl_oscillation.sum() > 0:
                        ind_fl_osc = (fl_oscillation > 0).nonzero().squeeze()
                        step_size[ind_fl_osc] /= 2.0
                        x_adv[ind_fl_osc] = x_best[ind_fl_osc].clone()
                        grad[ind_fl_osc] = grad_best[ind_fl_osc].clone()
                    k = max(k - self.size_decr, self.n_iter_min)
                    counter3 = 0
        return (x_best, acc, loss_best, x_best_adv)

    def perturb(self, x, y, noise):
        self.init_hyperparam(x)
        x = x.detach().clone().float().to(self.device)
        y_pred = self.model(x).max(1)[1]
        y = y.detach().clone().long().to(self.device)
        adv = x.clone()
        acc = y_pred == y
        ind_to_fool = acc.nonzero().squeeze()
        if len(ind_to_fool.shape) == 0:
            ind_to_fool = ind_to_fool.unsqueeze(0)
        if ind_to_fool.numel() != 0:
            x_to_fool = x[ind_to_fool].clone()
            y_to_fool = y[ind_to_fool].clone()
            res_curr = self.attack_single_run(x_to_fool, y_to_fool, noise(ind_to_fool))
            best_curr, acc_curr, loss_curr, adv_curr = res_curr
            ind_curr = (acc_curr == 0).nonzero().squeeze()
            acc[ind_to_fool[ind_curr]] = 0
            adv[ind_to_fool[ind_curr]] = adv_curr[ind_curr].clone()
        return adv


# --- end of port ------------------------------------------------------------------------------------------------


def madry_pgd(model, x, y, eps, steps, step_size, start):
    """Madry et al.'s L-inf PGD: start in the box, signed-gradient ascent on CE, clip to the box and to [0, 1]."""
    x_adv = torch.clamp(x + eps * start, 0, 1)
    for _ in range(steps):
        x_adv = x_adv.clone().requires_grad_(True)
        loss = F.cross_entropy(model(x_adv), y)  # the mean: the sign of the gradient is that of the sum
        (g,) = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + step_size * g.sign()
        x_adv = torch.clamp(torch.min(torch.max(x_adv, x - eps), x + eps), 0, 1)
    return x_adv


def l2_pgd(model, x, y, eps, steps, step_size, direction, radius):
    """L2 PGD: start at ``radius * eps`` along ``direction``; normalised-gradient steps; project onto the ball."""
    unit = direction / direction.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    x_adv = torch.clamp(x + unit * radius.view(-1, 1, 1, 1) * eps, 0, 1)
    for _ in range(steps):
        x_adv = x_adv.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(model(x_adv), y, reduction="sum"), x_adv)
        x_adv = x_adv.detach() + step_size * g / g.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        delta = x_adv - x
        scale = (eps / delta.flatten(1).norm(dim=1)).clamp(max=1.0).view(-1, 1, 1, 1)
        x_adv = torch.clamp(x + delta * scale, 0, 1)
    return x_adv


def robust_accuracy(net, adv, labels) -> float:
    with torch.no_grad():
        return float((net(adv).argmax(dim=1) == labels).float().mean())


N_IMAGES = 300
SEEDS = [1000 + i for i in range(N_IMAGES)]


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)  # the same kernels for both implementations, whatever the batch size
    net = small_net()
    x, labels = images_and_labels(N_IMAGES, net=net)
    return net, x, labels


@pytest.mark.parametrize(
    ("norm", "radii"), [("linf", (0.5 / 255, 1 / 255, 2 / 255)), ("l2", (0.05, 0.1, 0.2))], ids=["linf", "l2"]
)
def test_apgd_equals_autoattack_from_the_same_start(setup, norm, radii):
    net, x, labels = setup
    seeds = torch.tensor(SEEDS)
    kind = "uniform" if norm == "linf" else "normal"
    accuracies = []
    for eps in radii:
        ours = APGD(eps=eps, norm=norm, steps=25).attack(net, x, labels, SEEDS)
        port = PortAPGD(net, n_iter=25, norm="Linf" if norm == "linf" else "L2", eps=eps)
        theirs = port.perturb(x, labels, lambda idx: start_noise(seeds[idx].tolist(), tuple(x.shape[1:]), kind))
        acc = robust_accuracy(net, ours, labels)
        assert acc == robust_accuracy(net, theirs, labels), eps
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
        accuracies.append(acc)
    # the radii span the interesting range: some images resist, many do not, and more fall as eps grows
    clean = robust_accuracy(net, x, labels)
    assert clean > accuracies[0] > accuracies[-1] > 0.0, (clean, accuracies)


def test_pgd_equals_madry_from_the_same_start(setup):
    net, x, labels = setup
    accuracies = []
    for eps in (0.5 / 255, 1 / 255, 2 / 255):
        ours = PGD(eps=eps, steps=10).attack(net, x, labels, SEEDS)
        theirs = madry_pgd(net, x, labels, eps, 10, 2.5 * eps / 10, start_noise(SEEDS, tuple(x.shape[1:]), "uniform"))
        acc = robust_accuracy(net, ours, labels)
        assert acc == robust_accuracy(net, theirs, labels), eps
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
        accuracies.append(acc)
    assert robust_accuracy(net, x, labels) > accuracies[0] > accuracies[-1] > 0.0, accuracies


def test_l2_pgd_equals_the_plain_loop_from_the_same_start(setup):
    net, x, labels = setup
    direction = start_noise(SEEDS, tuple(x.shape[1:]), "normal")
    radius = start_noise([s + 1 for s in SEEDS], (1, 1, 1), "uniform").abs().flatten()
    for eps in (0.05, 0.1, 0.2):
        ours = PGD(eps=eps, norm="l2", steps=10).attack(net, x, labels, SEEDS)
        theirs = l2_pgd(net, x, labels, eps, 10, 2.5 * eps / 10, direction, radius)
        assert robust_accuracy(net, ours, labels) == robust_accuracy(net, theirs, labels), eps
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_apgd_equals_autoattack_on_a_zoo_model_with_the_default_schedule():
    """The shipped supervised zoo CNN on 300 rendered FactorWorld test images, APGD's default 100 steps."""
    from zeroshift.zoo.nets import build_model
    from zeroshift.zoo.train import MEAN, STD, read_weights, render_set, shipped_dir

    state, config = read_weights(shipped_dir() / "sup-cnn-small.safetensors")
    model = build_model(config)
    model.load_state_dict(state)

    class Pixels(torch.nn.Module):  # [0, 1] pixels -> the zoo's normalisation -> logits
        def forward(self, x):
            return model((x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1))

    net = Pixels().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    data = render_set("test", 0, N_IMAGES, cache=False)
    x, labels = data.images.float() / 255.0, data.labels
    seeds = torch.tensor(SEEDS)
    accuracies = []
    for eps in (0.5 / 255, 1 / 255, 2 / 255):
        ours = APGD(eps=eps).attack(net, x, labels, SEEDS)
        port = PortAPGD(net, n_iter=100, norm="Linf", eps=eps)
        theirs = port.perturb(x, labels, lambda idx: start_noise(seeds[idx].tolist(), tuple(x.shape[1:]), "uniform"))
        acc = robust_accuracy(net, ours, labels)
        assert acc == robust_accuracy(net, theirs, labels), eps
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
        accuracies.append(acc)
    assert robust_accuracy(net, x, labels) > accuracies[0] > accuracies[-1], accuracies
