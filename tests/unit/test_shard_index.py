"""Tar shard indexing (damage detection) and the mapping of a release's labels onto a benchmark's classes."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from zeroshift.data.info import clip_classnames, imagenet_wnids, subset_wnids, wnid_index
from zeroshift.data.sources.classmap import map_labels, targets_from
from zeroshift.data.sources.tar_index import index_tar, read_member, split_key
from zeroshift.errors import DatasetError, SpecError


def _tar(path, members):
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


MEMBERS = [(f"s{i}.{ext}", bytes([i]) * (700 if ext == "jpg" else 1)) for i in range(3) for ext in ("cls", "jpg")]


def test_intact_tar_indexes_every_member_with_its_bytes(tmp_path):
    path = _tar(tmp_path / "0.tar", MEMBERS + [("dir/.hidden", b"x")])
    index = index_tar(path)
    assert index.damaged is None
    assert [(m.key, m.ext) for m in index.members] == [(f"s{i}", e) for i in range(3) for e in ("cls", "jpg")]
    assert [read_member(path, m) for m in index.members] == [d for _, d in MEMBERS]


@pytest.mark.parametrize(
    "cut,expected_members,phrase",
    [
        (lambda m: m[5].offset_data + 10, 6, "unexpected end of data"),  # inside the last member's data
        (lambda m: m[4].offset + 100, 4, "after 4 members"),  # inside a header
        (lambda m: m[-1].offset_data + 1024, 6, "no end-of-archive marker"),  # the end marker itself is cut
    ],
)
def test_cut_shards_keep_what_precedes_the_cut_and_say_so(tmp_path, cut, expected_members, phrase):
    path = _tar(tmp_path / "0.tar", MEMBERS)
    with tarfile.open(path) as tar:
        infos = tar.getmembers()
    data = path.read_bytes()
    path.write_bytes(data[: cut(infos)])
    index = index_tar(path)
    assert len(index.members) == expected_members and phrase in index.damaged


def test_garbled_header_mid_shard_is_damage_not_the_end(tmp_path):
    path = _tar(tmp_path / "0.tar", MEMBERS)
    with tarfile.open(path) as tar:
        header = tar.getmembers()[2].offset
    data = bytearray(path.read_bytes())
    data[header : header + 512] = b"\xff" * 512  # tarfile stops here silently
    path.write_bytes(bytes(data))
    index = index_tar(path)
    assert len(index.members) == 2 and f"unreadable tar header at byte {header}" in index.damaged


def test_split_key_follows_webdataset():
    assert split_key("s0000001.webp") == ("s0000001", "webp")
    assert split_key("a/b.c/x.seg.PNG") == ("a/b.c/x", "seg.png")
    assert split_key("README") == ("README", "")


# --- label mapping ----------------------------------------------------------------------------------------------
def _imagenet_r():
    wnids = list(subset_wnids("imagenet_r"))
    return wnids, [clip_classnames()[wnid_index()[w]] for w in wnids]


def test_clip_benchmark_classnames_match_by_position():
    wnids, names = _imagenet_r()
    lookup, how = map_labels(names, wnids, names)
    assert lookup.tolist() == list(range(200)) and how["matched_by"] == "clip name, position"
    lookup, how = map_labels(wnids, wnids, names)
    assert how["matched_by"] == "wnid, position"


def test_duplicate_clip_names_only_match_by_position():
    # CLIP's 1000 names repeat 'sunglasses' and 'missile': by position they are fine, by name they are ambiguous
    names = list(clip_classnames())
    first = names.index("sunglasses")
    second = names.index("sunglasses", first + 1)
    lookup, _ = map_labels(names, list(imagenet_wnids()), names)
    assert lookup[first] == first and lookup[second] == second
    shuffled = names[::-1]
    lookup, how = map_labels(shuffled, list(imagenet_wnids()), names)
    assert how["matched_by"] == "name" and how["unmatched"] == 4  # two names twice each
    assert lookup[999 - first] == -1 and lookup[0] == 999  # the last class comes first


def test_reordered_or_partial_names_map_by_name():
    wnids, names = _imagenet_r()
    source = [names[3], wnids[0].upper(), "a name of no class"]
    lookup, how = map_labels(source, wnids, names)
    assert lookup.tolist() == [3, 0, -1] and how == {"labels": "names", "matched_by": "name", "unmatched": 1}


def test_imagenet_index_maps_ilsvrc_numbers_onto_a_subset():
    wnids, names = _imagenet_r()
    lookup, _ = map_labels(None, wnids, names, labels="imagenet_index")
    goldfish = wnid_index()["n01443537"]
    assert lookup[goldfish] == 0 and lookup[0] == -1  # tench is not an ImageNet-R class
    targets = targets_from(np.array([goldfish]), lookup, None, "imagenet_r", "x")
    assert targets.tolist() == [0]
    with pytest.raises(DatasetError, match=r"1 sample\(s\) have classes outside imagenet_r's, e.g. label 0"):
        targets_from(np.array([goldfish, 0]), lookup, None, "imagenet_r", "x")


def test_no_names_or_no_match_or_bad_mode_fail_with_one_line():
    wnids, names = _imagenet_r()
    with pytest.raises(DatasetError, match="no class names .* labels: index"):
        map_labels(None, wnids, names)
    with pytest.raises(DatasetError, match="none of its class names \\('cat', ...\\)"):
        map_labels(["cat", "dog"], wnids, names)
    with pytest.raises(SpecError, match="labels must be one of names, index, imagenet_index"):
        map_labels(names, wnids, names, labels="wnid")
