"""Metric groups of adversarial robustness: ``adversarial`` (attack runs) and ``min_epsilon`` (clean runs).

``adversarial`` runs under an attack shift (``--shift "pgd(eps='4/255')"``; the shift adds it to the defaults).
Robust accuracy is the ``accuracy`` group's ``top1`` of that run; this group adds, on the samples read both clean
and attacked:

* ``clean_top1``;
* ``accuracy_drop``: clean top-1 minus robust top-1 (paired);
* ``attack_success_rate``: untargeted, the fraction of clean-correct samples the attack makes wrong; targeted, the
  fraction classified as the target.

``min_epsilon`` bisects, per image, the smallest radius at which an attack succeeds (Wang et al. 2024 report the
median): ``min_epsilon_median`` with a bootstrap interval, 0 for images already misclassified, and images that
resist even ``eps_max`` counted as above it (the median is then censored at ``eps_max``, and said so). Per-image
radii are cached (cache kind ``attacks``) under the model, the head, the label space, the attack spec, the search
settings and the seed, so a second analysis attacks nothing. Parameters (``--metric-param min_epsilon.KEY=V``):
``attack`` (an attack spec whose ``eps`` is searched, default ``"pgd(norm='linf', steps=10)"``), ``eps_max``
(default ``'16/255'``) and ``search_steps`` (bisection steps, default 8: resolution ``eps_max / 256``).

Example:
    >>> censored_median(np.array([0.0, 0.01, np.inf]), eps_max=0.1)
    (0.01, False)
    >>> censored_median(np.array([0.0, np.inf, np.inf]), eps_max=0.1)
    (0.1, True)

"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zeroshift.errors import SpecError, UsageError
from zeroshift.metrics.base import DEFAULT_BOOTSTRAP, MetricValue, bootstrap_ci, mean_with_ci
from zeroshift.metrics.paired import paired_with_clean
from zeroshift.specs import CallSpec, fingerprint

MIN_EPS_DEFAULTS: dict[str, Any] = {"attack": "pgd(norm='linf', steps=10)", "eps_max": "16/255", "search_steps": 8}


def adversarial_group(outputs: Any, ctx: Any, **boot: Any) -> list[MetricValue]:
    """Clean top-1, accuracy drop and attack success rate of an attack run (see the module docstring).

    Example:
        >>> # computed for every run under an attack shift: zeroshift run ... --shift "pgd(eps='4/255')"
        >>> from zeroshift.metrics import metrics
        >>> metrics.get("adversarial") is adversarial_group
        True

    """
    shift = getattr(ctx, "shift", None)
    needs_attack_shift(getattr(ctx, "benchmark", None), shift)
    settings = {**DEFAULT_BOOTSTRAP, **boot}
    paired = paired_with_clean(outputs, ctx)
    n = int(paired.rows.size)
    values = [
        mean_with_ci(paired.clean_correct, "clean_top1", True, settings, {"n": n}),
        mean_with_ci(
            paired.clean_correct.astype(np.float64) - paired.correct,
            "accuracy_drop",
            False,
            settings,
            {"n": n, "definition": "clean top-1 minus robust top-1, same samples"},
        ),
    ]
    params = ctx.shift_params()
    if params is None:
        base = paired.clean_correct
        hits = ~paired.correct[base]
        definition = "fraction of clean-correct samples misclassified under attack"
    else:
        targets = np.asarray([p["target"] for p in params], dtype=np.int64)[outputs.indices][paired.rows]
        hits = paired.pred == targets
        definition = "fraction of samples classified as their target"
        ctx.save_column("attack_target", np.asarray([p["target"] for p in params])[outputs.indices].tolist())
    values.append(
        mean_with_ci(hits, "attack_success_rate", False, settings, {"n": int(hits.size), "definition": definition})
    )
    ctx.protocol["adversarial_metrics"] = {
        "robust_accuracy": "top1 of this run (accuracy group)",
        "attack_success_rate": definition,
        "accuracy_drop": "paired: mean over samples of (clean correct - robust correct)",
    }
    return values


def censored_median(eps: np.ndarray, eps_max: float) -> tuple[float, bool]:
    """The median radius, with images that resisted ``eps_max`` (``inf``) counted above it.

    Returns ``(median, censored)``; a censored median (more than half resisted) is reported as ``eps_max``.
    """
    finite = np.where(np.isfinite(eps), eps, np.nextafter(eps_max, np.inf))
    median = float(np.median(finite)) if finite.size else float("nan")
    if median > eps_max:
        return float(eps_max), True
    return median, False


def _search_spec(attack: str, eps_max: Any, search_steps: Any) -> tuple[Any, float, int]:
    """Validate the search parameters; returns (the attack at eps_max, eps_max, steps)."""
    from zeroshift.shifts import make_shift, shifts
    from zeroshift.shifts.attacks import Attack, parse_eps

    radius = parse_eps(eps_max, "min_epsilon: eps_max")
    if radius <= 0:
        raise SpecError(f"min_epsilon: eps_max must be positive, got {eps_max!r}")
    if isinstance(search_steps, bool) or not isinstance(search_steps, int) or not 1 <= search_steps <= 30:
        raise SpecError(f"min_epsilon: search_steps must be an integer from 1 to 30, got {search_steps!r}")
    call = CallSpec.parse(attack)
    if not issubclass(shifts.get(call.name), Attack):
        raise SpecError(f"min_epsilon: attack must be an attack (fgsm, pgd, apgd), got {call.name!r}")
    return make_shift(call.with_params(eps=radius)), radius, search_steps


def check_min_epsilon_params(**params: Any) -> None:
    """Raise SpecError for bad ``min_epsilon`` parameters (the CLI calls this before any work).

    Example:
        >>> check_min_epsilon_params(search_steps=0)
        Traceback (most recent call last):
        ...
        zeroshift.errors.SpecError: min_epsilon: search_steps must be an integer from 1 to 30, got 0

    """
    unknown = sorted(set(params) - set(MIN_EPS_DEFAULTS) - set(DEFAULT_BOOTSTRAP))
    if unknown:
        raise SpecError(f"min_epsilon: unknown parameter {unknown[0]!r} (known: {', '.join(MIN_EPS_DEFAULTS)})")
    p = {**MIN_EPS_DEFAULTS, **params}
    _search_spec(p["attack"], p["eps_max"], p["search_steps"])


def min_epsilon_group(
    outputs: Any,
    ctx: Any,
    attack: str = MIN_EPS_DEFAULTS["attack"],
    eps_max: Any = MIN_EPS_DEFAULTS["eps_max"],
    search_steps: int = MIN_EPS_DEFAULTS["search_steps"],
    **boot: Any,
) -> list[MetricValue]:
    """The median per-image minimal attack radius (see the module docstring).

    Example:
        >>> # zeroshift run -m MODEL -b imagenet --metrics accuracy --metrics min_epsilon
        >>> #     --metric-param "min_epsilon.attack=pgd(steps=20)" --metric-param min_epsilon.eps_max=8/255
        >>> check_min_epsilon_params(attack="apgd(steps=50)", eps_max="8/255")

    """
    from zeroshift.models.heads import head_fingerprint
    from zeroshift.shifts import per_image_seed
    from zeroshift.shifts.attacks import minimal_epsilon

    if ctx.shift is not None and ctx.shift.kind == "attack":
        raise UsageError("min_epsilon searches its own attack radius: run it without an attack --shift")
    shift, radius, steps = _search_spec(attack, eps_max, search_steps)
    settings = {**DEFAULT_BOOTSTRAP, **boot}
    runner = ctx.runner
    facts = runner.model_facts(ctx.handle)
    search = {
        "attack": CallSpec.parse(attack).canonical,
        "attack_at_eps_max": shift.canonical,
        "eps_max": radius,
        "search_steps": steps,
        "method": "bisection on [0, eps_max] after checking eps_max; result = smallest radius known to succeed",
    }
    key = fingerprint(
        {
            "model": ctx.handle.fingerprint,
            "head": head_fingerprint(ctx.handle, ctx.prompts) if facts["kind"] == "zero_shot" else None,
            "space": ctx.label_space.fingerprint_data,
            "search": search,
            "seed": ctx.spec.seed,
            "condition": ctx.shift.canonical if ctx.shift is not None else None,
            "precision": "fp32",
            "what": "minimal epsilon",
        }
    )
    bank = runner.cache.bank("attacks", key, {"model": str(ctx.handle.spec), **search})
    keys = ctx.dataset.content_keys()
    kept = [int(i) for i in outputs.indices]
    missing = [i for i in kept if not bank.has(keys[i])]
    if missing:
        bank.refresh()
        missing = [i for i in kept if not bank.has(keys[i])]
    if missing:
        model = ctx.handle.load()
        classifier = runner.classifier(ctx.handle, ctx.label_space, ctx.prompts)
        labels_all = np.asarray(ctx.benchmark.native_to_label(ctx.label_space))[ctx.dataset.targets]
        target_rows = shift.prepare(ctx)
        loader = runner.pixel_loader(
            model, ctx.benchmark, ctx.dataset, missing, ctx.shift, ctx.spec.seed, ctx.shift_params()
        )
        for batch in loader:
            failures = {keys[missing[p]]: reason for p, reason, _ in batch.failures}
            if batch.pixels is None:
                bank.put([], torch.empty(0, 1), failures)
                continue
            idx = [missing[p] for p in batch.positions]
            x = batch.pixels.to(runner.device)
            y = torch.as_tensor(labels_all[idx], device=runner.device)
            targets = (
                torch.as_tensor([target_rows[i]["target"] for i in idx], device=runner.device)
                if target_rows is not None
                else None
            )
            seeds = [per_image_seed(ctx.spec.seed, key, ctx.dataset.sample_ids[i]) for i in idx]
            eps = minimal_epsilon(shift, classifier, x, y, seeds, radius, steps, targets)
            bank.put([keys[i] for i in idx], eps.float().cpu().view(-1, 1), failures)
    found = [i for i in kept if keys[i] not in bank.failures]
    eps_all = bank.get([keys[i] for i in found])[:, 0].numpy().astype(np.float64) if found else np.zeros(0)
    median, censored = censored_median(eps_all, radius)
    lo, hi = bootstrap_ci(
        lambda idx: censored_median(eps_all[idx], radius)[0],
        eps_all.size,
        settings["n_boot"],
        settings["alpha"],
        settings["seed"],
    )
    resisted = ~np.isfinite(eps_all)
    details = {
        **search,
        "n": int(eps_all.size),
        "n_already_wrong": int((eps_all == 0).sum()),
        "n_resisted_eps_max": int(resisted.sum()),
        "censored": censored,
        "median_in_255ths": round(median * 255, 4),
        "units": "[0, 1] pixel units",
    }
    if censored:
        details["note"] = "more than half the images resisted eps_max: the median is at least eps_max"
    by_id = dict(zip([ctx.dataset.sample_ids[i] for i in found], eps_all.tolist(), strict=True))
    ctx.save_column("min_epsilon", [by_id.get(sid) for sid in outputs.sample_ids])
    ctx.protocol["min_epsilon"] = {**search, "cache": "attacks/" + key, "per_image_seed": "sha256(seed | key | id)"}
    values = [MetricValue("min_epsilon_median", median, True, lo, hi, details)]
    values.append(
        mean_with_ci(
            resisted,
            "resisted_eps_max",
            True,
            settings,
            {"definition": "fraction of images the attack cannot flip at eps_max", "eps_max": radius},
        )
    )
    return values


min_epsilon_group.check_params = check_min_epsilon_params  # type: ignore[attr-defined]


def needs_attack_shift(benchmark: Any, shift: Any) -> None:
    """The ``adversarial`` group's check: it compares an attack run with its clean run, so it needs an attack.

    Example:
        >>> needs_attack_shift(None, None)
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: the adversarial metric group needs an attack shift, e.g. --shift "pgd(eps='4/255')"

    """
    if shift is None or shift.kind != "attack":
        raise UsageError("the adversarial metric group needs an attack shift, e.g. --shift \"pgd(eps='4/255')\"")


adversarial_group.check = needs_attack_shift  # type: ignore[attr-defined]
