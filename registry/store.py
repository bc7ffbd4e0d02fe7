"""The registry store: a TinyDB database on a crash-safe storage and middleware of our own.

One file, ``registry.json``: a TinyDB database with tables ``meta``, ``functions`` and
``history`` (registry.layout), under an inter-process lock (registry.lock), with the last N
files it replaced kept as generations (``generations/serial-<serial>.json``, see
``generations()`` and ``restore()``). TinyDB does the storing and the querying:

- ``transaction(source)`` locks, reads the file once into a TinyDB whose middleware
  (registry.storage.TransactionCache) holds it in memory, lets the caller get/put/remove
  records, and on exit applies the changes with TinyDB's table API (documents by id: one
  bulk remove, update and insert_multiple, not one call per record: each TinyDB call
  rewrites its whole table, which per record is quadratic) and commits: one atomic write
  (registry.storage.RegistryStorage: temp file, fsync, generation kept, replace, folder
  fsync), bumping ``meta.serial``. An exception in the block writes nothing.
  ``expected_serial``/``expected_lineage`` from an earlier load make a write based on a
  stale read fail with StaleWriteError instead of overwriting.
- ``find(name)``, ``search(query)`` and ``history(name)`` are TinyDB queries
  (``Query().spec.name == name``) over the current read (registry.storage.SnapshotStorage).
- ``load()`` is a lock-free consistent read (writers replace the file atomically), cached
  against the file's version, its records built lazily (RecordMap).

What TinyDB does not do, and this package adds:

- fail-closed reads: a missing file is a new, empty registry, unless the folder had one (a
  generation or an old ``registry.json.bak`` exists): then MissingRegistryError. A file that
  exists but cannot be trusted (0-byte, truncated, garbage, wrong shape, a wrong-typed
  field) raises CorruptRegistryError naming the file and ``functions-tui restore``; it is
  never read as empty (registry.storage, registry.layout);
- serial and lineage in ``meta``, generations and restore, the lock, schema migrations
  (registry.migrations), env values encrypted (registry.secrets);
- history in the same file, so a change and its entry are one atomic write; the newest
  10,000 entries, stored compactly (registry.history);
- records stored compactly (registry.compact: a base repeating another component's is a
  reference) and expanded whenever one is read: no caller sees the stored form.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import socket
import threading
import uuid
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from tinydb import Query, TinyDB
from tinydb.queries import QueryLike
from tinydb.table import Document, Table

from functions_tui.registry import history as history_table
from functions_tui.registry import layout
from functions_tui.registry.compact import (
    BadReferenceError,
    compact_components,
    compact_doc,
    compact_record_components,
    expand_doc,
    expand_record,
    has_references,
)
from functions_tui.registry.errors import (
    CorruptRegistryError,
    LockTimeoutError,
    MissingRegistryError,
    RegistryError,
    StaleWriteError,
    corrupt,
)
from functions_tui.registry.gc_pause import gc_paused
from functions_tui.registry.history import HISTORY_LIMIT
from functions_tui.registry.lock import RegistryLock, command_line, read_holder
from functions_tui.registry.migrations import MIGRATIONS, SCHEMA_VERSION, migrate, with_keys
from functions_tui.registry.models import HISTORY_SOURCES, FunctionRecord, HistoryEntry
from functions_tui.registry.secrets import (ENCRYPTED_SCHEMA, RegistryKeys, activate, holds_secrets, keys_for,
                              rewrite_old_copies)
from functions_tui.registry.storage import (
    Deferred,
    RegistryStorage,
    SnapshotStorage,
    TransactionCache,
    backup_path,
    UNCHANGED,
    generation_files,
    generations_dir,
    keep_generation,
    prune_generations,
    read_meta,
    remove_stale_temp_files,
)

__all__ = [
    "SCHEMA_VERSION", "HISTORY_LIMIT", "RegistryError", "CorruptRegistryError", "StaleWriteError",
    "LockTimeoutError", "MissingRegistryError", "RegistrySnapshot", "Transaction", "RegistryStore", "RecordMap",
    "Generation", "Restored", "GENERATIONS",
]

#: How many generations (registry files replaced by writes and restores) are kept by default.
GENERATIONS = 10


def _user() -> str:
    try:
        return getpass.getuser()  # USER/LOGNAME, else the passwd entry (cron has no USER)
    except Exception:  # no passwd entry for this uid (containers)
        return f"uid{os.getuid()}"


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _as_doc(record: FunctionRecord, keys: RegistryKeys | None = None) -> dict[str, Any]:
    """The stored form of a record: ``to_dict()`` without the redundant top-level name,
    a base repeating another component's stored as a reference (registry.compact), env
    values encrypted or kept as references (``keys``: registry.secrets)."""
    doc = record.to_dict()
    del doc["name"]
    if keys is not None and doc["spec"]["env"]:
        doc["spec"]["env"] = keys.encode_env(doc["spec"]["env"])
    doc["components"] = compact_components(doc["components"])
    return doc


@contextmanager
def _expanding(path: Path, doc: Any = None) -> Iterator[None]:
    """Reading compact bases: a reference naming no base (a hand-edited file; a crash
    cannot make one) is a corrupt registry, reported when that record is read. So is a
    wrong-typed field of ``doc`` (memory "abc"): the error names the function and field."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise _unreadable(path, doc, exc) from None


def _unreadable(path: Path, doc: Any, exc: Exception) -> Exception:
    if isinstance(exc, BadReferenceError):
        return corrupt(path, str(exc))
    problem = _bad_field(doc)
    return exc if problem is None else corrupt(path, problem)


def _expand(path: Path, doc: dict[str, Any], keys: RegistryKeys | None) -> FunctionRecord:
    """expand_record, its errors as _expanding says (without a context manager: building
    every record of a large registry calls this 100k times)."""
    try:
        return expand_record(doc, keys)
    except (ValueError, TypeError) as exc:
        raise _unreadable(path, doc, exc) from None


#: The spec fields FunctionSpec.from_dict converts, with what it needs them to be.
_SPEC_FIELDS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "memory": (int, "a whole number"),
    "timeout": (int, "a whole number"),
    "env": (lambda v: dict(v or {}), "an object"),
    "labels": (lambda v: dict(v or {}), "an object"),
    "after": (lambda v: list(v or []), "a list"),
    "ignore": (lambda v: list(v or []), "a list"),
    "targets": (lambda v: {k: dict(t or {}) for k, t in (v or {}).items()}, "an object of objects"),
}


def _bad_field(doc: Any) -> str | None:
    """What is wrong-typed in a stored function document, naming function and field; None
    when nothing is (the error came from elsewhere)."""
    spec = doc.get("spec") if type(doc) is dict else None
    if type(spec) is not dict:
        return None
    name = spec.get("name")
    for field_name, (convert, expected) in _SPEC_FIELDS.items():
        if field_name not in spec:
            continue
        value = spec[field_name]
        try:
            convert(value)
        except (ValueError, TypeError, AttributeError):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            return f"function {name!r}: field spec.{field_name} is {shown}, expected {expected}"
    return None


def _same_doc(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if "name" in a:  # written by an older version, with the redundant name
        a = {k: v for k, v in a.items() if k != "name"}
    return a == b


class RecordMap(Mapping[str, FunctionRecord]):
    """A read-only ``name -> FunctionRecord`` mapping built lazily from the raw file dicts.

    Building 100k FunctionRecords costs more than parsing the file, and most readers look
    at a few; so each record is built on first access and cached. ``len``, ``in`` and
    iteration over names never build records. Building one also expands its compact bases
    (registry.compact): no reader ever sees a stored reference.
    """

    def __init__(self, raw: dict[str, dict[str, Any]] | None = None, path: Path | None = None,
                 keys: RegistryKeys | None = None) -> None:
        self._raw = raw if raw is not None else {}
        self._built: dict[str, FunctionRecord] = {}
        self._path = path
        self._keys = keys  # env values are decrypted (references resolved) as a record is built

    def __getitem__(self, name: str) -> FunctionRecord:
        record = self._built.get(name)
        if record is None:
            record = self._built[name] = _expand(self._path, self._raw[name], self._keys)
        return record

    def __contains__(self, name: object) -> bool:
        return name in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def raw(self, name: str) -> dict[str, Any]:
        """The record as a dict (``to_dict()`` without "name"), bases expanded: a copy."""
        with _expanding(self._path):
            doc = expand_doc(self._raw[name])
        spec = doc.get("spec")
        if self._keys is not None and type(spec) is dict and spec.get("env"):  # env decrypted, as to_dict() has it
            spec["env"] = self._keys.decode_env(spec["env"], spec.get("declared_in", ""), spec.get("name", ""))
        return doc

    def __repr__(self) -> str:
        return f"RecordMap({len(self)} functions)"


@dataclass
class RegistrySnapshot:
    """A consistent read of the whole registry (no lock held after it returns).

    ``functions`` is a read-only Mapping (RecordMap) of name -> FunctionRecord; ``serial``
    is 0 and ``lineage`` "" when no registry file exists yet.
    """

    path: Path
    serial: int
    lineage: str
    schema: int
    functions: Mapping[str, FunctionRecord] = field(default_factory=RecordMap)
    migrated_from: int | None = None  # the file's older schema when it was migrated on read


class Transaction:
    """A read-modify-write under the inter-process lock; written once, atomically, on exit.

    ``get``/``records`` return independent copies: change them and ``put`` them back.
    """

    serial: int  # the serial read at the start (0 for a registry not yet created)
    lineage: str
    new_serial: int | None  # after a successful exit: the serial written (None: nothing changed)

    def __init__(self, store: "RegistryStore", source: str, contents: layout.Contents | None,
                 db: TinyDB) -> None:
        self._store = store
        self._db = db  # over the transaction's cache: one read, one write (TransactionCache)
        self.source = source
        self._contents = contents
        # name -> the record as stored: a dict read from the file, or a FunctionRecord put
        # in this transaction. The commit (_apply) turns what differs from the read into
        # TinyDB table operations; put records stay objects until the storage encodes them.
        self._functions: dict[str, dict[str, Any] | FunctionRecord] = dict(contents.functions) if contents else {}
        self._history: list[dict[str, Any]] = []
        self.serial = contents.serial if contents else 0
        self.lineage = contents.lineage if contents else ""
        self.new_serial = None
        self._at = _now()
        self._actor = store.actor
        # A file read in an older schema is saved in the current one by any transaction.
        self._changed = contents is not None and contents.meta.get("schema") != store.schema_version
        # Records of a schema-1 file hold full bases where schema 2 writes markers: see put().
        self._full_bases = contents is not None and contents.meta.get("schema", 0) < 2

    # --- reading -------------------------------------------------------------
    def _doc(self, name: str) -> dict[str, Any] | None:
        """The stored (compact) form of ``name`` as a dict (shared: do not mutate)."""
        value = self._functions.get(name)
        return _as_doc(value, self._store.keys) if type(value) is FunctionRecord else value

    def get(self, name: str) -> FunctionRecord | None:
        doc = self._doc(name)
        if doc is None:
            return None
        with _expanding(self._store.path, doc):
            record = FunctionRecord.from_dict(expand_doc(doc))
        self._store.keys.decode_spec(record.spec)  # env values decrypted, references resolved
        return record

    def names(self) -> list[str]:
        return list(self._functions)

    def records(self) -> list[FunctionRecord]:
        """Copies of every record, in registry order."""
        with gc_paused(long_lived=True):  # ~100 fresh objects per record: don't let the GC rescan them
            return [self.get(name) for name in self._functions]

    def __contains__(self, name: object) -> bool:
        return name in self._functions

    def __len__(self) -> int:
        return len(self._functions)

    @property
    def changed(self) -> bool:
        return self._changed

    # --- changing ------------------------------------------------------------
    def put(self, record: FunctionRecord, *, action: str = "update", component: str = "") -> None:
        """Insert or replace; appends a history entry with before/after and the txn's source.

        A put that changes nothing is dropped (no history entry, no write). ``action``
        "update" on a name not yet in the registry is recorded as "create". What is written
        is ``record`` as it is when the transaction ends: don't change a record after
        putting it unless you put it again (renaming it after a put is an error).
        """
        name = record.spec.name
        stored = self._functions.get(name)
        if stored is None:
            if action == "update":
                action = "create"
            self._functions[name] = record
            # _record() inlined (a create's entry has nothing to compact): an import does
            # this 100k times in a row.
            self._changed = True
            self._history.append({"function": name, "action": action, "source": self.source,
                                  "component": component, "at": self._at, "actor": self._actor})
            return
        before = _as_doc(stored, self._store.keys) if type(stored) is FunctionRecord else stored
        after = _as_doc(record, self._store.keys)
        if _same_doc(before, after):
            return
        if self._full_bases and not has_references(before) and _same_doc(compact_doc(before), after):
            # Unchanged, only stored the schema-1 way: keep it as it is (its history's undo
            # paths were worked out on that form, so it must not change without an entry).
            return
        self._functions[name] = after
        self._record(name, action, component, before, after)

    def remove(self, name: str, *, action: str = "delete", component: str = "") -> bool:
        """Remove ``name``; returns False (and records nothing) when it is not there."""
        before = self._doc(name)
        if before is None:
            return False
        del self._functions[name]
        self._record(name, action, component, before, None)
        return True

    def _record(self, name: str, action: str, component: str,
                before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        self._changed = True
        # Built as a plain dict (not HistoryEntry) with one time and actor per transaction:
        # an import of 100k functions makes 100k of these.
        entry = {"function": name, "action": action, "source": self.source, "component": component,
                 "at": self._at, "actor": self._actor}
        self._history.append(history_table.compact_entry(entry, before, after, self._store.keys))

    # --- writing (called by the store) ---------------------------------------
    def _commit(self, lineage: str, serial: int) -> None:
        """Apply the transaction's changes to the TinyDB tables (a few bulk table operations:
        one per kind of change, not one per record, as each rewrites its whole table) and
        write the file once (registry.storage.TransactionCache.commit: atomic, the file
        replaced kept as a generation)."""
        store, db = self._store, self._db
        keep = store.generation_limit()  # worked out first: an error in it writes nothing
        replaced = self.serial if self._contents is not None else None
        batch = store._batch
        if batch is not None and (self.lineage, self.serial) in batch:
            replaced = None  # an intermediate version of this batch: the one before it is kept
        with gc_paused():
            self._apply(db.table(layout.FUNCTIONS))
            history, limit = db.table(layout.HISTORY), store.history_limit
            # (Entries beyond the limit would go at once: an import of 100k keeps its last 10k.)
            history.insert_multiple(self._history[-limit:] if limit > 0 else ())
            excess = len(history) - limit
            if excess > 0:  # the oldest go (ids keep counting up: an id always names one entry)
                history.remove(doc_ids=sorted(map(int, db.storage.read()[layout.HISTORY]))[:excess])
            meta = db.table(layout.META)
            meta.truncate()
            meta.insert(Document(self._meta(lineage, serial), doc_id=1))
            db.storage.storage.keep = (None if replaced is None
                                       else lambda: keep_generation(store.path, store.path, replaced))
            try:
                db.storage.commit()
            except TypeError as exc:  # a value in a put record with no JSON form
                raise RegistryError(f"registry {store.path}: a record cannot be saved: {exc}. "
                                    "Nothing was written.") from None
        if batch is not None:
            batch.add((lineage, serial))
        prune_generations(store.path, keep)

    def _apply(self, functions: Table) -> None:
        """The functions table's changes: removes, replaces in place (the file keeps its
        order), inserts. Records put in this transaction go in compact (registry.compact) and
        as dataclasses, which the storage's orjson writes directly (skipping to_dict halves an
        import's cost)."""
        read = self._contents.functions if self._contents is not None else {}
        ids = self._contents.ids if self._contents is not None else {}
        keys = self._store.keys
        changed: dict[str, Any] = {}
        new: list[Any] = []
        for name, value in self._functions.items():
            if value is read.get(name):
                continue
            if type(value) is FunctionRecord:
                if value.spec.name != name:
                    raise RegistryError(f"registry {self._store.path}: function {name!r} was renamed to "
                                        f"{value.spec.name!r} after it was put; put a renamed copy instead. "
                                        "Nothing was written.")
                # Compacted (and its env encrypted) as the storage encodes it: a slice at a time.
                value = {"spec": Deferred(keys.stored_spec, value.spec),
                         "components": Deferred(compact_record_components, value)}
            if name in ids:
                changed[name] = value
            else:
                new.append(value)
        gone = [int(ids[name]) for name in ids if name not in self._functions]
        if gone:
            functions.remove(doc_ids=gone)
        if changed:
            functions.update(lambda doc: _replace(doc, changed[_doc_name(doc)]),
                             doc_ids=[int(ids[name]) for name in changed])
        if new:
            functions.insert_multiple(new)

    def _meta(self, lineage: str, serial: int) -> dict[str, Any]:
        contents = self._contents
        return {
            "schema": self._store.schema_version,
            "serial": serial,
            "lineage": lineage,
            "created": contents.meta.get("created", _now()) if contents else _now(),
            "updated": _now(),
            "updated_by": f"{self._actor} ({self.source})",
            "command": command_line(200),          # shown by `functions-tui restore --list`
            "functions": len(self._functions),
            **self._store.keys.meta(contents.meta.get("key") if contents else None),  # the key's id
        }


def _own_tables(contents: layout.Contents | None) -> dict[str, Any]:
    """The tables a transaction's TinyDB works on: the read's, which may be the cached one
    that snapshots share. TinyDB builds new table dicts on every change and only its update
    changes a document in place (top level only: _replace), so a shallow copy of the
    top-level dict and of each function document keeps the shared read as it was (~2 ms at
    10k functions, against a parse of ~90 ms)."""
    if contents is None:
        return {}
    tables = dict(contents.tables)
    tables[layout.FUNCTIONS] = {doc_id: dict(doc) for doc_id, doc in tables[layout.FUNCTIONS].items()}
    return tables


def _doc_name(doc: dict[str, Any]) -> str:
    return doc["spec"]["name"]


def _replace(doc: dict[str, Any], value: Any) -> None:
    """TinyDB's update hands the stored document to change in place: make it ``value``."""
    doc.clear()
    doc.update(value)


@dataclass(frozen=True)
class Generation:
    """One kept registry file: what ``functions-tui restore --list`` shows."""

    path: Path
    serial: int
    time: str = "?"
    actor: str = "?"
    command: str = "?"
    functions: int | None = None
    lineage: str = ""
    problem: str = ""  # why its first bytes could not be read ("" when they could)

    def describe(self) -> str:
        """``serial 12 from 2026-01-02T03:04:05+00:00 (by ACTOR: COMMAND)``"""
        return f"serial {self.serial} from {self.time} (by {self.actor}: {self.command})"


@dataclass(frozen=True)
class Restored:
    """What ``restore()`` did: the generation it put back, the serial it got, and what became
    of the registry it replaced (a generation of that serial, or a file kept aside)."""

    source: Generation
    serial: int
    replaced_serial: int | None = None
    kept_aside: Path | None = None

    @property
    def path(self) -> Path:
        return self.source.path


class RegistryStore:
    """Owns one registry file (``registry.json``), its generations and its lock."""

    def __init__(self, path: str | Path, *, lock_timeout: float = 10.0,
                 history_limit: int = HISTORY_LIMIT,
                 migrations: dict[int, Callable[[dict], dict]] | None = None,
                 schema_version: int | None = None,
                 generations: int | Callable[[], int] = GENERATIONS) -> None:
        self.path = Path(path)
        #: How many generations to keep: a number, or a callable giving it (the service reads
        #: ``generations:`` from config.yaml only when a write needs it).
        self.keep_generations = generations
        self.lock_timeout = lock_timeout
        self.history_limit = history_limit
        #: The registry's key (registry.secrets): env values encrypted, env hashes keyed. Its
        #: keys are the ones hashing in this process from now on.
        self.keys = keys_for(self.path)
        activate(self.keys)
        # Overridable so tests can exercise the migration hook with their own steps.
        self._migrations = with_keys(MIGRATIONS if migrations is None else migrations, self.keys)
        self.schema_version = SCHEMA_VERSION if schema_version is None else schema_version
        self._local = threading.local()
        self._batch: set[tuple[str, int]] | None = None  # see generation_batch()
        self._batch_depth = 0
        self._batch_lock = threading.Lock()
        self._cache: tuple[Any, layout.Contents, int | None] | None = None

    @property
    def actor(self) -> str:
        """Who is writing, for history and meta (a property: the pid changes across fork)."""
        return f"{_user()}@{socket.gethostname()} pid {os.getpid()}"

    def __repr__(self) -> str:
        return f"RegistryStore({str(self.path)!r})"

    @property
    def backup_path(self) -> Path:
        """The newest kept generation (the registry as it was before the last write), or,
        when there is none, where the previous version kept its one backup (``.bak``)."""
        files = generation_files(self.path)
        return files[0][1] if files else self.legacy_backup_path

    @property
    def legacy_backup_path(self) -> Path:
        return backup_path(self.path)

    @property
    def generations_dir(self) -> Path:
        return generations_dir(self.path)

    def generation_limit(self) -> int:
        keep = self.keep_generations
        return max(0, int(keep() if callable(keep) else keep))

    # --- reading -------------------------------------------------------------
    def exists(self) -> bool:
        """True when there is a registry here, or was one: with the file gone but generations
        left, reading it raises MissingRegistryError (never an empty registry)."""
        return os.path.lexists(self.path) or self._had_registry()

    def _had_registry(self) -> bool:
        return bool(generation_files(self.path)) or os.path.lexists(self.legacy_backup_path)

    def _missing(self) -> MissingRegistryError:
        kept = [g for _, g in generation_files(self.path)]
        where = (f"{len(kept)} earlier generation(s) in {self.generations_dir}" if kept
                 else f"its backup {self.legacy_backup_path}")
        error = MissingRegistryError(
            f"registry {self.path} is missing, but this folder had a registry ({where}): it was deleted "
            f"or moved. Nothing was changed; run `functions-tui restore` to bring back the newest generation "
            f"(`functions-tui restore --list` lists them), or move {self.generations_dir} away too to "
            "start an empty registry.")
        error.path, error.problem = self.path, "the file is missing"
        return error

    def _read(self) -> tuple[layout.Contents | None, int | None]:
        """Parse, migrate and validate the file: (contents, schema migrated from) or (None, None).

        The result is cached against the file's version (inode, size, times): every write
        replaces the file, so an unchanged version means unchanged contents, and repeated
        loads (a TUI polling, a command that loads twice) skip the parse. Cached contents
        are shared and never mutated: transactions copy what they change and snapshots
        build records with their own copies.
        """
        activate(self.keys)  # hashing follows the registry being read (several in one process)
        cached = self._cache
        version, tables = RegistryStorage(self.path).read_unless(cached[0] if cached else None)
        if tables is UNCHANGED:
            return cached[1], cached[2]
        if tables is None:
            self._cache = None
            if self._had_registry():
                raise self._missing()
            return None, None
        self._cache = None
        schema = layout.file_schema(tables, self.path)
        migrated_from = None
        if schema != self.schema_version:
            if type(tables.get(layout.FUNCTIONS)) is not dict:
                raise corrupt(self.path, "the 'functions' table is missing")
            tables = migrate(tables, schema, self.path, self._migrations, self.schema_version)
            migrated_from = schema
        with gc_paused():
            contents = layout.check(tables, self.path)
        self._cache = (version, contents, migrated_from)
        return contents, migrated_from

    def load(self) -> RegistrySnapshot:
        """A consistent snapshot of the registry; raises CorruptRegistryError on a bad file."""
        contents, migrated_from = self._read()
        if contents is None:
            return RegistrySnapshot(path=self.path, serial=0, lineage="", schema=self.schema_version)
        contents = self._encrypted(contents, migrated_from)
        self.keys.check(contents.meta.get("key"))  # a registry copied without its key: one clear line
        return RegistrySnapshot(path=self.path, serial=contents.serial, lineage=contents.lineage,
                                schema=self.schema_version,
                                functions=RecordMap(contents.functions, self.path, self.keys),
                                migrated_from=migrated_from)

    def _query(self) -> tuple[TinyDB | None, layout.Contents | None]:
        """A read-only TinyDB over the current read (the cached parse when the file has not
        changed), and that read; (None, None) when there is no registry yet."""
        contents, migrated_from = self._read()
        if contents is None:
            return None, None
        contents = self._encrypted(contents, migrated_from)
        self.keys.check(contents.meta.get("key"))
        return TinyDB(storage=SnapshotStorage, tables=contents.tables), contents

    def find(self, name: str) -> FunctionRecord | None:
        """The record named ``name`` (a TinyDB query), or None."""
        found = self.search(Query().spec.name == name)
        return found[0] if found else None

    def search(self, cond: QueryLike) -> list[FunctionRecord]:
        """The records whose stored document matches the TinyDB query ``cond`` (on the stored
        form: ``Query().spec.memory > 256``, ``Query().spec.labels.team == "a"``; env values
        are encrypted there), in registry order."""
        db, _ = self._query()
        if db is None:
            return []
        docs = db.table(layout.FUNCTIONS).search(cond)
        with gc_paused(long_lived=True):
            # (dict(): TinyDB's Document made the stored dict again, which copy_json copies)
            return [_expand(self.path, dict(doc), self.keys) for doc in docs]

    def names(self, cond: QueryLike) -> list[str]:
        """The names of the functions whose stored document matches ``cond``, in registry
        order; builds no record (the app's filter bar asks this as the person types)."""
        db, _ = self._query()
        if db is None:
            return []
        return [doc["spec"]["name"] for doc in db.table(layout.FUNCTIONS).search(cond)]

    def history(self, name: str | None = None, limit: int | None = None) -> list[HistoryEntry]:
        """History entries (of ``name``, or all), newest first, at most ``limit``: a TinyDB
        query of the history table, before/after rebuilt from the function's current record.

        Only the newest ``history_limit`` entries (default 10,000) are kept in the file.
        """
        db, contents = self._query()
        if db is None:
            return []
        table = db.table(layout.HISTORY)
        found = table.all() if name is None else table.search(Query().function == name)
        entries = {str(doc.doc_id): doc for doc in found}
        if name is None:
            current = contents.functions
        else:  # (dict(): apply_undo changes a copy made by copy_json, which copies plain dicts only)
            current = {name: dict(doc) for doc in db.table(layout.FUNCTIONS).search(Query().spec.name == name)[:1]}
        with _expanding(self.path):
            return history_table.entries(entries, current, name, limit, self.keys)

    def _encrypted(self, contents: layout.Contents, migrated_from: int | None) -> layout.Contents:
        """The one exception to "reading never writes": a registry written before env values
        were encrypted (schema < ENCRYPTED_SCHEMA) that holds env values or history is saved in
        the current form the first time it is read (its kept copies too, see
        registry.secrets.rewrite_old_copies), so no secret stays at rest in clear until some
        later change happens to write it. Best effort: a registry that cannot be written now
        (locked, read-only, a transaction open in this thread) is upgraded by its next write."""
        # (Schema 0 and 1, pre-release forms whose records a write keeps as they are, are
        # upgraded by their next write.)
        if migrated_from is None or not 2 <= migrated_from < ENCRYPTED_SCHEMA or not holds_secrets(
                {"functions": contents.functions, "history": contents.history}):
            return contents
        try:
            with self.transaction("sync"):
                pass  # a migrated file is saved by any transaction
            upgraded, _ = self._read()
        except (RegistryError, OSError):
            return contents
        return upgraded if upgraded is not None else contents

    def holder(self):
        """Who holds the lock right now (or last held it, if it died): a LockHolder or None."""
        return read_holder(self.path)

    # --- writing -------------------------------------------------------------
    @contextmanager
    def generation_batch(self) -> Iterator[None]:
        """Writes made through this store inside the block keep one generation between them:
        the registry as it was before the first. For one command that writes several times
        (an apply recording its progress every half second), so that its intermediate versions
        do not push the older generations out. Nestable; a write by anyone else ends the
        coalescing (the version it replaces was not written inside the batch)."""
        with self._batch_lock:
            if self._batch_depth == 0:
                self._batch = set()
            self._batch_depth += 1
        try:
            yield
        finally:
            with self._batch_lock:
                self._batch_depth -= 1
                if self._batch_depth == 0:
                    self._batch = None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if getattr(self._local, "depth", 0):
            raise RegistryError(f"registry {self.path}: nested transaction; finish the outer one first")
        self._local.depth = 1
        try:
            with RegistryLock(self.path, self.lock_timeout):
                yield
        finally:
            self._local.depth = 0

    @contextmanager
    def transaction(self, source: str, *, expected_serial: int | None = None,
                    expected_lineage: str | None = None) -> Iterator[Transaction]:
        """``source`` is one of sync / user / import (recorded in history).

        With ``expected_serial`` (from an earlier load), a registry changed since then is
        refused with StaleWriteError. Nothing is written when the block raises.
        """
        if source not in HISTORY_SOURCES:
            raise ValueError(f"transaction source must be one of {', '.join(HISTORY_SOURCES)}, not {source!r}")
        # (The GC is paused only inside our own bulk steps, parse and dump: the caller's block
        # may run for minutes, e.g. apply() deploying inside it.)
        with self._locked():
            remove_stale_temp_files(self.path)
            self._adopt_legacy_backup()
            contents, _ = self._read()  # the cached parse when the file has not changed
            db = TinyDB(self.path, storage=TransactionCache(RegistryStorage), backup=False)
            db.storage.begin(_own_tables(contents))
            try:
                txn = Transaction(self, source, contents, db)
                self._check_fresh(txn, expected_serial, expected_lineage)
                if contents is not None:
                    self.keys.check(contents.meta.get("key"))  # before anything is decrypted or hashed
                yield txn
                if txn.changed:
                    lineage = txn.lineage or str(uuid.uuid4())
                    serial = txn.serial + 1
                    txn._commit(lineage, serial)
            finally:
                db.close()  # writes nothing: a commit already did
            if txn.changed:
                txn.new_serial, txn.lineage = serial, lineage
                self._cache = None
                if txn._contents is not None and txn._contents.meta.get("schema", 0) < ENCRYPTED_SCHEMA:
                    # Upgraded: the copies kept of the file before (generations, .bak) held env
                    # values in clear; they are rewritten in the current form.
                    rewrite_old_copies(self)

    def _check_fresh(self, txn: Transaction, expected_serial: int | None,
                     expected_lineage: str | None) -> None:
        if expected_lineage is not None and expected_lineage != txn.lineage:
            raise StaleWriteError(
                f"registry {self.path} is not the one that was read: its lineage is "
                f"{txn.lineage or '(none: no registry yet)'}, the read was of {expected_lineage or '(no registry)'} "
                "(it was restored, replaced or recreated since). Nothing was written; reload and redo the change."
            )
        if expected_serial is not None and expected_serial != txn.serial:
            meta = txn._contents.meta if txn._contents else {}
            by = f", last written {meta.get('updated', '?')} by {meta.get('updated_by', '?')}" if meta else ""
            raise StaleWriteError(
                f"registry {self.path} changed since it was read (read at serial {expected_serial}, "
                f"now serial {txn.serial}{by}). Nothing was written; reload and redo the change."
            )

    # --- generations and restore ----------------------------------------------
    def generations(self) -> list[Generation]:
        """The kept generations, newest first, described from each file's first bytes (no
        full parse: ``restore`` validates the one it uses). An old ``registry.json.bak`` not
        moved in yet (the next write does that) is listed as the oldest."""
        files = generation_files(self.path)
        legacy = self.legacy_backup_path
        if os.path.lexists(legacy) and not any(_same_file(legacy, f) for _, f in files):
            files.append((self._head_serial(legacy), legacy))
        return [self._describe_generation(serial, file) for serial, file in files]

    def _describe_generation(self, serial: int, file: Path) -> Generation:
        try:
            meta = read_meta(file)
        except (RegistryError, OSError, ValueError) as exc:
            problem = exc.problem if isinstance(exc, CorruptRegistryError) else str(exc)
            return Generation(path=file, serial=serial, problem=problem)
        count = meta.get("functions")
        by = str(meta.get("updated_by") or "?")
        return Generation(path=file, serial=serial, time=str(meta.get("updated") or meta.get("created") or "?"),
                          actor=by, command=str(meta.get("command") or "?"),
                          functions=count if type(count) is int else None, lineage=str(meta.get("lineage") or ""))

    def readable(self) -> bool:
        """True when the registry file exists and reads cleanly (a restore would replace a
        good registry: the CLI asks first then)."""
        try:
            return self._read()[0] is not None
        except RegistryError:
            return False

    def restore_target(self, serial: int | None = None) -> Generation:
        """The generation ``restore(serial)`` would put back, validated: the one with that
        serial, or by default the newest good one older than the current registry (the
        previous version; for a damaged or missing registry, the newest that reads)."""
        candidates = self.generations()
        if serial is not None:
            chosen = next((g for g in candidates if g.serial == serial), None)
            if chosen is None:
                kept = ", ".join(str(g.serial) for g in candidates) or "none"
                raise RegistryError(f"registry {self.path}: no generation with serial {serial} "
                                    f"(kept: {kept}; `functions-tui restore --list` shows them).")
            try:
                self._validate(chosen.path)
            except CorruptRegistryError as exc:
                raise RegistryError(f"registry {self.path}: generation {serial} ({chosen.path}) cannot be "
                                    f"restored: {exc.problem}. Pick another (`functions-tui restore --list`).") from None
            return chosen
        current = self._current_identity()
        problems: list[str] = []
        for g in candidates:
            if current is not None and (g.lineage, g.serial) == current:
                continue  # the current registry itself (kept by a write killed before its replace)
            try:
                self._validate(g.path)
            except CorruptRegistryError as exc:
                problems.append(f"{g.path.name}: {exc.problem}")
                continue
            return g
        if not problems:
            raise RegistryError(f"registry {self.path}: there is no backup to restore from "
                                f"(no earlier generation in {self.generations_dir}).")
        raise RegistryError(
            f"registry {self.path}: the backup cannot be restored either ({'; '.join(problems)}). "
            "Look for an older copy (registry.json.corrupt-* files, your own backups).")

    def _current_identity(self) -> tuple[str, int] | None:
        try:
            contents = self._read()[0]
        except RegistryError:
            return None
        return (contents.lineage, contents.serial) if contents else None

    def _validate(self, file: Path) -> dict[str, Any]:
        """The tables of a generation file, validated in their current-schema form; raises
        CorruptRegistryError (a missing file included)."""
        tables = RegistryStorage(file).read()
        if tables is None:
            raise corrupt(file, "the file is gone")
        version = layout.file_schema(tables, file)
        if version != self.schema_version:  # validate its migrated form; write it as it is
            layout.check(migrate(tables, version, file, self._migrations, self.schema_version), file)
        else:
            layout.check(tables, file)
        return tables

    def restore(self, serial: int | None = None, *, generation: Generation | None = None) -> Restored:
        """Put back a kept generation: ``generation``, the one with ``serial``, or by default
        the previous one (see restore_target). Undoable: a readable registry it replaces
        becomes a generation itself (so a second restore goes back); a damaged one is kept as
        ``registry.json.corrupt-<time>``. The generation is validated first, under the lock.

        The restored file keeps its lineage (the ownership marks on components name it) and
        gets a serial above every serial handed out, so a process holding an older read
        cannot write over it unnoticed.
        """
        with self._locked():
            remove_stale_temp_files(self.path)
            self._adopt_legacy_backup()
            if generation is not None and not os.path.lexists(generation.path):
                # Adopting the old .bak moved it into the generations folder meanwhile.
                generation = next((g for g in self.generations() if g.serial == generation.serial), generation)
            target = generation or self.restore_target(serial)
            try:
                tables = self._validate(target.path)
            except CorruptRegistryError as exc:
                raise RegistryError(f"registry {self.path}: {target.path} cannot be restored: {exc.problem}. "
                                    "Pick another generation (`functions-tui restore --list`).") from None
            keep = self.generation_limit()
            current = self._current_identity()
            kept_serials = [n for n, _ in generation_files(self.path)]
            if current is not None:
                floor = max([current[1], *kept_serials]) + 1
            else:  # damaged or missing: its serial was at least the newest generation's + 1
                floor = max([self._head_serial(self.path) + 1, *(n + 2 for n in kept_serials)])
            meta = next(iter(tables[layout.META].values()))
            meta["serial"] = max(int(meta.get("serial", 0) or 0) + 1, floor)
            meta["updated"] = _now()
            meta["updated_by"] = f"{self.actor} (restore)"
            meta["command"] = command_line(200)
            meta["restored_from"] = target.serial
            if type(tables.get(layout.FUNCTIONS)) is dict:
                meta["functions"] = len(tables[layout.FUNCTIONS])
            aside = None if current is not None else self._keep_aside()
            replaced = current[1] if current is not None else None
            RegistryStorage(self.path, backup=False, keep=None if replaced is None else
                            lambda: keep_generation(self.path, self.path, replaced)).write(tables)
            self._cache = None
            prune_generations(self.path, max(keep, 1))
        return Restored(source=target, serial=meta["serial"], replaced_serial=replaced, kept_aside=aside)

    def _adopt_legacy_backup(self) -> None:
        """The previous version kept one ``registry.json.bak``: it becomes the oldest
        generation (once; called with the lock held)."""
        legacy = self.legacy_backup_path
        if not os.path.lexists(legacy):
            return
        if keep_generation(legacy, self.path, self._head_serial(legacy)) is not None:
            legacy.unlink(missing_ok=True)

    @staticmethod
    def _head_serial(file: Path) -> int:
        """A file's serial, best effort from its first bytes (0 when it cannot be told)."""
        try:
            with open(file, "rb") as fh:
                head = fh.read(65536)
        except OSError:
            return 0
        found = re.search(rb'"serial"\s*:\s*(\d+)', head)
        return int(found.group(1)) if found else 0

    def _keep_aside(self) -> Path | None:
        """Keep a damaged registry file as ``registry.json.corrupt-<time>`` for inspection.
        A hard link, not a rename: the registry path must never be missing, even briefly."""
        if not os.path.exists(self.path):  # (a symlink counts by its target)
            return None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            os.link(self.path, aside)
        except OSError:
            shutil.copy2(self.path, aside)
        return aside


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
