"""What a function's package holds: the one list of source files behind every upload (the
Lambda zip, the Cloud Functions upload, the Docker build context) and the code digest.

The providers' own tools decide what to leave out with ignore files in gitignore syntax
(``gcloud`` reads ``.gcloudignore``, Docker ``.dockerignore``, git ``.gitignore``); so do we,
with the ``pathspec`` library's gitignore matching (``GitIgnoreSpec``):

1. ``DEFAULT_IGNORES`` first: ``.git/``, ``__pycache__/``, files that hold secrets
   (``SECRET_PATTERNS``: ``.env``, ``.env.*``, ``*.pem``, ``id_rsa*``, ``id_ed25519*``,
   ``*.key``), the declaration files (``function.yaml``, ``functions.yaml``: a memory edit is
   not a code change) and the ignore files themselves;
2. then ``.gcloudignore``, then ``.functionsignore``, both read from the source folder (its
   top level only, as gcloud does) and both applied to every component, so every upload and
   the digest share one list. Later lines win, so a ``!`` line re-includes what an earlier
   one (or a default) left out. ``#!include:FILE`` (gcloud's directive, e.g.
   ``#!include:.gitignore``) reads FILE's lines in its place.

As in git, nothing below an excluded folder comes back (the walk does not enter it). A
file that looks like a secret but is not excluded (re-included with ``!``) is reported in
``SourceFiles.sensitive`` and warned about (``warn_sensitive``) at ``add`` and at each upload.

The digest is sha256 over each file's package name, NUL, its bytes, NUL, in path order:
the algorithm ``registry.models.digest_source`` always had, now over this list, so a folder
with none of the newly excluded files (secrets, declaration or ignore files, nested ``.git``)
keeps its digest. A single-file source is that one file (nothing to ignore).

Imports no cloud SDK (tests/test_layering.py); pathspec is imported on first use.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

#: The declaration files (app.declarations): never part of the package.
DECLARATION_FILES = ("function.yaml", "functions.yaml")
#: Ignore files read from the top of the source folder, in this order (later lines win).
IGNORE_FILES = (".gcloudignore", ".functionsignore")
#: Files that look like keys or secrets: excluded by default, warned about when re-included.
SECRET_PATTERNS = (".env", ".env.*", "*.pem", "id_rsa*", "id_ed25519*", "*.key")
#: What every package leaves out before the ignore files are read.
DEFAULT_IGNORES = (".git/", "__pycache__/", *SECRET_PATTERNS, *DECLARATION_FILES, *IGNORE_FILES)
#: gcloud's include directive inside an ignore file.
INCLUDE_DIRECTIVE = "#!include:"
#: Where a default pattern comes from, for messages.
DEFAULTS_ORIGIN = "(defaults)"


class PackagingError(ValueError):
    """An ignore file that cannot be used: ``file:line: problem``."""

    def __init__(self, file: str | Path, line: int | None, problem: str) -> None:
        self.file = str(file)
        self.line = line
        self.problem = problem
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class SourceFiles:
    """The files of one function's package.

    ``files``: (name in the package, path on disk) in path order; ``sensitive``: package
    names of files that look like secrets yet are included, each with what re-included it
    (``{".env": ".functionsignore:2"}``); ``ignore_files``: the ignore files that were read.
    """

    root: Path
    files: tuple[tuple[str, Path], ...] = ()
    sensitive: dict[str, str] = field(default_factory=dict)
    ignore_files: tuple[str, ...] = ()
    single_file: bool = False

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.files]

    def digest(self) -> str:
        """sha256 over the package names and bytes (see the module docstring)."""
        h = hashlib.sha256()
        if self.single_file:
            name, path = self.files[0]
            h.update(name.encode() + b"\0" + path.read_bytes())
            return "sha256:" + h.hexdigest()
        for name, path in self.files:
            h.update(name.encode() + b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
        return "sha256:" + h.hexdigest()

    def zip_bytes(self) -> bytes:
        """The package as an in-memory zip (what Lambda and Cloud Functions take)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, path in self.files:
                archive.write(path, name)
        return buffer.getvalue()

    def folders(self) -> list[str]:
        """Every folder the files sit in (parents first), for archives that list folders."""
        seen: dict[str, None] = {}
        for name, _ in self.files:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                seen.setdefault("/".join(parts[:i]))
        return list(seen)


def _spec(lines: Iterable[str]) -> Any:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(list(lines))


_SECRET_SPEC: Any = None


def looks_secret(name: str) -> bool:
    """True for a package name matching SECRET_PATTERNS (``.env``, ``deploy/id_rsa``, ``tls.key``)."""
    global _SECRET_SPEC
    if _SECRET_SPEC is None:
        _SECRET_SPEC = _spec(SECRET_PATTERNS)
    return bool(_SECRET_SPEC.match_file(name))


def _ignore_lines(root: Path, name: str, depth: int = 0) -> list[tuple[str, int, str]]:
    """(origin file, line number, pattern) of one ignore file, ``#!include:`` expanded."""
    path = root / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if depth:
            return []  # gcloud too ignores an include of a file that is not there
        raise
    except UnicodeDecodeError:
        raise PackagingError(path, None, "not UTF-8 text") from None
    except OSError as exc:
        raise PackagingError(path, None, f"cannot read: {exc.strerror or exc}") from None
    out: list[tuple[str, int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(INCLUDE_DIRECTIVE):
            target = line[len(INCLUDE_DIRECTIVE):].strip()
            if depth or not target or "/" in target or target in (".", ".."):
                raise PackagingError(path, number, f"{line.strip()}: only a file beside it can be included, once")
            out.extend(_ignore_lines(root, target, depth + 1))
        elif line.strip() and not line.startswith("#"):
            out.append((str(path), number, line))
    return out


def _matcher(root: Path) -> tuple[Any, list[str], tuple[str, ...]]:
    """The combined spec, the origin (``file:line``) of each of its patterns, the files read."""
    rules: list[tuple[str, int, str]] = [(DEFAULTS_ORIGIN, 0, p) for p in DEFAULT_IGNORES]
    read: list[str] = []
    for name in IGNORE_FILES:
        try:
            rules.extend(_ignore_lines(root, name))
        except FileNotFoundError:
            continue
        read.append(name)
    patterns: list[Any] = []
    origins: list[str] = []
    for origin, number, line in rules:
        try:
            compiled = _spec([line]).patterns
        except ValueError as exc:
            raise PackagingError(origin, number, f"not a gitignore pattern: {line!r} ({exc})") from None
        for pattern in compiled:
            if pattern.include is None:
                continue
            patterns.append(pattern)
            origins.append(f"{Path(origin).name}:{number}" if number else origin)
    import pathspec

    return pathspec.GitIgnoreSpec(patterns), origins, tuple(read)


def _path_key(item: tuple[str, Path]) -> list[str]:
    # The order pathlib sorted the paths in before (part by part): digests stay as they were.
    return item[0].split("/")


def source_files(source: str | os.PathLike) -> SourceFiles:
    """The package of the source folder (or single file) ``source``; empty if it does not exist.

    Walks without following symlinked folders (as ``Path.rglob`` did); a symlink to a file
    is packaged as the file it points to. PackagingError for an unusable ignore file.
    """
    root = Path(source).expanduser()
    if root.is_file():
        sensitive = {root.name: "the source itself"} if looks_secret(root.name) else {}
        return SourceFiles(root, ((root.name, root),), sensitive, single_file=True)
    if not root.is_dir():
        return SourceFiles(root)
    spec, origins, read = _matcher(root)
    files: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        # Like git: an excluded folder is not entered, so nothing below it comes back.
        dirnames[:] = [d for d in dirnames if not spec.match_file(f"{prefix}{d}/")]
        for name in filenames:
            rel = prefix + name
            path = base / name
            if not path.is_file() or spec.match_file(rel):  # broken links, sockets; ignored
                continue
            files.append((rel, path))
    files.sort(key=_path_key)
    sensitive: dict[str, str] = {}
    for rel, _ in files:
        if looks_secret(rel):
            index = spec.check_file(rel).index
            sensitive[rel] = origins[index] if index is not None else "an ignore file"
    return SourceFiles(root, tuple(files), sensitive, read)


def digest(source: str | os.PathLike) -> str:
    """The code digest of ``source``: over exactly what an upload of it holds."""
    return source_files(source).digest()


# --- warnings ---------------------------------------------------------------------------------

def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


#: Where warnings go: stderr (the CLI's channel for them); the TUI may point it elsewhere.
warning_sink: Callable[[str], None] = _stderr


def sensitive_warnings(listing: SourceFiles, function: str, component: str = "") -> list[str]:
    """One line per included file that looks like a secret: at ``add`` (no component) it
    will be uploaded; at a deploy to ``component`` it is in the package being sent."""
    out = []
    for rel, why in listing.sensitive.items():
        path = listing.root / rel if not listing.single_file else listing.root
        what = (f"it is in the package uploaded to {component}" if component
                else "it goes into every upload and the code digest")
        reason = f"re-included by {why}" if why != "the source itself" else "it is the source itself"
        out.append(f"functions-tui: warning: {function}: {path} looks like a secret (a key or .env file) "
                   f"and is not excluded ({reason}): {what}")
    return out


def warn_sensitive(listing: SourceFiles, function: str, component: str = "") -> None:
    for line in sensitive_warnings(listing, function, component):
        warning_sink(line)


def extract_package(package: bytes, folder: Path) -> None:
    """Unzip a deployment package (a provider's copy of a function's code, read by ``import``)
    into ``folder``, refusing members that would land outside it."""
    root = folder.resolve()
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        for member in archive.infolist():
            target = (root / member.filename).resolve()
            if not target.is_relative_to(root):
                raise ValueError(f"package member {member.filename!r} lies outside the function's folder")
        archive.extractall(root)
