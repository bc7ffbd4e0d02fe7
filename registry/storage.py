"""The registry's TinyDB storage and middleware: one JSON file, read fail-closed, replaced atomically.

RegistryStorage (``TinyDB(path, storage=RegistryStorage)``). TinyDB's own JSONStorage
rewrites the file in place: a kill mid-write leaves a truncated file, and an empty file
reads back as an empty database. This storage:

- writes a temp file in the same folder, fsyncs it, keeps the current file (for the store: as
  a generation in ``generations/``, see below; for plain TinyDB use: as ``<name>.bak``), a hard
  link so no copy, ``os.replace``s the temp file over the registry and fsyncs the folder, so at
  every instant the path holds either the old or the new complete file;
- a symlinked registry stays a symlink: the write goes to its target, atomically in the
  target's folder;
- generations: the store keeps the last N registry files it replaced as
  ``generations/serial-<serial>.json`` (folder 0700, files 0600), each put there whole (a hard
  link of the replaced file, or a copy written temp + fsync + rename) before the replace, so a
  kill leaves no half generation; see generation_files / keep_generation / prune_generations;
- reads fail closed: a 0-byte, truncated, non-JSON or non-object file raises
  CorruptRegistryError; only a missing file reads as "no database yet" (None);
- uses orjson (several times faster than json at 100k records; a dependency already),
  encodes a slice of rows at a time (encode_tables) and pauses the cyclic garbage collector
  while parsing, which otherwise rescans the millions of fresh dicts over and over (it
  doubles the parse time of a large registry);
- keeps the file 0600 and its folder 0700 (the registry holds env values).

TransactionCache, TinyDB's CachingMiddleware made a transaction: every TinyDB call reads
and writes the whole database through its storage; in a transaction they work on one read
held in memory, written once by ``commit`` (or never). SnapshotStorage: a read-only TinyDB
storage over a read already made, for queries.

Locking is not this module's job (registry.lock); it only guarantees each write is atomic.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import stat
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Iterator

import orjson
from tinydb.middlewares import CachingMiddleware
from tinydb.storages import Storage

from functions_tui.registry.gc_pause import gc_paused
from functions_tui.registry.errors import corrupt

FILE_MODE = 0o600
DIR_MODE = 0o700
TEMP_SUFFIX = ".tmp"


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def write_target(path: Path) -> Path:
    """The file a write of ``path`` replaces: ``path`` itself, or, when it is a symlink, the
    file it points to (so the link stays a link)."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


def secure_dir(folder: Path) -> None:
    """Create ``folder`` (and parents) as 0700, or tighten an existing one we own.

    Never touches a shared folder (sticky bit, like /tmp), the home folder or one owned by
    someone else: the registry's folder is normally our own config dir.
    """
    if not folder.exists():
        folder.mkdir(parents=True, mode=DIR_MODE, exist_ok=True)
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask
        return
    st = folder.stat()
    shared = st.st_mode & stat.S_ISVTX or st.st_uid != os.getuid()
    try:
        home = Path.home().resolve()
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        home = None
    if shared or folder.resolve() in (home, Path("/")):
        return
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        os.chmod(folder, DIR_MODE)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_fd(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


#: What a write takes: the file's bytes, or an iterable of its pieces in order.
Payload = bytes | Iterable[bytes | memoryview]


def write_temp(folder: Path, name: str, payload: Payload, *, durable: bool = True, mode: int = FILE_MODE) -> Path:
    """Write ``payload`` to a fresh temp file in ``folder`` (0600 unless ``mode``); fsync it
    when durable. The one way every file of the project is written (see write_atomic).

    Given pieces, each is written as it comes: a large registry is then serialized a slice
    at a time straight into the file, never whole in memory. An exception while producing
    them removes the temp file and propagates (nothing else was touched).
    """
    tmp = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have narrowed it further
        if isinstance(payload, (bytes, bytearray, memoryview)):
            _write_fd(fd, payload)
        else:
            for piece in payload:
                _write_fd(fd, piece)
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def _keep_backup(path: Path) -> None:
    """Make ``<path>.bak`` the current file, atomically (hard link; copy if unsupported)."""
    bak = backup_path(path)
    staged = bak.with_name(f".{bak.name}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        os.link(path, staged)
    except FileNotFoundError:
        return  # first write: nothing to keep
    except OSError:  # a filesystem without hard links
        shutil.copy2(path, staged)
        os.chmod(staged, FILE_MODE)
    os.replace(staged, bak)


def write_atomic(path: Path, payload: Payload, *, backup: bool = True,
                 keep: Callable[[], object] | None = None, mode: int = FILE_MODE,
                 private_folder: bool = True, durable: bool = True) -> None:
    """Replace ``path`` with ``payload`` (bytes, or pieces: see write_temp) so that a crash
    at any point leaves the old or the new file, never a mix; with ``backup`` the replaced
    file stays as ``<path>.bak``. ``keep`` runs once the new file is safely on disk, just
    before the replace (the store keeps the replaced file as a generation there); if it
    raises, nothing was replaced. A symlinked ``path`` stays a link: its target is replaced,
    from a temp file in the target's folder. ``mode``: the new file's (0600 unless a caller
    keeps a file's own, as the write-back to a function.yaml does); ``private_folder``: make
    the folder 0700 (the config dir's files; never a person's project folder)."""
    if private_folder:
        secure_dir(path.parent)
    target = write_target(path)
    tmp = write_temp(target.parent, target.name, payload, mode=mode, durable=durable)
    try:
        if backup:
            _keep_backup(path)
        if keep is not None:
            keep()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(target.parent)  # makes the rename itself durable


def remove_stale_temp_files(path: Path) -> None:
    """Delete temp files of the registry, its backup or its lock note left by a writer that
    was killed mid-write. Called with the registry lock held: every writer of these files
    holds the lock while it writes, so any such file now is garbage. (Deciding by the
    writer's pid instead would be fooled by pid reuse.)"""
    target = write_target(path)
    places = {(path.parent, path.name), (target.parent, target.name), (generations_dir(path), "serial-")}
    for folder, name in places:
        for entry in folder.glob(f".{name}*{TEMP_SUFFIX}"):
            parts = entry.name.rsplit(".", 3)  # ".<name>", "<pid>", "<token>", "tmp"
            if len(parts) == 4 and parts[1].isdigit():
                entry.unlink(missing_ok=True)


# --- generations ------------------------------------------------------------------------

_GENERATION = re.compile(r"^serial-(\d+)(?:-[0-9a-f]+)?\.json$")


def generations_dir(path: Path) -> Path:
    """Where the generations of the registry at ``path`` are kept (next to it, not next to a
    symlink's target): ``generations/`` for ``registry.json``, ``<name>.generations/`` else."""
    return path.parent / ("generations" if path.name == "registry.json" else f"{path.name}.generations")


def generation_files(path: Path) -> list[tuple[int, Path]]:
    """``(serial, file)`` of every kept generation of ``path``, newest (highest serial) first."""
    try:
        entries = list(os.scandir(generations_dir(path)))
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        match = _GENERATION.match(entry.name)
        if match and entry.is_file(follow_symlinks=False):
            try:
                found.append((int(match.group(1)), entry.stat(follow_symlinks=False).st_mtime_ns, entry.path))
            except FileNotFoundError:  # pruned meanwhile
                continue
    found.sort(reverse=True)
    return [(serial, Path(file)) for serial, _, file in found]


def keep_generation(source: Path, registry: Path, serial: int) -> Path | None:
    """Put the file ``source`` (the registry about to be replaced, or an old ``.bak``) among
    the generations of ``registry`` as ``serial-<serial>.json``; None when there is no
    ``source``. The name appears whole or not at all: a hard link (the registry file is never
    changed in place: every write replaces it), or, across filesystems, a copy written to a
    temp file, fsynced and renamed. A name already holding another file is never replaced."""
    folder = generations_dir(registry)
    secure_dir(folder)
    source = write_target(source)
    name = folder / f"serial-{serial}.json"
    for _ in range(8):
        try:
            os.link(source, name, follow_symlinks=False)
        except FileNotFoundError:
            if not os.path.lexists(source):
                return None
            raise
        except FileExistsError:
            if os.path.samefile(source, name):  # kept already (a write killed after keeping it)
                return name
            name = folder / f"serial-{serial}-{secrets.token_hex(3)}.json"
            continue
        except OSError as exc:  # no hard links here (another filesystem, a FAT stick...)
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            try:
                with open(source, "rb") as fh:
                    payload = fh.read()
            except FileNotFoundError:
                return None
            tmp = write_temp(folder, name.name, payload)
            try:
                # Never over an existing generation (the caller holds the registry lock, so
                # no other writer picks a name in this folder meanwhile).
                if os.path.lexists(name):
                    name = folder / f"serial-{serial}-{secrets.token_hex(3)}.json"
                os.replace(tmp, name)
            finally:
                tmp.unlink(missing_ok=True)
        _fsync_dir(folder)
        return name
    raise OSError(errno.EEXIST, f"cannot find a free generation name in {folder}")


def prune_generations(registry: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` generations; returns the files deleted."""
    gone = [file for _, file in generation_files(registry)[max(keep, 0):]]
    for file in gone:
        file.unlink(missing_ok=True)
    return gone


def read_meta(path: Path) -> dict[str, Any]:
    """The ``meta`` document of a registry file, read from its first bytes when it starts with
    it (every file the store writes does), else by parsing the whole file. Raises
    CorruptRegistryError (or OSError) when it cannot be read."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
        prefix = b'{"meta":'
        if head.startswith(prefix):
            try:
                table, _ = json.JSONDecoder().raw_decode(head.decode("utf-8", "replace"), len(prefix))
                meta = next(iter(table.values())) if isinstance(table, dict) and len(table) == 1 else None
                if isinstance(meta, dict):
                    return meta
            except ValueError:
                pass
        payload = head + fh.read()
    tables = parse(payload, path)
    meta_table = tables.get("meta")
    meta = next(iter(meta_table.values()), None) if isinstance(meta_table, dict) else None
    if not isinstance(meta, dict):
        raise corrupt(path, "the 'meta' table is missing")
    if "functions" not in meta and isinstance(tables.get("functions"), dict):
        meta = dict(meta, functions=len(tables["functions"]))
    return meta


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this host (zombies count as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:  # a killed child not yet reaped is a zombie: dead for our purposes
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def parse(payload: bytes, path: Path) -> dict[str, Any]:
    """Parse a registry file's bytes; anything but a JSON object is corrupt."""
    if not payload.strip():
        raise corrupt(path, "the file is empty (0 bytes)" if not payload else "the file is blank")
    try:
        with gc_paused(long_lived=True):
            data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise corrupt(path, f"not valid JSON, truncated or overwritten ({exc})") from None
    if not isinstance(data, dict):
        raise corrupt(path, f"the top level is a JSON {type(data).__name__}, expected an object of tables")
    return data


def read_file(path: Path) -> dict[str, Any] | None:
    """The parsed file, or None if it does not exist. Unreadable content raises."""
    return read_file_unless(path, None)[1]


#: Identifies one version of a file: every write replaces the file (a new inode, new times).
FileVersion = tuple[int, int, int, int, int]

UNCHANGED: Any = object()


def read_file_unless(path: Path, known: FileVersion | None) -> tuple[FileVersion | None, Any]:
    """``(version, tables)`` of the file, ``tables`` being None when it does not exist, or
    UNCHANGED when the file is still the ``known`` version (then nothing is read).

    The version comes from fstat of the very descriptor that is read, so it always
    describes the bytes returned.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise corrupt(path, "it is a directory")
        version = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if version == known:
            return version, UNCHANGED
        with os.fdopen(fd, "rb", closefd=False) as fh:
            payload = fh.read()
    finally:
        os.close(fd)
    return version, parse(payload, path)


class Deferred:
    """A value worked out only as the file is written (``make(arg)``, by the encoder): a
    record put in a transaction is stored so, and compacted a slice at a time while it is
    encoded (see encode_tables), not all at once before."""

    __slots__ = ("make", "arg")

    def __init__(self, make: Callable[[Any], Any], arg: Any) -> None:
        self.make, self.arg = make, arg


def _jsonable(value: Any) -> Any:
    """What orjson cannot write as is: a Deferred value; a caller's set or Mapping in a record."""
    if type(value) is Deferred:
        return value.make(value.arg)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


#: Rows of a table encoded together: small enough to stay in the CPU cache from encoding
#: to writing, large enough that the per-slice calls cost nothing (see encode_tables).
WRITE_SLICE = 500


def encode_tables(tables: Mapping[str, Mapping[str, Any]]) -> Iterator[bytes | memoryview]:
    """The bytes of ``orjson.dumps(tables)``, ``meta`` first (so a damaged file's serial can
    still be read from its start) and ``history`` last, each table encoded WRITE_SLICE rows at a time: encoding a
    100k-row table in one call builds a buffer as large as the file, paged in and freed
    again; a slice is encoded, written and freed while it is still in the CPU cache."""
    order = sorted(tables, key=lambda name: (name != "meta", name == "history"))  # (the registry's layout)
    yield b"{"
    for n, name in enumerate(order):
        rows = tables[name]
        yield (b"," if n else b"") + orjson.dumps(name) + b":{"
        items = list(rows.items())
        for start in range(0, len(items), WRITE_SLICE):
            encoded = orjson.dumps(dict(items[start:start + WRITE_SLICE]), default=_jsonable)
            if start:
                yield b","
            yield memoryview(encoded)[1:-1]  # the slice's members, without its braces
        yield b"}"
    yield b"}"


class RegistryStorage(Storage):
    """The TinyDB storage of the registry: ``TinyDB(path, storage=RegistryStorage)``.

    ``read`` fails closed (parse: anything but a JSON object raises CorruptRegistryError);
    ``write`` replaces the file atomically (write_atomic), encoded a slice at a time. ``keep``
    runs once the new file is safely on disk, just before the replace (the store keeps the
    replaced file as a generation); with ``backup`` (plain TinyDB use) the replaced file
    stays as ``<name>.bak`` instead.
    """

    def __init__(self, path: str | os.PathLike[str], *, backup: bool = True,
                 keep: Callable[[], object] | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.backup = backup
        self.keep = keep

    def read(self) -> dict[str, dict[str, Any]] | None:
        return read_file(self.path)

    def read_unless(self, known: FileVersion | None) -> tuple[FileVersion | None, Any]:
        """``read()`` with the version of the file read, or UNCHANGED (nothing read) when it
        is still the ``known`` version: see read_file_unless."""
        return read_file_unless(self.path, known)

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        with gc_paused():  # thousands of fresh slices, freed right away: nothing to rescan
            write_atomic(self.path, encode_tables(data), backup=self.backup, keep=self.keep)


class SnapshotStorage(Storage):
    """A registry already read (parsed, migrated, validated) as a read-only TinyDB storage:
    ``TinyDB(storage=SnapshotStorage, tables=...)`` queries it without parsing it again."""

    def __init__(self, tables: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.tables = tables

    def read(self) -> dict[str, dict[str, Any]]:
        return self.tables

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raise TypeError("a registry snapshot is read-only: write through a store transaction")


#: What tests and people poking at a registry with TinyDB used before.
AtomicJSONStorage = RegistryStorage


class TransactionCache(CachingMiddleware):
    """TinyDB's CachingMiddleware made a transaction: one read (``begin``, or the storage's
    on first use), any number of TinyDB table operations in memory, and one write, by
    ``commit``. Closing without a commit writes nothing (a failed transaction).

    Why: every TinyDB table operation reads the whole database from its storage and
    writes it back; on the file itself that is a parse and a write per call."""

    WRITE_CACHE_SIZE = float("inf")  # never flushed on its own

    def begin(self, tables: dict[str, dict[str, Any]]) -> None:
        """Work on ``tables`` (read and validated by the caller): they become the cache."""
        self.cache = tables

    def commit(self) -> None:
        self.flush()

    def close(self) -> None:
        self.cache = None  # discarded, never written
        self._cache_modified_count = 0
        self.storage.close()
