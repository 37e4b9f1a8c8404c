"""Data sources: a benchmark's images from shard releases instead of its folder layout, found from the data root.

Where a benchmark's images live is a property of the data root, like the root itself, not of the benchmark: the
same ``imagenet_r`` gives the same records whether its images are JPEG folders, CLIP_benchmark's webdataset
shards or a Hugging Face ``datasets`` folder, and every place that rebuilds a benchmark from its canonical spec
(an OOD run's in-distribution set, a paired clean condition) finds the same images. :func:`find_source` decides,
for one benchmark under one data root:

1. an entry for the benchmark in ``<data root>/zeroshift-sources.yaml`` (always wins)::

       imagenet_r: {kind: wds, path: /mnt/clip_benchmark/wds_imagenet-r}
       imagenet: {kind: hf, path: hf/imagenet-1k-val, labels: imagenet_index}

   (relative paths are relative to the data root; options per kind: :data:`source_kinds`);
2. else the benchmark's own folder layout, when it is there (None is returned: the benchmark reads it);
3. else a published release found under the data root by its published name (``_info/releases.yaml``, e.g.
   ``wds_imagenet-r/``);
4. else None, and the benchmark reports its missing folder layout.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> find_source("imagenet_r", {}, root, folder_present=False) is None
    True
    >>> _ = (root / "wds_imagenet-r" / "test").mkdir(parents=True)
    >>> find_source("imagenet_r", {}, root, folder_present=False).record["kind"]
    'wds'
    >>> _ = (root / SOURCES_FILE).write_text("imagenet_rr: {kind: wds, path: x}")
    >>> find_source("imagenet_r", {}, root, folder_present=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    zeroshift.errors.SpecError: zeroshift-sources.yaml: unknown benchmark 'imagenet_rr'; did you mean 'imagenet_r'...

"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from zeroshift.data.sources.base import DataSource
from zeroshift.errors import DatasetError, SpecError
from zeroshift.registry import Registry, suggest

#: the sources file a data root may hold
SOURCES_FILE = "zeroshift-sources.yaml"

source_kinds: Registry[type[DataSource]] = Registry("data source kind")
source_kinds.register_lazy("wds", "zeroshift.data.sources.wds:WebDatasetSource")
source_kinds.register_lazy("hf", "zeroshift.data.sources.hf_disk:HFDiskSource")

# one source object per (benchmark, parameters, root, file states): a listing's findings (how labels matched,
# damaged shards) reach the record of every run that uses it, and shards are indexed once per process
_memo: dict[tuple, DataSource | None] = {}


@cache
def releases() -> dict[str, list[dict[str, Any]]]:
    """The published releases found by name under a data root (``_info/releases.yaml``)."""
    text = (resources.files("zeroshift.data.sources") / "_info" / "releases.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def read_sources_file(data_root: Path) -> dict[str, dict[str, Any]]:
    """The checked entries of ``<data root>/zeroshift-sources.yaml`` (empty when there is none).

    Raises:
        DatasetError: a file that is not YAML or not a mapping.
        SpecError: an unknown benchmark or kind, an entry without ``kind`` or ``path``.

    """
    from zeroshift.data import benchmarks

    path = data_root / SOURCES_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise DatasetError(
            f"{path}: not valid YAML{where}; expected 'benchmark: {{kind: wds|hf, path: ...}}'"
        ) from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a mapping 'benchmark: {{kind: wds|hf, path: ...}}'")
    entries: dict[str, dict[str, Any]] = {}
    for name, entry in data.items():
        if name not in benchmarks:
            raise SpecError(f"{SOURCES_FILE}: unknown benchmark {name!r}" + suggest(str(name), benchmarks.names()))
        if not isinstance(entry, dict) or "kind" not in entry or "path" not in entry:
            raise SpecError(f"{SOURCES_FILE}: {name} needs 'kind' ({', '.join(source_kinds.names())}) and 'path'")
        source_kinds.get(str(entry["kind"]))  # an unknown kind fails here, with suggestions
        entries[str(name)] = dict(entry)
    return entries


def _make(entry: dict[str, Any], data_root: Path, where: str) -> DataSource:
    options = {k: v for k, v in entry.items() if k not in ("kind", "path", "folder", "when")}
    path = Path(str(entry.get("path", entry.get("folder")))).expanduser()
    return source_kinds.get(str(entry["kind"]))(path if path.is_absolute() else data_root / path, where, **options)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def find_source(
    benchmark: str, params: dict[str, Any], data_root: Path | None, folder_present: bool
) -> DataSource | None:
    """The source a benchmark reads under ``data_root``, or None to read its folder layout (see module doc)."""
    if data_root is None:
        return None
    data_root = Path(data_root)
    candidates = tuple(_stamp(data_root / r["folder"]) for r in releases().get(benchmark, []))
    memo_key = (benchmark, repr(sorted(params.items())), str(data_root), folder_present, candidates)
    memo_key += (_stamp(data_root / SOURCES_FILE),)
    if memo_key in _memo:
        return _memo[memo_key]
    source: DataSource | None = None
    entry = read_sources_file(data_root).get(benchmark)
    if entry is not None:
        source = _make(entry, data_root, f"{SOURCES_FILE}: {benchmark}")
        if not source.path.exists():
            raise DatasetError(f"{SOURCES_FILE}: {benchmark}: {source.path} does not exist")
    elif not folder_present:
        for release in releases().get(benchmark, []):
            wanted = release.get("when", {})
            if all(params.get(k) == v for k, v in wanted.items()) and (data_root / release["folder"]).is_dir():
                source = _make(release, data_root, benchmark)
                break
    _memo[memo_key] = source
    return source


def release_hint(benchmark: str) -> str:
    """A sentence naming the shard releases a benchmark could also read (empty when it has none).

    Example:
        >>> release_hint("imagenet_r")
        ' Or a CLIP_benchmark webdataset release at <data root>/wds_imagenet-r, or an entry in zeroshift-sources.yaml.'

    """
    found = releases().get(benchmark, [])
    if not found:
        return ""
    names = " or ".join(f"<data root>/{r['folder']}" for r in found)
    return f" Or a CLIP_benchmark webdataset release at {names}, or an entry in {SOURCES_FILE}."


__all__ = ["SOURCES_FILE", "DataSource", "find_source", "read_sources_file", "release_hint", "releases", "source_kinds"]
