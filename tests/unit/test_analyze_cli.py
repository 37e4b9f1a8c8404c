"""User mistakes in the analysis commands end in one line on stderr and exit code 2."""

from __future__ import annotations

import pytest

from zeroshift.cli.main import main
from zeroshift.metrics.base import MetricValue
from zeroshift.results.schema import RunRecord
from zeroshift.results.store import Store


@pytest.fixture()
def store(tmp_path):
    path = tmp_path / "r.db"
    db = Store(path)
    for model in ("timm:a", "timm:b"):
        db.write(RunRecord.new(model=model, benchmark="imagenet(split='val')", shift=None, prompts="n/a",
                               label_space="full", metrics=[MetricValue("top1", 0.5, True)]))  # fmt: skip
    return str(path)


@pytest.mark.parametrize(
    "args,message",
    [
        (["analyze", "effective-robustness", "--baseline", "tesbed"], "did you mean 'testbed'"),
        (["analyze", "effective-robustness", "--baseline", "store"], "needs the population"),
        (["analyze", "effective-robustness", "--transform", "tanh"], "choose logit or probit"),
        (["analyze", "effective-robustness", "-f", "xml"], "--format must be table, json or csv"),
        (["analyze", "imagenet-x", "--annotations", "/nonexistent"], "no ImageNet-X annotations at /nonexistent"),
        (["analyze", "shape-bias"], "no cue_conflict run in the store"),
        (["analyze", "shape-bias", "--humans", "/nonexistent"], "no human responses at /nonexistent/cue-conflict"),
        (["compare", "timm:a", "timm:b"], "say which benchmark to compare on with --benchmark"),
        (["compare", "timm:a", "timm:b", "-b", "imagenet"], "has no saved samples; rerun it with --save-samples"),
        (["compare", "timm:a", "timm:c", "-b", "imagenet"], "no run of timm:c on imagenet"),
        (["compare", "timm:a", "timm:b", "-b", "imagenet", "--test", "t"], "unknown test 't'"),
    ],
)
def test_mistakes_are_one_line_errors(store, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--store", store])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("zeroshift: error: ") and message in err[0], err


def test_missing_store_is_a_one_line_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "effective-robustness", "--store", str(tmp_path / "none.db")])
    assert exit_info.value.code == 2
    assert "no results store at" in capsys.readouterr().err
