"""The class_subsets metric group (ImageNet val on the classes of ImageNet-R/-A/ObjectNet) against a plain loop."""

from __future__ import annotations

import numpy as np
import torch

from zeroshift.core.outputs import Outputs
from zeroshift.data.imagenet import ImageNetR, ImageNetVal
from zeroshift.metrics.class_subsets import class_subsets, class_subsets_group, subset_correct


def test_subset_accuracy_equals_a_plain_loop():
    rng = np.random.default_rng(0)
    logits = torch.from_numpy(rng.normal(size=(300, 1000)).astype(np.float32))
    subsets = class_subsets()
    labels = rng.choice(np.array(subsets["top1_on_imagenet_r_classes"] + (0, 1, 2)), size=300)
    # make a third of the samples right over the subset but wrong over all 1000 classes
    for i in range(0, 300, 3):
        logits[i, labels[i]] = 5.0
        logits[i, 3] = 9.0  # class 3 is in none of the R classes
    for columns in subsets.values():
        correct, n = subset_correct(logits, labels, columns)
        expected = []
        for row, label in zip(logits.numpy(), labels, strict=True):
            if label in columns:
                best = max(columns, key=lambda c, row=row: row[c])
                expected.append(best == label)
        assert n == len(expected)
        assert correct.tolist() == expected
    assert len(subsets["top1_on_imagenet_r_classes"]) == 200
    assert len(subsets["top1_on_imagenet_a_classes"]) == 200
    assert len(subsets["top1_on_objectnet_classes"]) == 125


def test_group_runs_on_1000_way_outputs_only():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 1000, 500)
    logits = torch.from_numpy(rng.normal(size=(500, 1000)).astype(np.float32))
    full = ImageNetVal(None).label_space("full")
    values = {m.name: m for m in class_subsets_group(Outputs([""] * 500, labels, logits, None, full), n_boot=50)}
    assert set(values) == set(class_subsets())
    r = values["top1_on_imagenet_r_classes"]
    assert r.details["n"] == int(np.isin(labels, class_subsets()["top1_on_imagenet_r_classes"]).sum())
    subset = ImageNetR(None).label_space("subset")
    assert class_subsets_group(Outputs([""], np.array([0]), torch.zeros(1, 200), None, subset)) == []
    assert "class_subsets" in ImageNetVal.metric_groups
