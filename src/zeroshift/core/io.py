"""The one atomic file write (a crash never leaves half a file that is later trusted).

Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "a" / "b.txt"
    >>> atomic_write_bytes(path, b"hello")
    >>> path.read_bytes()
    b'hello'

"""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
