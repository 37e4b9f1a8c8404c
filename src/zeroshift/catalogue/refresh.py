"""Regenerate the catalogue's generated data files from the installed open_clip and timm.

``python -m zeroshift.catalogue.refresh`` rewrites ``_info/open_clip.csv`` (one row per
``open_clip.list_pretrained()`` entry) and ``_info/timm.csv`` (one row per timm ImageNet-1k classifier), so a
newer open_clip or timm release is picked up by rerunning it; the hand-written files (``hf.csv``,
``testbed_timm.csv``, ``training_sources.csv``, ``presets.yaml``) are left alone. Training data, loss and
fine-tuning are not written here: the loader reads them from ``zeroshift/models/_info/training_data.csv``, the
one place that knows them.

Example:
    >>> samples_seen_of("ViT-B-32", "laion2b_s34b_b79k"), samples_seen_of("RN50", "openai")
    (34000000000, 12800000000)
    >>> samples_seen_of("ViT-B-16-SigLIP", "webli") is None
    True

"""

from __future__ import annotations

import csv
import re
from pathlib import Path

INFO = Path(__file__).parent / "_info"

#: The open_clip release notes, where each tag's samples-seen figure is stated.
OPEN_CLIP_SOURCE = "https://github.com/mlfoundations/open_clip/blob/main/docs/PRETRAINED.md"

# Tags whose samples seen are not spelled in the tag itself, with the paper that states them: CLIP trained
# 32 epochs over 400M pairs (Radford et al. 2021, section 2.5); MetaCLIP matched that 12.8B budget (Xu et al.
# 2023, section 4); LAION-400M runs are named by their epoch count over 400M pairs (Cherti et al. 2023).
_SEEN_BY_TAG = {
    "openai": 12_800_000_000,
    "metaclip_400m": 12_800_000_000,
    "metaclip_fullcc": 12_800_000_000,
}
_SCALE = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
_MULTILINGUAL = re.compile(r"(?i)(xlm|roberta|mt5|nllb|i18n|worldwide)")


def samples_seen_of(arch: str, tag: str) -> int | None:
    """Training samples seen by ``arch@tag`` as open_clip names it (``_s34b_`` = 34B), or ``None``."""
    if tag in _SEEN_BY_TAG:
        return _SEEN_BY_TAG[tag]
    match = re.search(r"(?:^|_)s(\d+)([kmb])(?:_|$)", tag)
    if match:
        return int(match.group(1)) * _SCALE[match.group(2)]
    match = re.fullmatch(r"laion400m_e(\d+)", tag)
    if match:
        return int(match.group(1)) * 400_000_000
    return None


def _profile() -> dict[str, str]:
    with open(INFO / "open_clip_profile.csv", encoding="utf-8") as f:
        return {row["model"]: row["mparams"] for row in csv.DictReader(f)}


def open_clip_rows() -> list[dict[str, str]]:
    """One row per pretrained open_clip entry (spec, architecture, params, samples seen, tags, source)."""
    import open_clip

    pretrained = open_clip.list_pretrained()
    profile = _profile()
    names = set(pretrained)
    rows = []
    for arch, tag in pretrained:
        tags = []
        base = arch.replace("-quickgelu", "")
        # open_clip lists the same weight file under ARCH and ARCH-quickgelu; keep one in populations.
        if base != arch and (base, tag) in names:
            tags.append("alias")
        if arch.lower().startswith("coca"):
            tags.append("captioner")
        if _MULTILINGUAL.search(arch) or _MULTILINGUAL.search(tag):
            tags.append("multilingual")
        seen = samples_seen_of(arch, tag)
        rows.append(
            {
                "spec": f"open_clip:{arch}@{tag}",
                "architecture": arch,
                "params_m": profile.get(arch) or profile.get(base) or "",
                "samples_seen": "" if seen is None else str(seen),
                "tags": " ".join(tags),
                "source": OPEN_CLIP_SOURCE,
            }
        )
    return rows


def timm_rows() -> list[dict[str, str]]:
    """One row per timm ImageNet-1k classifier, tagged with the testbed and ER-baseline populations it is in."""
    import timm

    testbed: dict[str, str] = {}
    with open(INFO / "testbed_timm.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            testbed[row["timm"]] = row["testbed"]
    baseline_csv = Path(__file__).parents[1] / "reports" / "_info" / "er_baseline.csv"
    with open(baseline_csv, encoding="utf-8") as f:
        baseline = {r["model"].split("@")[0] for r in csv.DictReader(f) if r["source"] == "timm"}
    rows = []
    for name in timm.list_pretrained():
        if not re.search(r"in1k(_\d+)?$", name):
            continue
        tags = []
        if name in testbed:
            tags.append(f"testbed:{testbed[name]}")
        if name in baseline:
            tags.append("er_baseline")
        rows.append(
            {
                "spec": f"timm:{name}",
                "architecture": name.split(".")[0],
                "tags": " ".join(tags),
                "source": f"https://huggingface.co/timm/{name}",
            }
        )
    return rows


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    """Rewrite ``_info/open_clip.csv`` and ``_info/timm.csv``."""
    _write(INFO / "open_clip.csv", open_clip_rows())
    _write(INFO / "timm.csv", timm_rows())


if __name__ == "__main__":
    main()
