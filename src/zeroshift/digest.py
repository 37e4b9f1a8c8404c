"""Content digests of weight files and folders, memoised by (path, size, mtime) so a 600 MB checkpoint is
hashed once per change rather than once per run.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.bin")
    >>> _ = open(path, "wb").write(b"abc")
    >>> file_digest(path)[:12]
    'ba7816bf8f01'

"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from zeroshift.paths import cache_dir

_LOCK = threading.Lock()


def _memo_path() -> Path:
    return cache_dir() / "digests.json"


def _read_memo() -> dict[str, str]:
    try:
        return json.loads(_memo_path().read_text())
    except (OSError, ValueError):
        return {}


def _write_memo(memo: dict[str, str]) -> None:
    path = _memo_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(memo))
        os.replace(tmp, path)
    except OSError:
        pass  # the memo is an optimisation only


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, memoised under the cache folder by (absolute path, size, mtime_ns)."""
    path = os.path.abspath(path)
    st = os.stat(path)
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    with _LOCK:
        memo = _read_memo()
        if key in memo:
            return memo[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    with _LOCK:
        memo = _read_memo()
        memo[key] = digest
        _write_memo(memo)
    return digest


def folder_digest(path: str | os.PathLike[str]) -> str:
    """sha256 over the relative names and content digests of every file in a folder (recursively)."""
    root = Path(path)
    h = hashlib.sha256()
    for file in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        h.update(f"{file.relative_to(root)}={file_digest(file)}\n".encode())
    return h.hexdigest()
