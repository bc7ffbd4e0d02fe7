"""An image's code, read out of ``docker save``: the files under its WORKDIR that the layers
above its base image put there (``functions-tui import docker``).

Why ``docker save`` and not a container's archive: reading an image through ``get_archive``
needs a container of it, which would be a change on the engine (also under ``--dry-run``),
and it shows the merged filesystem, base image included. ``docker save`` is a read, and it
hands over each layer as its own tar, so the base image's layers can be left out.

How: the saved archive is streamed once. Each layer tar in it (``<id>/layer.tar`` in the
format Docker Engine wrote before 25, ``blobs/sha256/<digest>`` in the OCI layout since) is
hashed while it is read: its sha256 is the layer's diff id, which says where it sits in the
image's ``RootFS.Layers`` whatever order the archive lists it in. Only entries under WORKDIR
are kept, in memory and bounded; then the kept layers above the base are applied in order,
whiteouts included (``.wh.NAME`` removes a lower layer's NAME, ``.wh..wh..opq`` a lower
layer's whole folder). Regular files and folders are written (files 0600, or 0700 when
executable; folders 0700: code can hold secrets); links and special files are counted, not
written.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

#: The most code kept in memory while the archive streams by, and written.
MAX_CODE_BYTES = 32 * 1024 * 1024
MAX_CODE_FILES = 10_000
#: An image larger than this is not read at all (``docker save`` streams all of it).
MAX_IMAGE_BYTES = 4 * 1024 ** 3

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


class CodeTooBig(Exception):
    """The WORKDIR holds more than the bounds allow."""


@dataclass
class Layer:
    """What one layer tar holds under WORKDIR (paths relative to it; "" is WORKDIR itself)."""

    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)   # rel -> (data, mode)
    folders: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)      # whiteouts: rel paths of lower entries
    opaque: set[str] = field(default_factory=set)       # folders whose lower contents are hidden
    skipped: int = 0                                    # links and special files
    size: int = 0


@dataclass
class Extracted:
    files: list[str]
    size: int
    skipped: int
    layers: int


class _Chunks:
    """A file-like view of the SDK's generator of byte chunks (what tarfile's stream mode reads)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


class _Hashing:
    """Reads through ``source`` and hashes every byte read (a layer's diff id)."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._hash.update(data)
        return data

    def drain(self) -> str:
        while self.read(1 << 20):
            pass
        return "sha256:" + self._hash.hexdigest()


def _clean(name: str) -> str:
    """A tar member's name as a path from the root, without ``./`` or a leading ``/``."""
    return posixpath.normpath("/" + (name[2:] if name.startswith("./") else name)).lstrip("/")


def _relative(path: str, workdir: str) -> str | None:
    """``path`` (as a layer tar spells it) relative to ``workdir`` ("" for WORKDIR itself), or
    None when it lies elsewhere."""
    path = _clean(path)
    if path == workdir:
        return ""
    if path.startswith(workdir + "/"):
        rel = path[len(workdir) + 1:]
        return rel if ".." not in rel.split("/") else None
    return None


def _read_layer(stream: Any, workdir: str, budget: list[int]) -> Layer:
    """The entries of one layer tar under ``workdir``; ``budget`` is [bytes, files] left."""
    layer = Layer()
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            head, base = posixpath.split(_clean(member.name))
            if base.startswith(WHITEOUT):
                # A whiteout of WORKDIR itself or a folder above it hides every lower entry.
                hidden = posixpath.join(head, base[len(WHITEOUT):]) if base != OPAQUE else head
                if not hidden or workdir == hidden or workdir.startswith(hidden + "/"):
                    layer.opaque.add("")
                    continue
                rel = _relative(hidden, workdir)
                if rel is not None:
                    (layer.opaque if base == OPAQUE else layer.removed).add(rel)
                continue
            rel = _relative(member.name, workdir)
            if rel is None:
                continue
            if member.isdir():
                if rel:
                    layer.folders.add(rel)
            elif member.isfile():
                budget[0] -= member.size
                budget[1] -= 1
                if budget[0] < 0 or budget[1] < 0:
                    raise CodeTooBig
                extracted = tar.extractfile(member)
                layer.files[rel] = (extracted.read() if extracted else b"", member.mode)
                layer.size += member.size
            else:
                layer.skipped += 1
    return layer


def _apply(layers: list[Layer]) -> tuple[dict[str, tuple[bytes, int]], set[str], int]:
    """The WORKDIR the layers make, lowest first: (files, folders, links skipped)."""
    files: dict[str, tuple[bytes, int]] = {}
    folders: set[str] = set()
    skipped = 0

    def under(rel: str, top: str) -> bool:
        return top == "" or rel == top or rel.startswith(top + "/")

    for layer in layers:
        for top in layer.opaque:   # the lower layers' contents of that folder are hidden
            files = {r: v for r, v in files.items() if not (under(r, top) and r != top)}
            folders = {r for r in folders if not (under(r, top) and r != top)}
        for gone in layer.removed:
            files = {r: v for r, v in files.items() if not under(r, gone)}
            folders = {r for r in folders if not under(r, gone)}
        for rel, entry in layer.files.items():
            folders.discard(rel)
            files[rel] = entry
        for rel in layer.folders:
            files.pop(rel, None)
            folders.add(rel)
        skipped += layer.skipped
    return files, folders, skipped


def read_workdir(chunks: Iterator[bytes], layers: list[str], skip: int, workdir: str,
                 folder: Path) -> Extracted:
    """Write the files the layers ``layers[skip:]`` (diff ids, lowest first) put under
    ``workdir`` into ``folder``, reading the ``docker save`` archive ``chunks``. Raises
    CodeTooBig past the bounds, LookupError when a wanted layer is not in the archive."""
    workdir = workdir.strip("/")
    wanted = set(layers[skip:])
    found: dict[str, Layer] = {}
    budget = [MAX_CODE_BYTES, MAX_CODE_FILES]
    with tarfile.open(fileobj=_Chunks(chunks), mode="r|") as archive:
        for member in archive:
            if not member.isfile():
                continue
            name = member.name
            if name.startswith("blobs/sha256/"):
                if "sha256:" + name.rsplit("/", 1)[-1] not in wanted:
                    continue   # a config, a manifest or a base layer (OCI blobs are named by digest)
            elif not name.endswith("/layer.tar"):
                continue
            stream = _Hashing(archive.extractfile(member))
            try:
                layer = _read_layer(stream, workdir, budget)
            except tarfile.ReadError:
                stream.drain()
                continue   # not a tar: nothing of ours
            digest = stream.drain()
            if digest in wanted:
                found[digest] = layer
            else:   # a base layer: what it held is given back to the budget
                budget[0] += layer.size
                budget[1] += len(layer.files)
    missing = [d for d in layers[skip:] if d not in found]
    if missing:
        raise LookupError(f"layer {missing[0]} is not in the saved image")
    files, folders, skipped = _apply([found[d] for d in layers[skip:]])
    root = folder.resolve()
    for rel in sorted(folders):
        (root / rel).mkdir(mode=0o700, parents=True, exist_ok=True)
    for rel, (data, mode) in sorted(files.items()):
        target = root / rel
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700 if mode & 0o111 else 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    return Extracted(files=sorted(files), size=sum(len(d) for d, _ in files.values()), skipped=skipped,
                     layers=len(layers) - skip)
