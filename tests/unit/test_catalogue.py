"""The model catalogue: well-formed data files, filters that select what they should, one-line errors."""

from __future__ import annotations

import csv
import json
import re
from importlib import resources

import pytest

from zeroshift.catalogue import load_catalogue, load_preset, preset_names, select, select_specs
from zeroshift.catalogue.filters import FIELDS, parse_condition
from zeroshift.catalogue.refresh import samples_seen_of
from zeroshift.errors import UsageError
from zeroshift.specs import ModelSpec


@pytest.fixture(scope="module")
def entries():
    return load_catalogue()


def test_every_entry_is_well_formed(entries):
    specs = [e.spec for e in entries]
    assert len(specs) == len(set(specs)), "a spec is listed twice"
    for e in entries:
        parsed = ModelSpec.parse(e.spec)
        assert parsed.scheme == e.backend
        assert e.sources and all(s.startswith("https://") for s in e.sources), e.spec
        assert e.population in ("clip", "supervised")


@pytest.mark.slow  # imports torch through open_clip: about a minute on the shared machine
def test_open_clip_entries_are_the_installed_pretrained_list(entries):
    import open_clip

    listed = {f"open_clip:{a}@{t}" for a, t in open_clip.list_pretrained()}
    ours = {e.spec for e in entries if e.backend == "open_clip"}
    assert ours == listed  # rerun `python -m zeroshift.catalogue.refresh` after an open_clip upgrade


@pytest.mark.slow  # imports torch through timm
def test_timm_entries_exist_in_timm(entries):
    import timm

    known = set(timm.list_pretrained())
    ours = [e.spec.removeprefix("timm:") for e in entries if e.backend == "timm"]
    assert ours and not set(ours) - known
    assert all(re.search(r"in1k(_\d+)?$", name) for name in ours)


def test_training_facts_have_a_paper_or_card():
    # Every training-data name the catalogue can produce has a source URL in training_sources.csv.
    text = (resources.files("zeroshift.catalogue") / "_info" / "training_sources.csv").read_text()
    known = {r["training_data"] for r in csv.DictReader(text.splitlines())}
    used = {e.training_data for e in load_catalogue() if e.training_data}
    assert used <= known, used - known


def test_facts_match_hand_checked_model_cards(entries):
    by_spec = {e.spec: e for e in entries}
    # Radford et al. 2021: WIT 400M pairs, 32 epochs = 12.8B samples seen; open_clip's profile: 151.28M params.
    b32 = by_spec["open_clip:ViT-B-32@openai"]
    assert (b32.training_data, b32.data_size, b32.samples_seen, b32.params) == (
        "WIT-400M",
        400_000_000,
        12_800_000_000,
        151_280_000,
    )
    siglip = by_spec["hf:google/siglip-base-patch16-224"]
    assert (siglip.loss, siglip.training_data) == ("sigmoid", "WebLI")
    assert by_spec["hf:facebook/metaclip-b32-400m"].training_data == "MetaCLIP-400M"
    assert by_spec["timm:resnet50.tv_in1k"].training_data == "ImageNet-1k"
    assert by_spec["timm:vit_base_patch16_224.augreg2_in21k_ft_in1k"].training_data == "ImageNet-21k"
    assert by_spec["timm:vit_base_patch16_224.augreg2_in21k_ft_in1k"].fine_tuned is True


def test_samples_seen_parsed_from_tags():
    assert samples_seen_of("ViT-L-14", "datacomp_xl_s13b_b90k") == 13_000_000_000
    assert samples_seen_of("ViT-B-32", "commonpool_s_clip_s13m_b4k") == 13_000_000
    assert samples_seen_of("ViT-B-32", "laion400m_e32") == 32 * 400_000_000
    assert samples_seen_of("ViT-B-32", "laion2b_e16") is None


def test_filters_select_what_they_should(entries):
    sigmoid = select(["loss=sigmoid"])
    assert sigmoid and all(e.loss == "sigmoid" for e in sigmoid)
    assert {e.spec for e in sigmoid} == {e.spec for e in entries if e.loss == "sigmoid"}

    big = select(["data_size>=1e9", "population=clip"])
    assert {e.spec for e in big} == {
        e.spec for e in entries if e.population == "clip" and e.data_size is not None and e.data_size >= 1e9
    }
    assert select(["data_size>=1B"]) == select(["data_size>=1e9"]) == select(["data_size>=1000M"])

    laion = select(["training_data=LAION*", "family=ViT"])
    assert {e.training_data for e in laion} >= {"LAION-2B", "LAION-400M"}
    assert all(e.training_data.startswith("LAION") and e.family == "ViT" for e in laion)

    sup = select(["population=supervised"])
    assert len(sup) == sum(e.backend == "timm" for e in entries)

    not_ft = select(["fine_tuned=false", "backend=hf"])
    assert not_ft and all(e.fine_tuned is False and e.backend == "hf" for e in not_ft)

    unknown = select(["samples_seen=unknown", "population=clip"])
    assert unknown and all(e.samples_seen is None for e in unknown)
    either = select(["loss=sigmoid|contrastive"])
    assert len(either) == sum(e.loss in ("sigmoid", "contrastive") for e in entries)
    assert not select(["tag=alias", "spec!=*quickgelu*"])


def test_mapping_filters_equal_string_filters():
    assert select_specs({"training_data": "LAION-2B", "data_size": ">=1e9"}) == [
        e.spec for e in select(["training_data=LAION-2B", "data_size>=1e9"])
    ]
    assert select_specs({"loss": ["sigmoid", "contrastive"], "fine_tuned": False}) == [
        e.spec for e in select(["loss=sigmoid|contrastive", "fine_tuned=false"])
    ]
    assert select_specs({"params": "<2e8", "backend": "hf"}) == [
        e.spec for e in select(["backend=hf"]) if e.params is not None and e.params < 2e8
    ]


def test_presets():
    assert len(select_specs(preset="openai_clip")) == 9
    testbed = select(preset="testbed")
    names = {t.split(":", 1)[1] for e in testbed for t in e.tags if t.startswith("testbed:")}
    with open(resources.files("zeroshift.reports") / "_info" / "er_baseline.csv") as f:
        testbed_models = {r["model"] for r in csv.DictReader(f) if r["source"] == "testbed"}
    assert names and names <= testbed_models  # every mapped name is a model of Taori et al.'s testbed
    for name in preset_names():
        preset = load_preset(name)
        assert preset.description
        assert select_specs(preset=name), name
    # A preset narrows further with filters.
    narrowed = select(["family=ResNet"], preset="openai_clip")
    assert [e.spec for e in narrowed] == [s for s in select_specs(preset="openai_clip") if "RN" in s]
    assert all("quickgelu" not in s for s in select_specs(preset="tu2023_clip"))


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"los": "sigmoid"}, "unknown key 'los'; did you mean 'loss'?"),
        ({"data_size": ">=lots"}, "data_size takes a number"),
        ({"fine_tuned": "maybe"}, "fine_tuned takes true or false"),
        ({"loss": ">=sigmoid"}, "loss is not a number"),
        ({"loss": []}, "empty list"),
        ({"loss": [">=1", "x"]}, "cannot be one of a list"),
    ],
)
def test_bad_filters_fail_in_one_line(bad, expected):
    with pytest.raises(UsageError) as err:
        select_specs(bad)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_bad_condition_and_preset():
    with pytest.raises(UsageError, match="expected KEY OP VALUE"):
        parse_condition("training_data")
    with pytest.raises(UsageError, match="did you mean 'testbed'"):
        select_specs(preset="tetsbed")
    assert set(FIELDS) >= {"training_data", "loss", "family", "data_size", "population"}


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    from zeroshift.cli.main import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code or 0
    out, err = capsys.readouterr()
    return code, out, err


def test_ls_models_catalogue_cli(capsys):
    code, out, _ = _cli(capsys, "ls", "models", "--catalogue", "--filter", "loss=sigmoid", "--json")
    assert code == 0
    assert [e["spec"] for e in json.loads(out)] == select_specs({"loss": "sigmoid"})
    code, out, err = _cli(capsys, "ls", "models", "--catalogue", "--filter", "los=sigmoid")
    assert code == 2 and "did you mean 'loss'" in out + err
    assert len((out + err).strip().splitlines()) == 1
    code, out, err = _cli(capsys, "ls", "metrics", "--catalogue")
    assert code == 2 and "ls models --catalogue" in out + err


def test_catalogue_facts_agree_with_model_loading(entries):
    # the catalogue reads models/_info without importing the backends; model loading must see the same facts
    from zeroshift.models import metadata

    for e in entries:
        key = e.spec.split(":", 1)[1]
        known = metadata.lookup_training(e.backend, key)
        assert (known.get("training_data"), known.get("loss"), known.get("fine_tuned")) == (
            e.training_data,
            e.loss,
            e.fine_tuned,
        ), e.spec
        assert metadata.family_of(e.architecture) == e.family


def test_listing_the_catalogue_imports_no_model_backend():
    import subprocess
    import sys

    code = (
        "import sys; from zeroshift.catalogue import select_specs; select_specs({'loss': 'sigmoid'}); "
        "print([m for m in ('torch', 'open_clip', 'timm', 'transformers') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
