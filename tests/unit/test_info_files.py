"""The label data files: counts, order, and agreement with independent copies."""

import csv
import json
from importlib import resources

import pytest

from tests.helpers import shared_data_dir
from zeroshift.data.info import clip_classnames, imagenet_wnids, info_json, sixteen_class, subset_wnids
from zeroshift.data.objectnet import N_FOLDERS, objectnet_mapping
from zeroshift.prompts import load_prompts


def timm_info(name):
    return (resources.files("timm.data") / "_info" / name).read_text().split()


def test_imagenet_wnids_count_order_and_timm_agreement():
    wnids = imagenet_wnids()
    assert len(wnids) == 1000 and len(set(wnids)) == 1000
    assert list(wnids) == sorted(wnids)  # ILSVRC-2012 class indices follow the sorted WordNet ids
    assert wnids[0] == "n01440764" and wnids[-1] == "n15075141"
    assert list(wnids) == timm_info("imagenet_synsets.txt")


def test_imagenet_wnids_match_the_shared_manifest():
    manifest = shared_data_dir() / "imagenet-samples" / "manifest.csv"
    if not manifest.exists():
        pytest.skip(f"{manifest} is absent")
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    assert {int(r["class_index"]): r["wnid"] for r in rows} == dict(enumerate(imagenet_wnids()))


def test_clip_classnames():
    names = clip_classnames()
    assert len(names) == 1000
    assert names[:3] == ("tench", "goldfish", "great white shark")
    assert names[-1] == "toilet paper"


def test_templates():
    openai = load_prompts("openai").templates
    assert len(openai) == 80 and len(set(openai)) == 80
    assert openai[0] == "a bad photo of a {}." and all("{}" in t for t in openai)
    assert load_prompts("simple").templates == ("a photo of a {}.",)


@pytest.mark.parametrize(
    "name,timm_file",
    [("imagenet_r", "imagenet_r_synsets.txt"), ("imagenet_a", "imagenet_a_synsets.txt"), ("imagenet_o", None)],
)
def test_200_class_subsets(name, timm_file):
    wnids = subset_wnids(name)
    assert len(wnids) == 200 and len(set(wnids)) == 200
    order = {w: i for i, w in enumerate(imagenet_wnids())}
    assert [order[w] for w in wnids] == sorted(order[w] for w in wnids)  # ILSVRC order
    if timm_file:
        assert list(wnids) == timm_info(timm_file)


def test_sixteen_class_mapping():
    mapping = sixteen_class()
    assert len(mapping) == 16
    assert sum(len(v) for v in mapping.values()) == 207
    assert sorted(mapping) == [
        "airplane",
        "bear",
        "bicycle",
        "bird",
        "boat",
        "bottle",
        "car",
        "cat",
        "chair",
        "clock",
        "dog",
        "elephant",
        "keyboard",
        "knife",
        "oven",
        "truck",
    ]
    assert mapping["knife"] == (499,) and mapping["elephant"] == (385, 386)
    indices = [i for v in mapping.values() for i in v]
    assert len(indices) == len(set(indices))
    shared = shared_data_dir() / "cue-conflict" / "sixteen_class_to_imagenet.json"
    if shared.exists():
        other = json.loads(shared.read_text())
        assert {k: sorted(v["imagenet_indices"]) for k, v in other.items()} == {
            k: sorted(v) for k, v in mapping.items()
        }


def test_objectnet_mapping():
    mapping = objectnet_mapping()
    assert len(mapping) == 113
    positions = [p for p, _ in mapping]
    assert positions == sorted(set(positions)) and max(positions) < N_FOLDERS
    indices = [i for _, g in mapping for i in g]
    assert len(indices) == len(set(indices)) == 125 and all(0 <= i < 1000 for i in indices)
    assert "source" in info_json("objectnet.json")
