"""A plugin the tests load through $ZEROSHIFT_PLUGINS: a new artefact kind and a metric group that reads it.

Nothing in src/ names them: registering is all it takes (issue 10's "one registration, never an edit of the runner").
The kind is the mean colour of the pixels the model sees (after its geometry and any pixel shift); the group reports
the mean red channel with its interval and saves each sample's value.
"""

from __future__ import annotations

from typing import Any

from zeroshift.artefacts import artefact_kind
from zeroshift.metrics import GroupResult, MetricSpec, Need, mean_with_ci, metric_group


def _fingerprint(scope: Any, params: Any) -> dict[str, Any]:
    return {**scope.pixel_fingerprint(), "what": "mean colour"}


def _compute(batch: Any, params: Any) -> Any:
    return batch.pixels.mean(dim=(2, 3)).float().cpu()


artefact_kind(
    "mean_colour",
    description="mean RGB of the model's input pixels",
    keyed_by="image",
    fingerprint=_fingerprint,
    compute=_compute,
)


@metric_group(
    "colour",
    metrics=(MetricSpec("mean_red", "mean red", None, "mean red channel of the input pixels"),),
    needs=(Need(None, frozenset({"mean_colour"})),),
)
def colour_group(inputs: Any, params: Any) -> GroupResult:
    """Mean red channel of the condition's input pixels (a test plugin)."""
    rows = inputs.artefact("mean_colour")
    red = rows.rows[:, 0].numpy()
    value = mean_with_ci(red, "mean_red", True, params.bootstrap, {"n": int(red.size)})
    by_id = dict(zip(rows.sample_ids, red.tolist(), strict=True))
    return GroupResult([value], {"colour": {"kind": rows.kind}}, {"red": [by_id[s] for s in inputs.outputs.sample_ids]})
