"""The ``typographic`` metric group: how often the written class name wins, and what it costs in accuracy.

Runs under ``--shift "typographic(...)"`` (the shift adds this group to the benchmark's defaults):

* ``attack_success_rate``: fraction of samples predicted as the class written into them (a wrong class; lower is
  more robust); not reported for the control ``text='correct'``, where it would equal top-1;
* ``accuracy_drop``: clean top-1 minus top-1 with the text, on the same samples (paired); negative where the text
  helps, as the control usually does;
* ``clean_top1``: top-1 of the same samples without text.

Top-1 under the attack is the ``accuracy`` group's ``top1``. The written label of every sample is saved with
``--save-samples`` (column ``written_label``).

Example:
    >>> import numpy as np
    >>> written_hits(np.array([3, 1, 2]), np.array([3, 0, 2])).tolist()
    [True, False, True]

"""

from __future__ import annotations

from typing import Any

import numpy as np

from zeroshift.errors import UsageError
from zeroshift.metrics.base import mean_with_ci
from zeroshift.metrics.group import GroupResult, MetricSpec, Need, Params, metric_group
from zeroshift.metrics.paired import paired_with_clean


def written_hits(pred: np.ndarray, written: np.ndarray) -> np.ndarray:
    """Per sample, whether the prediction is the written class."""
    return np.asarray(pred) == np.asarray(written)


def needs_typographic_shift(benchmark: Any, shift: Any) -> None:
    """The group's check: it compares a typographic run with its clean run, so it needs a typographic shift.

    Example:
        >>> needs_typographic_shift(None, None)
        Traceback (most recent call last):
        ...
        zeroshift.errors.UsageError: the typographic metric group needs a typographic shift (--shift "typographic()")

    """
    if shift is None or shift.name != "typographic":
        raise UsageError('the typographic metric group needs a typographic shift (--shift "typographic()")')


@metric_group(
    "typographic",
    metrics=(
        MetricSpec("clean_top1", "clean top-1", True, "top-1 of the same samples without the shift"),
        MetricSpec("accuracy_drop", "accuracy drop", False, "clean top-1 minus top-1 under the shift, paired"),
        MetricSpec("attack_success_rate", "attack success rate", False, "fraction predicted as the written class"),
    ),
    needs=(Need("clean"),),
    check=needs_typographic_shift,
)
def typographic_group(inputs: Any, params: Params) -> GroupResult:
    """Attack success rate, accuracy drop and clean top-1 of a typographic run (see the module docstring).

    Example:
        >>> # computed for every run under a typographic shift, e.g.
        >>> # zeroshift run -m MODEL -b imagenet --shift "typographic(text='confusable')"
        >>> from zeroshift.metrics import groups
        >>> groups.get("typographic") is typographic_group
        True

    """
    outputs, shift = inputs.outputs, inputs.shift
    needs_typographic_shift(inputs.benchmark, shift)
    settings = params.bootstrap
    written_all = np.asarray([p["written"] for p in inputs.shift_params()], dtype=np.int64)
    written = written_all[outputs.indices]
    paired = paired_with_clean(outputs, inputs)
    mode = shift.params["text"]
    n = int(paired.rows.size)
    values = [
        mean_with_ci(paired.clean_correct, "clean_top1", True, settings, {"n": n}),
        mean_with_ci(
            paired.clean_correct.astype(np.float64) - paired.correct,
            "accuracy_drop",
            False,
            settings,
            {"n": n, "definition": "clean top-1 minus top-1 with text, same samples", "text": mode},
        ),
    ]
    if mode != "correct":
        hits = written_hits(paired.pred, written[paired.rows])
        values.append(
            mean_with_ci(
                hits,
                "attack_success_rate",
                False,
                settings,
                {"n": n, "definition": "fraction predicted as the written (wrong) class", "text": mode},
            )
        )
    protocol = {
        "typographic_metrics": {
            "attack_success_rate": "prediction == written class, over samples read both clean and with text",
            "accuracy_drop": "paired: mean over samples of (clean correct - correct with text)",
            "control": mode == "correct",
        }
    }
    return GroupResult(values, protocol, {"written_label": written.tolist()})
