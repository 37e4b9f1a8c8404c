"""Adversarial attacks on the whole classifier: FGSM, PGD (L-inf, L2; random start) and APGD-CE.

The attacked function is the engine's :class:`~zeroshift.engine.outputs.Classifier` (pixels in [0, 1] ->
normalisation -> image encoder -> text head -> label space, or a fixed-head classifier's logits), so an attack
changes exactly the pixels the model sees, within an L-inf or L2 ball of radius ``eps`` in [0, 1] pixel units,
and the result is clipped to [0, 1]. Untargeted attacks ascend the cross-entropy of the true label; targeted ones
(``target='random'``: another class drawn per image; ``'least_likely'``: the lowest-scoring class on the clean
image) descend the cross-entropy of the target. Every random start draws from a generator seeded per image, so
results do not depend on batch composition.

* ``fgsm(eps)``: one signed-gradient step of size ``eps`` (Goodfellow et al. 2015).
* ``pgd(eps, norm, steps, step_size, random_start)``: projected gradient descent (Madry et al. 2018); the step
  size defaults to ``2.5 * eps / steps``; returns the last iterate.
* ``apgd(eps, norm, steps)``: APGD-CE (Croce & Hein 2020), step-size halving at checkpoints with momentum 0.75,
  as AutoAttack runs it: returns the last iterate that fools the model, else the clean image; images the clean
  model already gets wrong are not attacked.

``eps`` may be written ``'4/255'``; floats that are exact multiples of 1/255 are written that way in the canonical
spec. :func:`minimal_epsilon` bisects, per image, the smallest radius at which an attack succeeds (Wang et al.
2024 report the median).

Example:
    >>> PGD(eps=4 / 255).canonical
    "pgd(eps='4/255', norm='linf', random_start=True, step_size=None, steps=10, target=None)"
    >>> PGD(eps="4/255").eps == 4 / 255
    True

"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from zeroshift.errors import SpecError, UsageError
from zeroshift.shifts.base import Shift, per_image_seed

NORMS = ("linf", "l2")
TARGETS = (None, "random", "least_likely")


def parse_eps(value: Any, where: str = "eps") -> float:
    """A radius given as a number or a ``'k/255'`` string, checked to be finite and non-negative.

    Example:
        >>> parse_eps("2/255") == 2 / 255, parse_eps(0.5)
        (True, 0.5)
        >>> parse_eps(-0.1)
        Traceback (most recent call last):
        ...
        zeroshift.errors.SpecError: eps must be non-negative, got -0.1

    """
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, str):
            text = value.replace(" ", "")
            number = float(Fraction(text)) if "/" in text else float(text)
        elif isinstance(value, int | float):
            number = float(value)
        else:
            raise ValueError
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"{where} must be a number or a fraction like '4/255', got {value!r}") from None
    if not math.isfinite(number):
        raise SpecError(f"{where} must be finite, got {value!r}")
    if number < 0:
        raise SpecError(f"{where} must be non-negative, got {value!r}")
    return number


def canonical_eps(value: Any) -> Any:
    """The canonical form of a radius: ``'k/255'`` for exact multiples of 1/255, else the value as given.

    Example:
        >>> canonical_eps(8 / 255), canonical_eps(" 1/255"), canonical_eps(0.1)
        ('8/255', '1/255', 0.1)

    """
    if isinstance(value, str):
        return value.replace(" ", "")
    if isinstance(value, float) and value > 0:
        k = round(value * 255)
        if k > 0 and k / 255 == value:
            return f"{k}/255"
    return value


def _per_sample(eps: torch.Tensor | float, n: int, like: torch.Tensor) -> torch.Tensor:
    """``eps`` as a ``(n, 1, 1, 1)`` tensor on ``like``'s device."""
    t = torch.as_tensor(eps, dtype=like.dtype, device=like.device)
    return (t.expand(n) if t.ndim == 0 else t).reshape(n, 1, 1, 1)


def _norm2(x: torch.Tensor) -> torch.Tensor:
    """Per-sample L2 norm, shaped ``(B, 1, 1, 1)``."""
    return x.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)


def _start_noise(seeds: list[int], shape: tuple[int, ...], kind: str, like: torch.Tensor) -> torch.Tensor:
    """Per-image random noise (``uniform`` in [-1, 1] or ``normal``) from each image's own generator."""
    rows = []
    for s in seeds:
        g = torch.Generator().manual_seed(int(s) % (2**63))
        rows.append(torch.rand(shape, generator=g) * 2 - 1 if kind == "uniform" else torch.randn(shape, generator=g))
    return torch.stack(rows).to(device=like.device, dtype=like.dtype)


def project(delta: torch.Tensor, eps: torch.Tensor, norm: str) -> torch.Tensor:
    """Project perturbations onto the ``norm`` ball of per-sample radius ``eps`` (shape ``(B, 1, 1, 1)``).

    Example:
        >>> d = torch.tensor([[[[3.0, 4.0]]]])
        >>> project(d, torch.tensor(1.0).view(1, 1, 1, 1), "l2").flatten().tolist()
        [0.6000000238418579, 0.800000011920929]
        >>> project(d, torch.tensor(1.0).view(1, 1, 1, 1), "linf").flatten().tolist()
        [1.0, 1.0]

    """
    if norm == "linf":
        return torch.maximum(torch.minimum(delta, eps), -eps)
    return delta * torch.clamp(eps / _norm2(delta), max=1.0)


def loss_and_grad(
    classifier: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-sample attack loss (to ascend), its gradient w.r.t. the pixels, and the logits.

    Untargeted: cross-entropy of the true label; targeted: minus the cross-entropy of the target.

    Example:
        >>> net = torch.nn.Flatten()  # logits = the two pixels
        >>> loss, grad, _ = loss_and_grad(net, torch.tensor([[[[0.2, 0.8]]]]), torch.tensor([1]), None)
        >>> grad.flatten().sign().tolist()  # raise the other class, lower the true one
        [1.0, -1.0]

    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = classifier(x)
        if targets is None:
            loss = F.cross_entropy(logits, labels, reduction="none")
        else:
            loss = -F.cross_entropy(logits, targets, reduction="none")
        if not loss.requires_grad:
            model = getattr(getattr(classifier, "model", None), "spec", "the model")
            raise UsageError(f"{model} gives no gradients for its input pixels; adversarial attacks need them")
        (grad,) = torch.autograd.grad(loss.sum(), x)
    return loss.detach(), grad.detach(), logits.detach()


def success(logits: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor | None) -> torch.Tensor:
    """Per sample, whether the attack succeeded: misclassified (untargeted) or classified as the target.

    Example:
        >>> logits, labels = torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0])
        >>> success(logits, labels, None).tolist(), success(logits, labels, torch.tensor([1, 1])).tolist()
        ([False, True], [False, True])

    """
    pred = logits.argmax(dim=1)
    return pred != labels if targets is None else pred == targets


class Attack(Shift):
    """Base class of the attacks: radius, norm and target handling; subclasses implement :meth:`perturb`.

    Example:
        >>> from zeroshift.shifts import make_shift
        >>> attack = make_shift("pgd(eps='2/255', norm='l2')")
        >>> attack.kind, attack.norm, round(attack.eps * 255, 6), attack.metric_groups
        ('attack', 'l2', 2.0, ('adversarial',))

    """

    kind = "attack"
    metric_groups = ("adversarial",)
    condition_kind = "adversarial"
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {"norm": NORMS, "target": TARGETS}
    #: whether ``norm`` may be chosen (FGSM is L-inf by definition)
    norms: ClassVar[tuple[str, ...]] = NORMS

    def validate(self) -> None:  # noqa: D102
        p = self.params
        parse_eps(p["eps"], f"{self.name}: eps")
        p["eps"] = canonical_eps(p["eps"])
        if p.get("norm", "linf") not in self.norms:
            raise SpecError(f"{self.name}: norm must be one of {', '.join(self.norms)}, got {p['norm']!r}")
        if p["target"] not in TARGETS:
            raise SpecError(f"{self.name}: target must be None, 'random' or 'least_likely', got {p['target']!r}")
        if "steps" in p and (isinstance(p["steps"], bool) or not isinstance(p["steps"], int) or p["steps"] < 1):
            raise SpecError(f"{self.name}: steps must be a positive integer, got {p['steps']!r}")

    @property
    def eps(self) -> float:
        """The radius as a float."""
        return parse_eps(self.params["eps"])

    @property
    def norm(self) -> str:
        """``linf`` or ``l2``."""
        return self.params.get("norm", "linf")

    def label(self) -> str:  # noqa: D102
        eps = self.params["eps"]
        radius = eps if isinstance(eps, str) else f"{float(eps):.4g}"
        norm = {"linf": "L-inf", "l2": "L2"}.get(self.norm, self.norm)
        target = f", targeted ({self.params['target']})" if self.params["target"] is not None else ""
        return f"{self.name.upper()} {norm} {radius}{target}"

    def prepare(self, context: Any) -> list[dict[str, Any]] | None:
        """Per-sample targets of a targeted attack (label indices of the run's label space)."""
        ctx = context
        if not ctx.benchmark.labelled:
            raise UsageError(f"{self.name}: attacks need labelled images; {ctx.benchmark.name} has no classes")
        mode = self.params["target"]
        if mode is None:
            return None
        space = ctx.label_space
        n_classes = len(space.class_names)
        labels = np.asarray(ctx.benchmark.native_to_label(space))[ctx.dataset.targets]
        if mode == "random":
            out = []
            for i, sid in enumerate(ctx.dataset.sample_ids):
                rng = np.random.default_rng([per_image_seed(ctx.seed, self.canonical, sid), 1])
                t = int(rng.integers(n_classes - 1))
                out.append(t + int(t >= labels[i]))
        else:
            clean = ctx.clean_outputs()
            worst = dict(zip(clean.sample_ids, clean.logits.argmin(dim=1).tolist(), strict=True))
            out = [worst.get(sid, (int(labels[i]) + 1) % n_classes) for i, sid in enumerate(ctx.dataset.sample_ids)]
        return [{"target": t} for t in out]

    def attack(
        self,
        classifier: torch.nn.Module,
        pixels: torch.Tensor,
        labels: torch.Tensor,
        seeds: list[int],
        params: list[dict[str, Any]] | None = None,
    ) -> torch.Tensor:
        """Attack a batch at this shift's radius."""
        targets = None
        if self.params["target"] is not None:
            if params is None:
                raise RuntimeError(f"{self.name}: the runner did not pass the prepared targets")
            targets = torch.as_tensor([p["target"] for p in params], device=pixels.device)
        eps = torch.full((pixels.shape[0],), self.eps, device=pixels.device, dtype=pixels.dtype)
        return self.perturb(classifier, pixels, labels, eps, seeds, targets)

    def perturb(
        self,
        classifier: torch.nn.Module,
        x: torch.Tensor,
        labels: torch.Tensor,
        eps: torch.Tensor,
        seeds: list[int],
        targets: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Adversarial versions of ``x`` within per-sample radius ``eps`` (shape ``(B,)``)."""
        raise NotImplementedError

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        return {
            **super().protocol,
            "threat_model": f"{self.norm} ball of radius {self.eps:.6g} in [0, 1] pixel units, clipped to [0, 1]",
            "attacked": "pixels -> normalisation -> encoder -> head -> label space (fp32)",
            "loss": "cross-entropy of the true label (untargeted) / minus that of the target (targeted)",
            "target": self.params["target"],
            "implementation": "zeroshift (own; torchattacks not used)",
        }


class FGSM(Attack):
    """Fast gradient sign method: ``x + eps * sign(grad)``, clipped to [0, 1].

    Example:
        >>> x = torch.tensor([[[[0.2, 0.8]]]])
        >>> FGSM(eps=0.1).attack(torch.nn.Flatten(), x, torch.tensor([1]), [0]).flatten().tolist()
        [0.30000001192092896, 0.699999988079071]

    """

    name = "fgsm"
    description = "FGSM: one signed-gradient step of size eps (L-inf)"
    defaults: ClassVar[dict[str, Any]] = {"eps": "4/255", "target": None}
    norms = ("linf",)

    def perturb(self, classifier, x, labels, eps, seeds, targets=None):  # noqa: D102
        e = _per_sample(eps, x.shape[0], x)
        _, grad, _ = loss_and_grad(classifier, x, labels, targets)
        return (x + e * grad.sign()).clamp(0.0, 1.0).detach()


class PGD(Attack):
    """Projected gradient descent with an optional random start; returns the last iterate.

    Example:
        >>> x = torch.tensor([[[[0.2, 0.8]]]])
        >>> adv = PGD(eps=0.1, steps=3).attack(torch.nn.Flatten(), x, torch.tensor([1]), [0])
        >>> [round(v, 4) for v in adv.flatten().tolist()]
        [0.3, 0.7]

    """

    name = "pgd"
    description = "PGD: iterated projected gradient steps in an L-inf or L2 ball, random start"
    defaults: ClassVar[dict[str, Any]] = {
        "eps": "4/255",
        "norm": "linf",
        "steps": 10,
        "step_size": None,
        "random_start": True,
        "target": None,
    }

    def validate(self) -> None:  # noqa: D102
        super().validate()
        if self.params["step_size"] is not None:
            parse_eps(self.params["step_size"], "pgd: step_size")
            self.params["step_size"] = canonical_eps(self.params["step_size"])
        if not isinstance(self.params["random_start"], bool):
            raise SpecError(f"pgd: random_start must be True or False, got {self.params['random_start']!r}")

    def step_sizes(self, eps: torch.Tensor) -> torch.Tensor:
        """Per-sample step size: the given one, or ``2.5 * eps / steps``."""
        if self.params["step_size"] is not None:
            return torch.full_like(eps, parse_eps(self.params["step_size"]))
        return 2.5 * eps / self.params["steps"]

    def perturb(self, classifier, x, labels, eps, seeds, targets=None):  # noqa: D102
        n = x.shape[0]
        e = _per_sample(eps, n, x)
        alpha = _per_sample(self.step_sizes(torch.as_tensor(eps, device=x.device, dtype=x.dtype).expand(n)), n, x)
        norm = self.norm
        x = x.detach()
        adv = x.clone()
        if self.params["random_start"]:
            if norm == "linf":
                delta = _start_noise(seeds, tuple(x.shape[1:]), "uniform", x) * e
            else:  # uniform radius along a random direction
                direction = _start_noise(seeds, tuple(x.shape[1:]), "normal", x)
                radius = _start_noise([s + 1 for s in seeds], (1, 1, 1), "uniform", x).abs()
                delta = direction / _norm2(direction) * radius * e
            adv = (x + delta).clamp(0.0, 1.0)
        for _ in range(self.params["steps"]):
            _, grad, _ = loss_and_grad(classifier, adv, labels, targets)
            step = grad.sign() if norm == "linf" else grad / _norm2(grad)
            adv = (x + project(adv + alpha * step - x, e, norm)).clamp(0.0, 1.0)
        return adv.detach()


def _box(point: torch.Tensor, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``point`` clipped to the L-inf box of radius ``eps`` around ``x`` and to [0, 1], in AutoAttack's order.

    Example:
        >>> x, e = torch.tensor([[[[0.5, 0.95]]]]), torch.tensor(0.1).view(1, 1, 1, 1)
        >>> _box(torch.tensor([[[[0.8, 1.2]]]]), x, e).flatten().tolist()
        [0.6000000238418579, 1.0]

    """
    return torch.clamp(torch.min(torch.max(point, x - eps), x + eps), 0.0, 1.0)


def _ball(point: torch.Tensor, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``point`` projected onto the L2 ball of radius ``eps`` around ``x``, then clipped to [0, 1] (AutoAttack).

    Example:
        >>> x, e = torch.zeros(1, 1, 1, 2), torch.tensor(1.0).view(1, 1, 1, 1)
        >>> [round(v, 4) for v in _ball(torch.tensor([[[[3.0, 4.0]]]]) / 10, x, e).flatten().tolist()]
        [0.3, 0.4]
        >>> [round(v, 4) for v in _ball(torch.tensor([[[[3.0, 4.0]]]]), x, e).flatten().tolist()]
        [0.6, 0.8]

    """
    delta = point - x
    size = _l2(delta)
    return torch.clamp(x + delta / (size + 1e-12) * torch.min(eps, size), 0.0, 1.0)


def _unit(t: torch.Tensor, norm: str) -> torch.Tensor:
    """``t`` divided per sample by its L-inf or L2 norm plus 1e-12 (AutoAttack's ``normalize``).

    Example:
        >>> _unit(torch.tensor([[[[-2.0, 1.0]]]]), "linf").flatten().tolist()
        [-1.0, 0.5]

    """
    size = t.flatten(1).abs().amax(dim=1).view(-1, 1, 1, 1) if norm == "linf" else _l2(t)
    return t / (size + 1e-12)


def _l2(t: torch.Tensor) -> torch.Tensor:
    """Per-sample L2 norm as the square root of the sum of squares (AutoAttack's round-off, not ``torch.norm``'s).

    Example:
        >>> _l2(torch.tensor([[[[3.0, 4.0]]]])).flatten().tolist()
        [5.0]

    """
    return (t**2).flatten(1).sum(-1).sqrt().view(-1, 1, 1, 1)


class APGD(Attack):
    """APGD-CE (Croce & Hein 2020) as AutoAttack's ``APGDAttack.perturb`` runs it (one restart, CE loss).

    Images the clean classifier already gets wrong (or, targeted, already classifies as the target) are returned
    unchanged; the others are attacked from a random start. A fooled image comes back as the **last** iterate
    that fooled the model (AutoAttack's ``x_best_adv``, overwritten at every iterate that fools it), one never
    fooled as the clean image. The step-size checkpoints start with ``reduced_last_check`` set, as the
    reference does, so the first checkpoint halves the step only where the loss oscillated.

    Example:
        >>> x = torch.tensor([[[[0.45, 0.55]]]])
        >>> adv = APGD(eps=0.1, steps=10).attack(torch.nn.Flatten(), x, torch.tensor([1]), [0])
        >>> torch.nn.Flatten()(adv).argmax(dim=1).tolist()  # within 0.1 of x, the other class now wins
        [0]
        >>> torch.equal(APGD(eps=0.01, steps=10).attack(torch.nn.Flatten(), x, torch.tensor([1]), [0]), x)
        True

    """

    name = "apgd"
    #: 2: AutoAttack's returned iterate (the last that fools; the clean image where none does)
    version = 2
    description = "APGD-CE: auto-PGD with step-size halving and momentum (Croce & Hein 2020)"
    defaults: ClassVar[dict[str, Any]] = {"eps": "4/255", "norm": "linf", "steps": 100, "target": None}
    #: momentum weight and the oscillation threshold of the checkpoints
    alpha: ClassVar[float] = 0.75
    rho: ClassVar[float] = 0.75

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        return {
            **super().protocol,
            "reference": "AutoAttack APGDAttack.perturb (fra31/auto-attack autopgd_base.py), loss 'ce', 1 restart",
            "returns": "the last iterate that fools the model; the clean image where no iterate does, or where the "
            "clean image already fails (not attacked)",
            "schedule": "step 2 * eps, momentum 0.75, checkpoints at 22% of the steps then -3% down to 6%, "
            "rho 0.75, reduced_last_check starts True",
        }

    def perturb(self, classifier, x, labels, eps, seeds, targets=None):  # noqa: D102
        n = x.shape[0]
        e = _per_sample(eps, n, x)
        x = x.detach()
        with torch.no_grad():
            clean_fails = success(classifier(x), labels, targets)
        out = x.clone()
        todo = (~clean_fails).nonzero().flatten()
        if len(todo):
            sub_targets = targets[todo] if targets is not None else None
            rows = todo.tolist()
            out[todo] = self._single_run(classifier, x[todo], labels[todo], e[todo], [seeds[i] for i in rows],
                                         sub_targets)  # fmt: skip
        return out

    def _single_run(
        self,
        classifier: torch.nn.Module,
        x: torch.Tensor,
        labels: torch.Tensor,
        e: torch.Tensor,
        seeds: list[int],
        targets: torch.Tensor | None,
    ) -> torch.Tensor:
        """AutoAttack's ``attack_single_run``: the last fooling iterate per sample, else the clean image."""
        n_iter = self.params["steps"]
        norm = self.norm
        n = x.shape[0]
        clip = _box if norm == "linf" else _ball
        # checkpoints: the first after 22% of the iterations, then ever closer, at least 6% apart
        n_iter_2 = max(int(0.22 * n_iter), 1)
        n_iter_min = max(int(0.06 * n_iter), 1)
        size_decr = max(int(0.03 * n_iter), 1)

        t = _start_noise(seeds, tuple(x.shape[1:]), "uniform" if norm == "linf" else "normal", x)
        adv = (x + e * _unit(t, norm)).clamp(0.0, 1.0)
        fooled_adv = adv.clone()  # the last iterate that fooled the model, per sample
        best = adv.clone()  # the highest-loss iterate (where the steps restart after a reduction)
        loss, grad, logits = loss_and_grad(classifier, adv, labels, targets)
        fooled = success(logits, labels, targets)
        best_grad = grad.clone()
        loss_best = loss.clone()
        step = 2.0 * e
        adv_old = adv.clone()
        losses = torch.zeros(n_iter, n, device=x.device, dtype=loss.dtype)
        counter = 0
        k = n_iter_2
        reduced_last_check = torch.ones(n, dtype=torch.bool, device=x.device)
        loss_best_last_check = loss_best.clone()

        for i in range(n_iter):
            grad2 = adv - adv_old
            adv_old = adv.clone()
            a = self.alpha if i > 0 else 1.0
            direction = grad.sign() if norm == "linf" else _unit(grad, "l2")
            z = clip(adv + step * direction, x, e)
            adv = clip(adv + (z - adv) * a + grad2 * (1 - a), x, e)

            loss, grad, logits = loss_and_grad(classifier, adv, labels, targets)
            now = success(logits, labels, targets)
            fooled_adv[now] = adv[now]
            fooled |= now
            losses[i] = loss
            improved = loss > loss_best
            best[improved] = adv[improved]
            best_grad[improved] = grad[improved]
            loss_best = torch.where(improved, loss, loss_best)

            counter += 1
            if counter == k:
                # halve the step where the loss rose in at most rho of the last k steps, or did not improve
                # (indices wrap around as in the reference, where the not yet written losses are 0)
                later = torch.tensor([(i - c) % n_iter for c in range(k)], device=x.device)
                earlier = torch.tensor([(i - c - 1) % n_iter for c in range(k)], device=x.device)
                oscillating = (losses[later] > losses[earlier]).sum(dim=0) <= k * self.rho
                no_progress = ~reduced_last_check & (loss_best_last_check >= loss_best)
                reduce = oscillating | no_progress
                reduced_last_check = reduce
                loss_best_last_check = loss_best.clone()
                if reduce.any():
                    step[reduce] /= 2.0
                    adv[reduce] = best[reduce]
                    grad[reduce] = best_grad[reduce]
                k = max(k - size_decr, n_iter_min)
                counter = 0
        return torch.where(fooled.view(-1, 1, 1, 1), fooled_adv, x).detach()


def minimal_epsilon(
    attack: Attack,
    classifier: torch.nn.Module,
    x: torch.Tensor,
    labels: torch.Tensor,
    seeds: list[int],
    eps_max: float,
    steps: int,
    targets: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per image, the smallest radius in [0, ``eps_max``] at which ``attack`` succeeds, found by bisection.

    0 where the clean image already fails (misclassified, or classified as the target); ``inf`` where the attack
    does not succeed even at ``eps_max``; otherwise the upper end of the final bracket, within
    ``eps_max / 2**steps`` of the threshold (assuming success grows with the radius, as bisection must).

    Example:
        >>> x = torch.tensor([[[[0.45, 0.55]]]])  # the margin is 0.1; FGSM moves both pixels by eps
        >>> eps = minimal_epsilon(FGSM(eps=0.2), torch.nn.Flatten(), x, torch.tensor([1]), [0], 0.2, 10)
        >>> 0.05 <= float(eps) <= 0.05 + 0.2 / 2**10
        True

    """
    n = x.shape[0]
    device = x.device
    with torch.no_grad():
        fails_clean = success(classifier(x), labels, targets)
    hi = torch.full((n,), float(eps_max), device=device, dtype=x.dtype)
    lo = torch.zeros(n, device=device, dtype=x.dtype)
    result = torch.full((n,), float("inf"), device=device, dtype=x.dtype)
    result[fails_clean] = 0.0
    todo = (~fails_clean).nonzero().flatten()
    if len(todo) == 0 or eps_max <= 0:
        return result

    def succeeds(idx: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
        sub_targets = targets[idx] if targets is not None else None
        adv = attack.perturb(classifier, x[idx], labels[idx], radius, [seeds[j] for j in idx.tolist()], sub_targets)
        with torch.no_grad():
            return success(classifier(adv), labels[idx], sub_targets)

    at_max = succeeds(todo, hi[todo])
    active = todo[at_max]
    for _ in range(steps):
        if len(active) == 0:
            break
        mid = (lo[active] + hi[active]) / 2
        ok = succeeds(active, mid)
        hi[active[ok]] = mid[ok]
        lo[active[~ok]] = mid[~ok]
    result[todo[at_max]] = hi[todo[at_max]]
    return result


__all__ = ["APGD", "FGSM", "PGD", "Attack", "canonical_eps", "minimal_epsilon", "parse_eps", "project"]
