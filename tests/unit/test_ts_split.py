"""``calibration.ts_split``: a float is a fraction in (0, 1), an integer a count; nothing else, in one line."""

from __future__ import annotations

import numpy as np
import pytest

from zeroshift.errors import SpecError, UsageError
from zeroshift.metrics.temperature import check_ts_split, heldout_split
from zeroshift.params import Param


@pytest.mark.parametrize("bad", [1.0, 2.0, 0.0, 0, -3, -0.5, 1.5, True, False, float("nan"), float("inf"), "0.5"])
def test_anything_but_a_fraction_or_a_count_is_refused_in_one_line(bad) -> None:
    with pytest.raises(UsageError) as err:
        heldout_split(10, bad, seed=0)
    message = str(err.value)
    assert "\n" not in message and message.startswith("calibration.ts_split must be a fraction in (0, 1)")
    assert message.endswith(f"got {bad!r}")
    with pytest.raises(SpecError, match=r"^calib: ts_split must be a fraction in \(0, 1\)"):
        Param(0.5, "fitting split", check=check_ts_split).accept("calib", "ts_split", bad)


def test_one_point_zero_is_not_a_count_of_one_sample() -> None:
    # the reported bug: 1.0 was read as "1 sample"; as a fraction it would be "all", leaving nothing to score
    with pytest.raises(UsageError, match="1.0 is neither"):
        heldout_split(1000, 1.0, seed=0)
    assert heldout_split(1000, 1, seed=0).size == 1  # the integer is the count


def test_fractions_and_counts() -> None:
    assert heldout_split(10, 0.3, seed=0).size == 3 and heldout_split(10, np.float64(0.5), seed=0).size == 5
    assert heldout_split(10, 4, seed=0).size == 4 and heldout_split(10, np.int64(4), seed=0).size == 4
    assert heldout_split(10, 40, seed=0).size == 10  # a count beyond the set: all of it (fitting on another set)
    # a fraction always leaves a sample to score: 0.99 of 10 would round to all 10
    split = heldout_split(10, 0.99, seed=0)
    assert split.size == 9 and len(set(split.tolist())) == 9
    assert heldout_split(1, 0.5, seed=0).size == 0
    assert check_ts_split(0.25) == 0.25 and check_ts_split(7) == 7
