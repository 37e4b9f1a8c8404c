import numpy as np
import pytest
import torch

from zeroshift.data.base import LabelSpace
from zeroshift.data.imagenet import ImageNetA, ImageNetR, ImageNetV2, ImageNetVal
from zeroshift.data.info import clip_classnames, subset_wnids, wnid_index
from zeroshift.data.objectnet import ObjectNet
from zeroshift.errors import SpecError


def test_select_max_and_mean_prob_by_hand():
    logits = torch.tensor([[1.0, 5.0, 2.0, 0.0], [3.0, 0.0, 0.0, 4.0]])
    select = LabelSpace.from_columns("s", ["a", "c"], "u", list("abcd"), [0, 2])
    assert select.class_scores(logits, used_only=False).tolist() == [[1.0, 2.0], [3.0, 0.0]]
    grouped = LabelSpace.from_columns("g", ["ab", "cd"], "u", list("abcd"), [[0, 1], [2, 3]])
    assert grouped.class_scores(logits, used_only=False).tolist() == [[5.0, 2.0], [3.0, 4.0]]
    # used_only: logits already restricted to used columns (0, 1, 2, 3) -> same answer
    assert grouped.class_scores(logits).tolist() == [[5.0, 2.0], [3.0, 4.0]]
    mean = LabelSpace.from_columns("m", ["ab", "cd"], "u", list("abcd"), [[0, 1], [2, 3]], reduce="mean_prob")
    probs = torch.softmax(logits, dim=1)
    expected = torch.stack([probs[:, :2].mean(1), probs[:, 2:].mean(1)], dim=1)
    assert torch.allclose(
        torch.softmax(mean.class_scores(logits, used_only=False), dim=1), expected / expected.sum(1, keepdim=True)
    )


def test_imagenet_r_subset_and_full():
    bench = ImageNetR("/x")
    subset, full = bench.label_space("subset"), bench.label_space("full")
    assert len(subset.class_names) == 200 and len(full.class_names) == 1000
    index = wnid_index()
    assert list(subset.used_columns) == [index[w] for w in subset_wnids("imagenet_r")]
    assert subset.class_names[0] == clip_classnames()[index[subset_wnids("imagenet_r")[0]]]
    # native target i (the i-th of the 200 wnids) -> label i in subset, its ImageNet index in full
    assert list(bench.native_to_label(subset)[:3]) == [0, 1, 2]
    assert list(bench.native_to_label(full)[:3]) == [index[w] for w in subset_wnids("imagenet_r")[:3]]
    assert bench.label_space().name == "subset"  # the default, as in the Hendrycks code and CLIP_benchmark
    with pytest.raises(SpecError, match="no label space 'native'"):
        bench.label_space("native")


def test_full_only_benchmarks_and_parameters():
    assert ImageNetVal("/x").label_spaces == ("full",)
    assert ImageNetA("/x").label_space().name == "subset"
    with pytest.raises(SpecError, match="variant"):
        ImageNetV2("/x", variant="bogus")
    with pytest.raises(SpecError, match="label space is a run option"):
        ImageNetR("/x", label_space="full")


def test_objectnet_subset_is_grouped_max():
    space = ObjectNet("/x").label_space("subset")
    assert len(space.class_names) == 113 and space.reduce == "max"
    assert sum(len(g) for g in space.columns) == 125
    logits = torch.zeros(1, len(space.used_columns))
    # put the maximum on the second ImageNet class of a two-class group: that group must win
    group_index = next(i for i, g in enumerate(space.columns) if len(g) > 1)
    logits[0, list(space.used_columns).index(space.columns[group_index][1])] = 10.0
    assert int(space.class_scores(logits).argmax()) == group_index
    assert np.array_equal(ObjectNet("/x").native_to_label(space), np.arange(113))
