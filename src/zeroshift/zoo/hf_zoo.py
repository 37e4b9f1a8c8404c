"""The zoo's models in transformers' own formats: one folder per model under ``weights/hf/``, and its manifest.

Each folder is what ``save_pretrained`` writes (``config.json``, ``model.safetensors`` in float16, tokenizer,
processor and chat template files), so transformers' own classes load it: ``lmm:zoo/NAME`` (a LLaVA, through
:mod:`zeroshift.models.lmm`) or ``hf:<folder>`` (a CLIP, through :mod:`zeroshift.models.hf`). ``manifest.json``
lists each model's kind, files with their sha256 and metadata of the six factors; a folder whose files do not
match it is refused.

Example:
    >>> entry = {"files": {"a.txt": "0" * 64}}
    >>> folder_sha256(entry) == folder_sha256({"files": {"a.txt": "0" * 64}})
    True

"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from zeroshift.errors import ModelLoadError
from zeroshift.registry import suggest

MANIFEST = "manifest.json"


def shipped_hf_dir() -> Path:
    """The folder of the zoo's transformers-format models inside the package."""
    from zeroshift.zoo.train import shipped_dir

    return shipped_dir() / "hf"


@cache
def hf_manifest(folder: str | None = None) -> dict[str, Any]:
    """The manifest of a folder of transformers-format zoo models (the shipped one by default)."""
    path = Path(folder) if folder is not None else shipped_hf_dir()
    manifest = path / MANIFEST
    return json.loads(manifest.read_text()) if manifest.is_file() else {"models": {}}


def hf_zoo_names(kind: str | None = None) -> list[str]:
    """Names of the shipped transformers-format models (``kind``: ``lmm`` or ``clip``; None: all).

    Example:
        >>> set(hf_zoo_names("lmm")) <= set(hf_zoo_names())
        True

    """
    return [n for n, e in hf_manifest()["models"].items() if kind is None or e["kind"] == kind]


def folder_sha256(entry: dict[str, Any]) -> str:
    """One digest of a model folder: sha256 over its files' names and sha256s, as the manifest lists them."""
    text = "".join(f"{name}={digest}\n" for name, digest in sorted(entry["files"].items()))
    return hashlib.sha256(text.encode()).hexdigest()


def zoo_folder(name: str, kind: str) -> tuple[Path, dict[str, Any]]:
    """The shipped folder of zoo model ``name`` of ``kind`` and its manifest entry (unknown name: one line)."""
    entry = hf_manifest()["models"].get(name)
    if entry is None or entry["kind"] != kind:
        known = hf_zoo_names(kind)
        hint = suggest(name, known) or (f"; shipped: {', '.join(known)}" if known else "; none is shipped")
        raise ModelLoadError(f"unknown zoo {kind} {name!r}{hint}")
    return shipped_hf_dir() / name, entry


def verify_folder(folder: Path, entry: dict[str, Any]) -> None:
    """Check every file of a shipped model against the sha256 in the manifest."""
    for file, expected in entry["files"].items():
        path = folder / file
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            raise ModelLoadError(f"{path} is missing or does not match the sha256 in the zoo manifest (reinstall)")


def write_manifest_entry(folder: Path, name: str, kind: str, info: dict[str, Any]) -> dict[str, Any]:
    """Hash the files of ``folder/name`` and record them with ``info`` in ``folder/manifest.json``."""
    model_dir = folder / name
    files = {
        p.relative_to(model_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(model_dir.rglob("*"))
        if p.is_file()
    }
    entry = {"kind": kind, "files": files, "bytes": sum((model_dir / f).stat().st_size for f in files), "info": info}
    path = folder / MANIFEST
    manifest = json.loads(path.read_text()) if path.is_file() else {"models": {}}
    manifest["models"][name] = entry
    manifest["models"] = dict(sorted(manifest["models"].items()))
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    hf_manifest.cache_clear()
    return entry
