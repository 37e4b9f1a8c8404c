"""Index the members of a tar shard once, so any sample can then be read with one ``pread``.

A webdataset shard is a plain tar: each sample is a run of members sharing a key (``s0000001.webp``,
``s0000001.cls``). :func:`index_tar` walks the headers with the standard library's ``tarfile`` and keeps each
file member's data offset and size; reading a sample later needs no tar parsing at all, so loader workers can
read shards at random. A shard cut short (an interrupted download) keeps the members before the cut and says
where it broke.

Example:
    >>> import io, tarfile, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "0.tar")
    >>> with tarfile.open(path, "w") as tar:
    ...     for name, data in (("s0.jpg", b"abc"), ("s0.cls", b"3")):
    ...         info = tarfile.TarInfo(name); info.size = len(data); tar.addfile(info, io.BytesIO(data))
    >>> index = index_tar(path)
    >>> [(m.key, m.ext, m.size) for m in index.members], index.damaged
    ([('s0', 'jpg', 3), ('s0', 'cls', 1)], None)
    >>> read_member(path, index.members[1])
    b'3'
    >>> split_key("train/abc.seg.png")
    ('train/abc', 'seg.png')

"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """A file member of a shard: its name, sample key and extension, and where its bytes are."""

    name: str
    key: str
    ext: str
    offset: int
    size: int


@dataclass(frozen=True)
class TarIndex:
    """The file members of one shard, its size and modification time, and where it broke if it did."""

    members: tuple[Member, ...]
    size: int
    mtime_ns: int
    damaged: str | None = None


def split_key(name: str) -> tuple[str, str]:
    """Split a member name into webdataset's sample key and extension: the base name up to its first dot."""
    folder, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), (ext.lower() if dot else "")


def index_tar(path: str | os.PathLike[str]) -> TarIndex:
    """Walk the headers of a tar and index its file members (directories, links and hidden files skipped)."""
    st = os.stat(path)
    members: list[Member] = []
    damaged = None
    try:
        with tarfile.open(path, "r:") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                base = info.name.rpartition("/")[2]
                if base.startswith("."):
                    continue
                key, ext = split_key(info.name)
                members.append(Member(info.name, key, ext, info.offset_data, info.size))
            damaged = _tail_problem(path, tar.offset, st.st_size, len(members))
    except (tarfile.TarError, OSError, EOFError) as err:
        # members indexed so far stay readable; one whose data runs past the end is reported when it is loaded
        damaged = f"{err} after {len(members)} members (an interrupted download?)"
    return TarIndex(tuple(members), st.st_size, st.st_mtime_ns, damaged)


def _tail_problem(path: str | os.PathLike[str], end: int, size: int, count: int) -> str | None:
    """Why the archive ends early, if it does.

    ``tarfile`` stops without an error at a header cut short or garbled after the first member, so what follows
    the last member is checked: an intact archive ends with at least two zero blocks and only zeros after them.
    """
    rest = size - end
    if rest < 2 * tarfile.BLOCKSIZE:
        return f"no end-of-archive marker after {count} members (an interrupted download?)"
    with open(path, "rb") as f:
        f.seek(end)
        tail = f.read(min(rest, 1 << 20))
    if len(tail) < min(rest, 1 << 20) or tail.count(0) != len(tail) or rest > (1 << 20):
        return f"unreadable tar header at byte {end} after {count} members; the members after it are lost"
    return None


def read_member(path: str | os.PathLike[str], member: Member) -> bytes:
    """The bytes of one member (fewer than ``member.size`` when the shard is cut short)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, member.size, member.offset)
    finally:
        os.close(fd)
