"""Bad input for corruptions and attacks on the command line: one clear line, exit code 2, before any work."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import build_wnid_layout
from tests.integration.synthetic_helpers import TIMM, photo_wnids
from zeroshift.cli.main import main
from zeroshift.models import adapters
from zeroshift.models.base import ZeroShotModel
from zeroshift.results.store import Store
from zeroshift.specs import ModelSpec


class NoGradientModel(ZeroShotModel):
    """A model whose backend gives no input gradients (e.g. a compiled or remote model)."""

    backend = "test"

    @classmethod
    def identity(cls, spec: ModelSpec) -> dict[str, Any]:
        return {"backend": "nograd-test", "name": spec.name}

    @classmethod
    def differentiable(cls, spec: ModelSpec) -> bool:
        return False

    @classmethod
    def load(cls, spec: ModelSpec) -> ZeroShotModel:
        raise AssertionError("the model must not be loaded for a run that is refused")

    def encode_image(self, pixels):
        raise AssertionError


if "nograd-test" not in adapters:
    adapters.register("nograd-test", NoGradientModel)


@pytest.fixture
def setup(tmp_path):
    build_wnid_layout(tmp_path / "data" / "imagenet" / "val", photo_wnids(2))
    return tmp_path


def zeroshift(setup, capsys, monkeypatch, *args):
    monkeypatch.setenv("ZEROSHIFT_CACHE", str(setup / "cache"))
    base = ["run", "--data-root", str(setup / "data"), "--store", str(setup / "store.db"), "--no-progress"]
    with pytest.raises(SystemExit) as info:
        main([*base, *args])
    return info.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    "model, shift, message",
    [
        (TIMM, "corruption(name='fgo', severity=3)", "unknown corruption 'fgo'; did you mean 'fog'?"),
        (TIMM, "corruption(name='fog', severity=6)", "severity must be an integer from 1 to 5, got 6"),
        (TIMM, "corruption(name='fog', severity=0)", "severity must be an integer from 1 to 5, got 0"),
        (TIMM, "pgd(eps=-0.01)", "pgd: eps must be non-negative, got -0.01"),
        (TIMM, "fgsm(eps='-4/255')", "fgsm: eps must be non-negative"),
        ("nograd-test:frozen", "pgd(eps='4/255')", "nograd-test:frozen gives no gradients for its input pixels"),
    ],
)
def test_bad_shift_is_one_line_exit_2_before_any_work(setup, capsys, monkeypatch, model, shift, message):
    # a good condition is planned first: nothing runs, because every planned run is checked before the first
    code, err = zeroshift(
        setup, capsys, monkeypatch, "-m", model, "-b", "imagenet", "--shift", "corruption(name='fog',severity=1)",
        "--shift", shift,
    )  # fmt: skip
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zeroshift: error: ") and message in lines[0], err
    assert not (setup / "cache" / "features").exists()
    assert not (setup / "store.db").exists() or Store(str(setup / "store.db")).count() == 0


def test_a_model_without_gradients_may_still_be_corrupted(setup, capsys, monkeypatch):
    # the refusal is about attacks only: the corruption run is planned, and fails later only because this test
    # model cannot be loaded
    monkeypatch.setenv("ZEROSHIFT_CACHE", str(setup / "cache"))
    with pytest.raises(AssertionError, match="must not be loaded"):
        main(
            ["run", "--data-root", str(setup / "data"), "--store", str(setup / "store.db"), "--no-progress",
             "-m", "nograd-test:frozen", "-b", "imagenet", "--shift", "corruption(name='fog',severity=1)"]
        )  # fmt: skip


def test_bad_min_epsilon_parameters_are_refused_before_any_work(setup, capsys, monkeypatch):
    code, err = zeroshift(
        setup, capsys, monkeypatch, "-m", TIMM, "-b", "imagenet", "--metrics", "min_epsilon",
        "--metric-param", "min_epsilon.eps_max=-1/255",
    )  # fmt: skip
    assert code == 2 and "min_epsilon: eps_max must be non-negative" in err and len(err.strip().splitlines()) == 1
    code, err = zeroshift(
        setup, capsys, monkeypatch, "-m", TIMM, "-b", "imagenet", "--metrics", "min_epsilon",
        "--metric-param", "min_epsilon.attack=corruption(name='fog',severity=1)",
    )  # fmt: skip
    assert code == 2 and "min_epsilon: attack must be an attack" in err


def test_suites_are_listed_and_expand(setup, capsys):
    from zeroshift.suites import expand_suite

    main(["ls", "suites"])
    out = capsys.readouterr().out
    for name in ("synthetic_shifts", "typographic", "adversarial"):
        assert name in out
    runs = expand_suite("synthetic_shifts")
    assert len(runs) == 1 + 19 * 5 and runs[0].shift is None
    adversarial = expand_suite("adversarial", ["imagenet_r"])
    assert [r.shift for r in adversarial] == ["pgd(eps='1/255')", "pgd(eps='2/255')", "pgd(eps='4/255')", None]
    assert adversarial[-1].metrics == ("accuracy", "min_epsilon") and adversarial[-1].benchmark == "imagenet_r"
    assert [r.shift for r in expand_suite("typographic")][1:] == [
        "typographic(text='random')",
        "typographic(text='confusable')",
        "typographic(text='correct')",
    ]
