"""Keeping function.yaml true: a value the registry takes from a component is written back
into the declaration it came from, changing only that value's text.

How: PyYAML's composed nodes carry exact character offsets (``start_mark.index`` /
``end_mark.index``), so a scalar's text is spliced out of the original string and the new
text spliced in; comments, key order, quoting, indentation, the other fields and the other
functions of a functions.yaml stay byte for byte. A key the file does not have yet is a new
``key: value`` line at its siblings' indentation (its block created when missing); a key
removed on the component loses its line. Flow mappings (``env: {A: "1"}``) are edited
inside. Every edit is checked by reading the result back: the edited values must read as
intended and everything else as before, or nothing is written (a warning says so).

What is never rewritten:

- a value written as a ``${VAR}`` reference: the run says ``set VAR=<value> (or edit
  FILE:LINE)`` (for env only the variable's name: env values are secrets);
- a value the user edited since it was last read (the snapshot ``FunctionSpec.declared``
  differs from the file): ``functions-tui add`` registers the edit instead;
- ``code_digest``: it is the source folder's digest, not a declaration value; except for a
  target that runs a prebuilt image, whose code is its ``targets.<component>.image``: that is
  written.

Writes are atomic (a temp file beside it, then ``os.replace``, keeping the file's mode). A
file that cannot be written (read-only, gone, changed meanwhile, its function no longer
found) is a warning naming the file; the registry keeps the pulled value, the snapshot keeps
the old one (so the next ``add`` does not revert it) and ``declaration_behind`` lists it.

Fields are the engine's flat names: ``runtime``, ``entry_point``, ``memory``, ``timeout``,
``env`` / ``env.KEY``, ``labels`` / ``labels.KEY``, ``state`` (goes to
``targets.<component>.state``), ``code_digest`` (``targets.<component>.image`` for a target
that runs an image, else skipped); no fields means all of them.

A target goes under the key the file names its component by: the instance's own name, or its
kind's (``docker:`` for ``laptop``, the only docker instance, as app.declarations reads it),
never as a second entry for the same instance. A kind's name that no longer says which
instance it is (config.yaml now names several of that kind, none called as it) gets nothing
written: the run says which key to rename.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from functions_tui.registry.storage import write_atomic
from functions_tui.registry.fingerprint import hash_matches, hash_value
from functions_tui.registry.kinds import default_state, find_kind
from functions_tui.registry.kinds import states_of as _states
from functions_tui.registry.models import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, FunctionSpec

#: Declaration fields a pull can change (``state`` is ``targets.<component>.state``).
WRITABLE_FIELDS = ("runtime", "entry_point", "memory", "timeout", "env", "labels", "state")
SCALARS = ("runtime", "entry_point", "memory", "timeout")
INTEGERS = frozenset({"memory", "timeout"})
DEFAULTS: dict[str, Any] = {"entry_point": "main", "memory": DEFAULT_MEMORY_MB, "timeout": DEFAULT_TIMEOUT_S}
MAPS = ("env", "labels")

# A path in the declaration: ("memory",), ("env", KEY), ("labels", KEY),
# ("targets", COMPONENT, "state"), ("targets", COMPONENT, "image"), or ("targets", COMPONENT)
# for a whole new target.

#: The snapshot key (FunctionSpec.declared) of each per-target setting a pull can change.
TARGET_SNAPSHOTS = {"state": "targets_state", "image": "targets_image"}

_UNREAD = object()   # a value that cannot be read (unset variable, wrong type)
_WIDTH = 1_000_000   # never let the emitter fold a value


class _EditError(Exception):
    """An edit that cannot be made safely; the message names what (never a value)."""


# --- what to write ----------------------------------------------------------------------------------

@dataclass
class FunctionWrite:
    """The outcome of writing one function's pulled values back into its declaration.

    ``settled``: snapshot path -> snapshot value for every field the file now says as the
    registry does (written now, or already so); the caller folds it into
    ``FunctionSpec.declared`` (``updated_snapshot``). ``base``: a full snapshot of the file
    as read, for a record that had none yet (an older registry). ``written``: the paths whose
    text changed. ``warnings``: one line each, ready to print (no env value ever).
    """

    name: str
    file: str
    settled: dict[tuple, Any] = field(default_factory=dict)
    written: list[tuple] = field(default_factory=list)
    base: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class WriteBackReport:
    functions: dict[str, FunctionWrite] = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        return [w for fw in self.functions.values() for w in fw.warnings]

    @property
    def written_files(self) -> list[str]:
        return sorted({fw.file for fw in self.functions.values() if fw.written})


def pulled_fields(results: Iterable[Any]) -> dict[str, list[tuple[str, str, list[str]]]]:
    """function -> [(component, action kind, fields)] for every successful PULL / ADOPT
    in an ApplyResult's ``results``."""
    from functions_tui.registry.plan_types import ActionKind

    out: dict[str, list[tuple[str, str, list[str]]]] = {}
    for r in results:
        action = getattr(r, "action", None)
        if action is None or not getattr(r, "ok", False):
            continue
        if action.kind not in (ActionKind.PULL, ActionKind.ADOPT):
            continue
        out.setdefault(action.function, []).append((action.component, action.kind.value, list(action.fields or [])))
    return out


def _paths(pulls: Iterable[tuple[str, str, list[str]]], spec: FunctionSpec | None = None) -> list[tuple]:
    """The declaration paths the pulled fields touch, in a stable order (whole ``env`` /
    ``labels`` stay as ("env", None) until the file's keys are known). ``spec``: the
    registry's, to tell a target that runs an image (its code is a declaration value)."""
    out: dict[tuple, None] = {}
    for component, kind, fields in pulls:
        if kind == "adopt":
            out[("targets", component)] = None   # make sure the file declares the target
        for f in fields or WRITABLE_FIELDS:
            head, _, key = str(f).partition(".")
            if head in SCALARS:
                out[(head,)] = None
            elif head in MAPS:
                out[(head, key or None)] = None
            elif head == "state":
                out[("targets", component, "state")] = None
            elif head == "code_digest" and spec is not None and spec.image(component):
                out[("targets", component, "image")] = None
            # code_digest (the source's digest) and anything else: not a declaration value
    return list(out)


# --- values ---------------------------------------------------------------------------------------------

def _registry_value(spec: FunctionSpec, path: tuple) -> Any:
    head = path[0]
    if head in SCALARS:
        return getattr(spec, head)
    if head in MAPS:
        return getattr(spec, head).get(path[1])
    if head == "targets" and len(path) == 3:
        if path[1] not in spec.targets:
            return None
        return spec.desired_state(path[1]) if path[2] == "state" else (spec.image(path[1]) or None)
    return None


def _snap(path: tuple, value: Any) -> Any:
    """The snapshot form of a value: env values are hashed, never kept in clear."""
    if value is _UNREAD or value is None:
        return value
    if path[0] == "env":
        return hash_value(value)
    if path[0] in INTEGERS:
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    return value


def _same(path: tuple, snap: Any, value: Any) -> bool:
    """Whether the snapshot value ``snap`` says ``value``: for env, hash against value (a
    snapshot hash from before keyed hashes included, registry.fingerprint.hash_matches)."""
    if path[0] == "env" and value is not _UNREAD:
        return hash_matches(snap, value)
    return snap == _snap(path, value)


def _snapshot_get(declared: Mapping[str, Any], path: tuple) -> tuple[bool, Any]:
    """(whether the snapshot knows this field, its value there)."""
    head = path[0]
    if head in SCALARS:
        return (head in declared, declared.get(head))
    if head in MAPS:
        mapping = declared.get(head)
        return (isinstance(mapping, dict), mapping.get(path[1]) if isinstance(mapping, dict) else None)
    if head == "targets" and len(path) == 3:
        settings = declared.get(TARGET_SNAPSHOTS[path[2]])
        if path[2] == "image" and isinstance(settings, dict):
            return (True, settings.get(path[1]))   # (the snapshot lists only targets with an image)
        return (isinstance(settings, dict) and path[1] in settings,
                settings.get(path[1]) if isinstance(settings, dict) else None)
    return (False, None)


def _snapshot_put(declared: dict[str, Any], path: tuple, value: Any) -> None:
    head = path[0]
    if head in SCALARS:
        declared[head] = value
    elif head in MAPS:
        mapping = declared.setdefault(head, {})
        if value is None:
            mapping.pop(path[1], None)
        else:
            mapping[path[1]] = value
    elif head == "targets" and len(path) == 3:
        settings = declared.setdefault(TARGET_SNAPSHOTS[path[2]], {})
        if value is None:
            settings.pop(path[1], None)
        else:
            settings[path[1]] = value


def updated_snapshot(declared: Mapping[str, Any] | None, outcome: FunctionWrite) -> dict[str, Any]:
    """``declared`` (a record's snapshot) with what ``outcome`` settled folded in."""
    from functions_tui.registry.compact import copy_json

    out = copy_json(dict(declared)) if declared else copy_json(outcome.base or {})
    for path, value in outcome.settled.items():
        _snapshot_put(out, path, value)
    return out


def _label(path: tuple) -> str:
    return ".".join(str(p) for p in path if p is not None)


# --- the YAML document ---------------------------------------------------------------------------------

def _yaml():
    import yaml

    return yaml


def _compose(text: str):
    # Marks' indexes must count characters of ``text``: the pure-Python loader's always do;
    # libyaml's (several times faster) are the same for ASCII text, so it reads that.
    yaml = _yaml()
    loader = getattr(yaml, "CSafeLoader", None) if text.isascii() else None
    return yaml.compose(text, Loader=loader or yaml.SafeLoader)


def _pairs(node) -> list[tuple[str, Any, Any]]:
    yaml = _yaml()
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(k.value, k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)]


def _get(node, key: str):
    for name, k, v in _pairs(node):
        if name == key:
            return k, v
    return None


def _is_null(node) -> bool:
    return isinstance(node, _yaml().ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _references(node) -> list[str]:
    """The variables a scalar's text uses (``${VAR}`` / ``${VAR:-default}``; ``$$`` is none)."""
    from functions_tui.app.yaml_nodes import _VAR

    if not isinstance(node, _yaml().ScalarNode):
        return []
    return [m.group(1) for m in _VAR.finditer(node.value) if m.group(1)]


def _is_reference(node) -> bool:
    return bool(_references(node))


def _whole_reference(node) -> str | None:
    """VAR when the scalar is exactly ``${VAR}`` or ``${VAR:-default}``."""
    from functions_tui.app.yaml_nodes import _VAR

    match = _VAR.fullmatch(node.value.strip()) if isinstance(node, _yaml().ScalarNode) else None
    return match.group(1) if match and match.group(1) else None


class _Doc:
    """One declaration file's text and the node of one function in it."""

    def __init__(self, path: Path, text: str, name: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.text = text
        self.name = name
        self.environ = environ
        self.nl = "\r\n" if "\r\n" in text else "\n"
        self.root = None
        self.function = None
        self.index: int | None = None   # the item's position in functions.yaml's list
        self.variables: dict[str, str] = {}
        #: component -> the ``targets`` key this function names it by, where that is its kind's
        #: name (``docker:`` for ``laptop``, the only docker instance; app.declarations.target_names)
        self.aliases: dict[str, str] = {}
        self.load()

    def load(self) -> None:
        """Compose the text and find the function; _EditError when it is not there."""
        yaml = _yaml()
        from functions_tui.app.declarations import MULTI

        try:
            self.root = _compose(self.text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{self.path}:{mark.line + 1}" if mark else str(self.path)
            raise _EditError(f"{where} is not valid YAML any more") from None
        self.function, self.index = None, None
        top = dict((n, v) for n, _, v in _pairs(self.root))
        self.variables = {**self._variables(top.get("variables")), **self.environ}
        if self.path.name == MULTI:
            items = top.get("functions")
            if isinstance(items, yaml.SequenceNode):
                for i, item in enumerate(items.value):
                    hit = _get(item, "name")
                    if hit is not None and self._text(hit[1]) == self.name:
                        self.function, self.index = item, i
                        break
        else:
            hit = _get(self.root, "name")
            if hit is not None and self._text(hit[1]) == self.name:
                self.function = self.root
        if self.function is None:
            raise _EditError(f"{self.path} no longer declares {self.name}")
        self.aliases = {}
        self.aliases = self._aliases()

    def _aliases(self) -> dict[str, str]:
        from functions_tui.app.declarations import target_names

        keys = self.keys("targets")
        names = target_names()
        # (a file naming an instance both ways is refused by add: its own name wins here)
        return {names[k]: k for k in keys if k in names and names[k] != k and names[k] not in keys}

    def in_file(self, path: tuple) -> tuple:
        """``path`` as this file spells it: a target under the key the file names it by."""
        if len(path) >= 2 and path[0] == "targets" and path[1] in self.aliases:
            return ("targets", self.aliases[path[1]], *path[2:])
        return path

    def component_of(self, key: str) -> str:
        """The component a ``targets`` key of this file stands for."""
        return next((c for c, k in self.aliases.items() if k == key), key)

    def unresolved(self, component: str) -> str | None:
        """The ``targets`` key that names ``component`` by its kind when that name no longer
        says which instance it is (config.yaml now names several of the kind, none called as
        it): which entry is ``component``'s cannot be told, so nothing is written for it."""
        from functions_tui.app.declarations import target_names

        kind = find_kind(component)
        if kind is None or kind.name == component or component in self.aliases:
            return None
        keys = self.keys("targets")
        if component in keys or kind.name not in keys or kind.name in target_names():
            return None
        return kind.name

    def _variables(self, node) -> dict[str, str]:
        out = {}
        for name, _, v in _pairs(node):
            if isinstance(v, _yaml().ScalarNode) and not _is_null(v):
                out[name] = v.value
        return out

    def _text(self, node) -> Any:
        """A scalar's value with ``${VAR}`` resolved, or _UNREAD."""
        from functions_tui.app.yaml_nodes import Reader, SchemaError

        try:
            return Reader(self.path, self.variables).string(node, "")
        except SchemaError:
            return _UNREAD

    def node(self, path: tuple):
        """(key node, value node) at ``path`` under the function, or None (a target's
        path names the component: it is looked up under the key the file uses, in_file)."""
        node, hit = self.function, None
        for key in self.in_file(path):
            if key is None:
                return None
            hit = _get(node, key)
            if hit is None:
                return None
            node = hit[1]
        return hit

    def value(self, path: tuple) -> Any:
        """What the file says at ``path`` as a declaration reads it (defaults for fields
        not written; None for an absent env/labels key; _UNREAD when it cannot be read)."""
        from functions_tui.app.yaml_nodes import Reader, SchemaError

        hit = self.node(path)
        head = path[0]
        if hit is None or _is_null(hit[1]):
            if head in SCALARS:
                return DEFAULTS.get(head, _UNREAD)
            if head == "targets" and len(path) == 3 and path[2] == "state":
                return default_state(path[1]) if self.node(path[:2]) is not None else None
            return None
        node = hit[1]
        if not isinstance(node, _yaml().ScalarNode):
            return _UNREAD
        if head in INTEGERS:
            try:
                return Reader(self.path, self.variables).integer(node, head, minimum=1)
            except SchemaError:
                return _UNREAD
        return self._text(node)

    def keys(self, head: str) -> list[str]:
        hit = self.node((head,))
        return [name for name, _, _ in _pairs(hit[1])] if hit is not None else []

    def line(self, path: tuple) -> int:
        hit = self.node(path)
        if hit is None:
            # Not written yet: the nearest mapping that is, else the function itself.
            for n in range(len(path) - 1, 0, -1):
                hit = self.node(path[:n])
                if hit is not None:
                    break
        node = hit[0] if hit is not None else self.function
        return node.start_mark.line + 1

    def where(self, path: tuple) -> str:
        return f"{self.path}:{self.line(path)}"

    def step(self) -> int:
        """The file's indentation step (from its first nested block mapping; else 2)."""
        yaml = _yaml()

        def walk(node) -> int | None:
            if isinstance(node, yaml.MappingNode):
                for _, k, v in _pairs(node):
                    if isinstance(v, yaml.MappingNode) and not v.flow_style and v.value:
                        delta = v.value[0][0].start_mark.column - k.start_mark.column
                        if delta > 0:
                            return delta
                    found = walk(v)
                    if found:
                        return found
            elif isinstance(node, yaml.SequenceNode):
                for item in node.value:
                    found = walk(item)
                    if found:
                        return found
            return None

        return walk(self.root) or 2


# --- rendering ------------------------------------------------------------------------------------------

def _dump(text: str, style: str | None, flow: bool) -> str:
    yaml = _yaml()
    if flow:
        out = yaml.safe_dump([text], default_flow_style=True, default_style=style, width=_WIDTH,
                             allow_unicode=True).strip()
        return out[1:-1]
    out = yaml.safe_dump({"k": text}, default_flow_style=False, default_style=style, width=_WIDTH,
                         allow_unicode=True)
    return out.split(": ", 1)[1].rstrip("\r\n")


def _plain_ok(text: str, flow: bool) -> bool:
    """Whether ``text`` can stay a plain scalar and read back as the same text."""
    yaml = _yaml()
    from yaml.emitter import Emitter
    from yaml.resolver import Resolver

    if not text:
        return False
    analysis = Emitter(io.StringIO()).analyze_scalar(text)
    allowed = analysis.allow_flow_plain if flow else analysis.allow_block_plain
    if not allowed or analysis.multiline:
        return False
    return Resolver().resolve(yaml.ScalarNode, text, (True, False)) != "tag:yaml.org,2002:null"


def render(value: Any, *, flow: bool, style: str | None = None, existing: bool = False) -> str:
    """The YAML text of a declaration value. An existing scalar keeps its quote style (and
    stays plain when plain reads back the same); a new one is quoted only when YAML needs it
    (yaml.safe_dump decides). ``$`` is written ``$$`` (declarations interpolate every value)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{style}{value}{style}" if style in ('"', "'") else str(value)
    text = str(value).replace("$", "$$")
    if "\n" in text or not text.isprintable():
        style = '"'   # only double quotes carry line breaks and control characters exactly
    if style in ('"', "'"):
        return _dump(text, style, flow)
    if existing and _plain_ok(text, flow):
        return text
    return _dump(text, None, flow)


def _render_key(key: str, flow: bool) -> str:
    return key if _plain_ok(key, flow) and _dump(key, None, flow) == key else _dump(key, None, flow)


def _flow_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_render_key(str(k), True)}: {_flow_value(v)}" for k, v in value.items()) + "}"
    return render(value, flow=True)


def _block_lines(key: str, value: Any, indent: int, step: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [f"{pad}{_render_key(key, False)}: {{}}"]
        lines = [f"{pad}{_render_key(key, False)}:"]
        for k, v in value.items():
            lines += _block_lines(str(k), v, indent + step, step)
        return lines
    return [f"{pad}{_render_key(key, False)}: {render(value, flow=False)}"]


# --- splicing -------------------------------------------------------------------------------------------

def _colon_end(text: str, key_node) -> int:
    i = key_node.end_mark.index
    while i < len(text) and text[i] in " \t":
        i += 1
    if i >= len(text) or text[i] != ":":
        raise _EditError(f"cannot find the ':' after {key_node.value!r}")
    return i + 1


def _tight_end(text: str, node, key_node=None) -> int:
    """Where ``node``'s own text ends (PyYAML's block collections end at the next token,
    after any comments and blank lines; block scalars after their trailing breaks)."""
    yaml = _yaml()
    if isinstance(node, yaml.ScalarNode):
        if node.start_mark.index == node.end_mark.index and key_node is not None:
            return _colon_end(text, key_node)   # an empty value: the key's line
        end = node.end_mark.index
        if node.style in ("|", ">"):
            while end > node.start_mark.index and text[end - 1] in " \t\r\n":
                end -= 1
        return end
    if getattr(node, "flow_style", False) or not node.value:
        return node.end_mark.index
    if isinstance(node, yaml.MappingNode):
        k, v = node.value[-1]
        return _tight_end(text, v, k)
    return _tight_end(text, node.value[-1])


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_after(text: str, index: int) -> int:
    nl = text.find("\n", index)
    return len(text) if nl < 0 else nl + 1


def _insert_lines(text: str, pos: int, lines: list[str], nl: str) -> str:
    chunk = nl.join(lines)
    if pos >= len(text) and text and not text.endswith("\n"):
        return text + nl + chunk
    return text[:pos] + chunk + nl + text[pos:]


def _insert(doc: _Doc, mapping, key: str, value: Any) -> str:
    """``key: value`` added to ``mapping`` (block: a new line at its siblings' indentation
    after its last entry; flow: before its closing brace)."""
    text = doc.text
    if mapping.flow_style:
        close = mapping.end_mark.index - 1
        if close < 0 or text[close] != "}":
            raise _EditError("cannot find the end of a flow mapping")
        entry = f"{_render_key(key, True)}: {_flow_value(value)}"
        if not mapping.value:
            return text[:close] + entry + text[close:]
        k, v = mapping.value[-1]
        pos = _tight_end(text, v, k)
        return text[:pos] + ", " + entry + text[pos:]
    if not mapping.value:
        raise _EditError("an empty block mapping")
    indent = mapping.value[0][0].start_mark.column
    k, v = mapping.value[-1]
    pos = _line_after(text, _tight_end(text, v, k))
    return _insert_lines(text, pos, _block_lines(key, value, indent, doc.step()), doc.nl)


def _fill_null(doc: _Doc, mapping, key_node, null_node, value: dict) -> str:
    """``key:`` (or ``key: ~``) becoming a mapping holding ``value``."""
    text = doc.text
    colon = _colon_end(text, key_node)
    end = null_node.end_mark.index if null_node.end_mark.index > colon else colon
    if mapping.flow_style:
        return text[:colon] + " " + _flow_value(value) + text[end:]
    text = text[:colon] + text[end:]
    indent = key_node.start_mark.column + doc.step()
    lines: list[str] = []
    for k, v in value.items():
        lines += _block_lines(str(k), v, indent, doc.step())
    return _insert_lines(text, _line_after(text, colon), lines, doc.nl)


def _delete(doc: _Doc, mapping, key_node, value_node) -> str:
    text = doc.text
    if mapping.flow_style:
        pairs = mapping.value
        i = next(n for n, (k, _) in enumerate(pairs) if k is key_node)
        if len(pairs) == 1:
            start, end = key_node.start_mark.index, _tight_end(text, value_node, key_node)
        elif i < len(pairs) - 1:
            start, end = key_node.start_mark.index, pairs[i + 1][0].start_mark.index
        else:
            pk, pv = pairs[i - 1]
            start, end = _tight_end(text, pv, pk), _tight_end(text, value_node, key_node)
        if "#" in text[start:end]:
            raise _EditError("a comment sits inside the flow mapping entry")
        return text[:start] + text[end:]
    start = _line_start(text, key_node.start_mark.index)
    if text[start:key_node.start_mark.index].strip():
        raise _EditError("the key shares its line with other text")
    end = _line_after(text, _tight_end(text, value_node, key_node))
    return text[:start] + text[end:]


def _apply(doc: _Doc, path: tuple, value: Any) -> str:
    """The text with ``path`` set to ``value`` (None: removed); _EditError when unsafe."""
    yaml = _yaml()
    path = doc.in_file(path)
    node = doc.function
    for i, key in enumerate(path[:-1]):
        hit = _get(node, key)
        if hit is None or _is_null(hit[1]):
            if value is None:
                return doc.text
            nested: Any = value
            for k in reversed(path[i + 1:]):
                nested = {k: nested}
            if hit is None:
                return _insert(doc, node, key, nested)
            return _fill_null(doc, node, hit[0], hit[1], nested)
        if not isinstance(hit[1], yaml.MappingNode):
            raise _EditError(f"{_label(path[:i + 1])} is not a mapping")
        node = hit[1]
    key = path[-1]
    hit = _get(node, key)
    if value is None:
        return _delete(doc, node, *hit) if hit is not None else doc.text
    if hit is None:
        return _insert(doc, node, key, value)
    k, v = hit
    if isinstance(value, dict):
        if _is_null(v):
            return _fill_null(doc, node, k, v, value)
        raise _EditError(f"{_label(path)} is already declared")
    if not isinstance(v, yaml.ScalarNode):
        raise _EditError(f"{_label(path)} is not a single value")
    if v.style in ("|", ">"):
        raise _EditError(f"{_label(path)} is a block scalar (| or >)")
    if v.start_mark.index == v.end_mark.index:   # ``key:`` with nothing: write after the colon
        colon = _colon_end(doc.text, k)
        return doc.text[:colon] + " " + render(value, flow=bool(node.flow_style)) + doc.text[colon:]
    text = render(value, flow=bool(node.flow_style), style=v.style, existing=v.style is None)
    return doc.text[:v.start_mark.index] + text + doc.text[v.end_mark.index:]


# --- checking an edit -----------------------------------------------------------------------------------

def _plain(node) -> Any:
    """A composed node as plain data with the scalars' raw text (None for nulls)."""
    yaml = _yaml()
    if isinstance(node, yaml.MappingNode):
        return {k.value if isinstance(k, yaml.ScalarNode) else repr(_plain(k)): _plain(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item) for item in node.value]
    return None if _is_null(node) else node.value


def _masked(doc: _Doc, paths: Iterable[tuple]) -> Any:
    data = _plain(doc.root)
    function = data if doc.index is None else data["functions"][doc.index]
    for path in map(doc.in_file, paths):
        parents = [function]
        node = function
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            parents.append(node)
        if isinstance(node, dict):
            node.pop(path[-1], None)
        # A mapping the edit created or emptied counts as absent on both sides.
        for key, parent in zip(reversed(path[:-1]), reversed(parents[:-1])):
            if isinstance(parent, dict) and parent.get(key) in (None, {}):
                parent.pop(key, None)
    return data


def _check(before: _Doc, after: _Doc, expected: Mapping[tuple, Any]) -> str | None:
    """None when ``after`` differs from ``before`` only at ``expected``'s paths, each of
    which now reads as expected; else what is wrong (never a value)."""
    if _masked(before, expected) != _masked(after, expected):
        return "the edit would change other values"
    for path, value in expected.items():
        if len(path) == 2 and path[0] == "targets":
            now = after.node(path)
            if now is None or not isinstance(now[1], _yaml().MappingNode):
                return f"{_label(path)} did not read back"
            continue
        if _snap(path, after.value(path)) != _snap(path, value):
            return f"{_label(path)} did not read back as written"
    return None


# --- writing files --------------------------------------------------------------------------------------

def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be rewritten (checked before any edit is attempted), or None."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"{path} is gone"
    except OSError as exc:
        return f"{path} cannot be read: {exc.strerror or exc}"
    # The mode bits as well as access(): root may write anything, but a file its owner made
    # read-only is a statement that it must not change.
    if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
        return f"{path} is read-only"
    return None


def _write_atomic(path: Path, data: bytes, original: bytes) -> str | None:
    """Replace ``path`` with ``data`` (temp file + os.replace, same mode), unless it changed
    since it was read as ``original``. None on success, else why not."""
    why = _unwritable(path)
    if why:
        return why
    try:
        if path.read_bytes() != original:
            return f"{path} changed while it was being updated"
        mode = stat.S_IMODE(os.stat(path).st_mode)
        # The person's own file in their own folder: its mode kept, the folder left alone.
        write_atomic(path, data, backup=False, mode=mode, private_folder=False)
    except OSError as exc:
        return f"{path} cannot be written: {exc.strerror or exc}"
    return None


def _declared_file(spec: FunctionSpec) -> Path | None:
    file, _, line = spec.declared_in.rpartition(":")
    if not file or not line.isdigit():
        file = spec.declared_in
    return Path(file) if file else None


# --- the write-back -------------------------------------------------------------------------------------

def write_back(requests: Iterable[tuple[FunctionSpec, Iterable[tuple[str, str, list[str]]]]],
               environ: Mapping[str, str] | None = None) -> WriteBackReport:
    """Write each spec's pulled fields into the file it was declared in.

    ``requests``: (the registry's spec after the pull, [(component, action kind, fields)]),
    e.g. from ``pulled_fields``. A spec without ``declared_in`` is skipped. One atomic write
    per file, however many of its functions changed."""
    environ = dict(os.environ if environ is None else environ)
    report = WriteBackReport()
    by_file: dict[Path, list[tuple[FunctionSpec, list[tuple]]]] = {}
    for spec, pulls in requests:
        file = _declared_file(spec)
        if file is None:
            continue
        by_file.setdefault(file, []).append((spec, _paths(pulls, spec)))
    for file, items in by_file.items():
        _write_file(file, items, environ, report)
    return report


def _write_file(file: Path, items: list[tuple[FunctionSpec, list[tuple]]], environ: Mapping[str, str],
                report: WriteBackReport) -> None:
    real = Path(os.path.realpath(file))
    outcomes = [report.functions.setdefault(spec.name, FunctionWrite(spec.name, str(file))) for spec, _ in items]
    try:
        original = real.read_bytes()
        text = original.decode("utf-8")
    except FileNotFoundError:
        why = f"{file} is gone"
    except OSError as exc:
        why = f"{file} cannot be read: {exc.strerror or exc}"
    except UnicodeDecodeError:
        why = f"{file} is not UTF-8 text"
    else:
        why = None
    if why is not None:
        for (spec, paths), fw in zip(items, outcomes):
            _not_written(fw, spec, paths, why)
        return
    for (spec, paths), fw in zip(items, outcomes):
        text = _write_function(file, text, spec, paths, environ, fw)
    if text == original.decode("utf-8"):
        return
    why = _write_atomic(real, text.encode("utf-8"), original)
    if why is None:
        return
    for (spec, _), fw in zip(items, outcomes):
        if fw.written:
            for path in fw.written:
                fw.settled.pop(path, None)
            fw.warnings.append(f"{spec.name}: {', '.join(_label(p) for p in fw.written)} not written back: {why}")
            fw.written = []


def _not_written(fw: FunctionWrite, spec: FunctionSpec, paths: list[tuple], why: str) -> None:
    if paths:
        fw.warnings.append(f"{spec.name}: the declaration was not updated: {why}")


def _write_function(file: Path, text: str, spec: FunctionSpec, paths: list[tuple],
                    environ: Mapping[str, str], fw: FunctionWrite) -> str:
    """The file's text with this function's pulled values written (or as it was)."""
    try:
        doc = _Doc(file, text, spec.name, environ)
    except _EditError as exc:
        _not_written(fw, spec, paths, str(exc))
        return text
    declared = spec.declared or {}
    if not declared:
        fw.base = _file_snapshot(doc, spec)
    expanded: list[tuple] = []
    for path in paths:
        if path[0] in MAPS and path[1] is None:
            known = isinstance(declared.get(path[0]), dict)
            keys = dict.fromkeys([*doc.keys(path[0]), *getattr(spec, path[0]),
                                  *((declared.get(path[0]) or {}) if known else {})])
            expanded += [(path[0], k) for k in keys if (path[0], k) not in expanded]
        elif path not in expanded:
            expanded.append(path)
    # Values taken earlier that the file still lacks (a write that failed then) catch up now.
    for path in _behind_paths(spec):
        if path not in expanded:
            expanded.append(path)
    # A component the file names by its kind (``docker:`` for laptop, the only docker
    # instance) is written under that key (_Doc.in_file), never as a second entry for it. When
    # the kind's name no longer says which instance it is, nothing is: the run says where.
    for path in [p for p in expanded if p[0] == "targets" and doc.unresolved(p[1])]:
        expanded.remove(path)
        key = doc.unresolved(path[1])
        fw.warnings.append(f"{spec.name}: {_label(path)}: not written back: {doc.where(('targets', key))} "
                           f"names {key}:, which is not one instance now that config.yaml names several "
                           f"of that kind; write {path[1]}: there to have it kept")
    # A state for a target the file does not declare yet declares the target (with its
    # settings from the registry) first.
    for i, path in reversed(list(enumerate(expanded))):
        if len(path) == 3 and path[0] == "targets" and path[:2] not in expanded and doc.node(path[:2]) is None:
            expanded.insert(i, path[:2])
    ops: dict[tuple, Any] = {}
    for path in expanded:
        if len(path) == 2 and path[0] == "targets":
            component = path[1]
            if doc.node(path) is None and component in spec.targets and _target_fields(component):
                target = {k: v for k, v in spec.targets[component].items()
                          if k in _target_fields(component) and k != "state" and v not in (None, "")}
                ops[path] = target
            continue
        registry = _registry_value(spec, path)
        current = doc.value(path)
        if current is not _UNREAD and _snap(path, current) == _snap(path, registry):
            fw.settled[path] = _snap(path, registry)   # the file already says it
            continue
        field_name = _label(path)
        hit = doc.node(path)
        if registry is None and path[0] not in MAPS:
            continue   # the component did not report it: nothing to write
        if path[0] == "targets" and path[2] == "image":
            if path[:2] in ops:
                fw.settled[path] = registry   # the new target is written with it
                continue
        elif path[0] == "targets":
            component = path[1]
            if path[:2] in ops and registry == default_state(component):
                fw.settled[path] = registry   # the new target says it by default
                continue
            if not _target_fields(component) or registry not in _states(component):
                fw.warnings.append(f"{spec.name}: {field_name}: {registry!r} cannot be declared "
                                   f"(allowed: {', '.join(_states(component)) or 'none'}); "
                                   f"{doc.where(path)} not changed")
                continue
        if hit is not None and registry is not None and _is_reference(hit[1]):
            # (a key removed on the component loses its line even when it was a ${VAR})
            fw.warnings.append(f"{spec.name}: {_reference_hint(path, hit[1], registry, doc)}")
            continue
        known, snap = _snapshot_get(declared, path)
        if known and (current is _UNREAD or not _same(path, snap, current)):
            fw.warnings.append(f"{spec.name}: {field_name}: {doc.where(path)} was edited since it was last read; "
                               "not overwritten (run functions-tui add to register the edit)")
            continue
        if registry is not None and hit is not None and getattr(hit[1], "style", None) in ("|", ">"):
            fw.warnings.append(f"{spec.name}: {field_name}: {doc.where(path)} is a block scalar (| or >); "
                               "not rewritten: edit it by hand")
            continue
        ops[path] = registry
    if not ops:
        return text
    start = doc
    done: dict[tuple, Any] = {}
    for path, value in ops.items():
        try:
            doc = _Doc(file, _apply(doc, path, value), spec.name, environ)
        except _EditError as exc:
            fw.warnings.append(f"{spec.name}: {_label(path)}: not written back to {start.where(path)}: {exc}")
            continue
        done[path] = value
    if not done:
        return text
    problem = _check(start, doc, done)
    if problem is not None:
        fw.warnings.append(f"{spec.name}: {', '.join(_label(p) for p in done)} not written back to {file}: "
                           f"{problem}; edit it by hand")
        return text
    for path, value in done.items():
        fw.written.append(path)
        if not (len(path) == 2 and path[0] == "targets"):
            fw.settled[path] = _snap(path, value)
    return doc.text


def _reference_hint(path: tuple, node, registry: Any, doc: _Doc) -> str:
    """``memory: set MEM=512 (or edit FILE:LINE)``; for env the variable only, never the value."""
    names = _references(node)
    where = doc.where(path)
    field_name = _label(path)
    whole = _whole_reference(node)
    if path[0] == "env":
        if whole:
            return f"{field_name}: set {whole} to the new value (a secret: not shown) (or edit {where})"
        return f"{field_name}: edit {where} (it uses {_vars(names)}; the new value is a secret: not shown)"
    if whole:
        return f"{field_name}: set {whole}={registry} (or edit {where})"
    return f"{field_name}: edit {where} to {registry} (it is written with {_vars(names)})"


def _vars(names: list[str]) -> str:
    return ", ".join(f"${{{n}}}" for n in dict.fromkeys(names))


def _file_snapshot(doc: _Doc, spec: FunctionSpec) -> dict[str, Any]:
    """The declaration's values as read now, for a record that has no snapshot yet
    (fields that cannot be read are left out: for them the file is taken at the next add)."""
    from functions_tui.app.declarations import code_digest

    out: dict[str, Any] = {}
    for f in SCALARS:
        value = doc.value((f,))
        if value is not _UNREAD and value is not None:
            out[f] = value
    for head in MAPS:
        values = {}
        for key in doc.keys(head):
            value = doc.value((head, key))
            if value is not _UNREAD and value is not None:
                values[key] = _snap((head, key), value)
        out[head] = values
    out["targets_state"], images = {}, {}
    for component in map(doc.component_of, doc.keys("targets")):
        for setting, into in (("state", out["targets_state"]), ("image", images)):
            value = doc.value(("targets", component, setting))
            if value is not _UNREAD and value is not None:
                into[component] = value
    if images:   # (as app.declarations.declared_snapshot keeps them)
        out["targets_image"] = images
    try:
        if spec.source and Path(spec.source).exists():
            out["code_digest"] = code_digest(Path(spec.source))
    except OSError:
        pass
    return out


# --- what is behind -------------------------------------------------------------------------------------

def declaration_behind(record: Any, environ: Mapping[str, str] | None = None) -> list[str]:
    """The fields where the registry holds a value its declaration does not show (and was
    not edited to show), each with what to do: ``memory: set MEM=512 (declared as ${MEM} at
    FILE:LINE)``, ``timeout: FILE is read-only``. Empty for a function with no declaration
    or no snapshot. Env values are never shown."""
    spec: FunctionSpec = getattr(record, "spec", record)
    declared = spec.declared or {}
    file = _declared_file(spec)
    if not declared or file is None:
        return []
    environ = dict(os.environ if environ is None else environ)
    behind = _behind_paths(spec)
    if not behind:
        return []
    why = None
    doc = None
    try:
        real = Path(os.path.realpath(file))
        doc = _Doc(file, real.read_bytes().decode("utf-8"), spec.name, environ)
    except FileNotFoundError:
        why = f"{file} is gone"
    except (OSError, UnicodeDecodeError) as exc:
        why = f"{file} cannot be read: {getattr(exc, 'strerror', None) or exc}"
    except _EditError as exc:
        why = str(exc)
    out = []
    readonly = _unwritable(Path(os.path.realpath(file))) if doc is not None else None
    for path in behind:
        name = _label(path)
        registry = _registry_value(spec, path)
        if doc is None:
            out.append(f"{name}: {why}")
            continue
        current = doc.value(path)
        if current is not _UNREAD and _snap(path, current) == _snap(path, registry):
            continue   # the file says it already (edited by hand, not yet added)
        hit = doc.node(path)
        if hit is not None and registry is not None and _is_reference(hit[1]):
            out.append(_behind_reference(path, hit[1], registry, doc))
        elif path[0] == "targets" and registry is None:
            out.append(f"targets.{path[1]}: no longer a target in the registry (deleted from {path[1]} out of band"
                       f" and pruned); remove it from {doc.where(path)}, or the next `add` deploys it there again")
        elif readonly:
            out.append(f"{name}: {readonly}")
        elif path[0] == "targets" and path[2] == "state" and registry not in _states(path[1]):
            out.append(f"{name}: {registry!r} cannot be declared in {doc.where(path)}")
        elif current is not _UNREAD and not _same(path, _snapshot_get(declared, path)[1], current):
            out.append(f"{name}: {doc.where(path)} was edited since it was last read (run functions-tui add)")
        elif hit is not None and getattr(hit[1], "style", None) in ("|", ">"):
            out.append(f"{name}: {doc.where(path)} is a block scalar: edit it by hand")
        else:
            out.append(f"{name}: not written to {doc.where(path)} yet (the next sync writes it)")
    return out


def _behind_paths(spec: FunctionSpec) -> list[tuple]:
    """Paths where the registry's value is not the snapshot's (what the file last said)."""
    declared = spec.declared or {}
    if not declared:
        return []
    paths: list[tuple] = [(f,) for f in SCALARS]
    for head in MAPS:
        if isinstance(declared.get(head), dict):
            paths += [(head, k) for k in dict.fromkeys([*getattr(spec, head), *declared[head]])]
    if isinstance(declared.get("targets_state"), dict):
        paths += [("targets", c, "state") for c in dict.fromkeys([*spec.targets, *declared["targets_state"]])]
    if isinstance(declared.get("targets_image"), dict):
        paths += [("targets", c, "image") for c in dict.fromkeys([*declared["targets_image"],
                                                                  *(c for c in spec.targets if spec.image(c))])]
    out = []
    for path in paths:
        known, snap = _snapshot_get(declared, path)
        if known and not _same(path, snap, _registry_value(spec, path)):
            out.append(path)
    return out


def _target_fields(component: str) -> Mapping[str, str]:
    kind = find_kind(component)
    return kind.target_fields if kind is not None else {}


def _behind_reference(path: tuple, node, registry: Any, doc: _Doc) -> str:
    name = _label(path)
    declared_as = f"declared as {node.value} at {doc.where(path)}"
    whole = _whole_reference(node)
    if path[0] == "env":   # not even the text: a ${VAR:-default} may hold a secret default
        if whole:
            return (f"{name}: set {whole} to the registry's value (a secret: not shown) "
                    f"(declared as ${{{whole}}} at {doc.where(path)})")
        return f"{name}: edit {doc.where(path)} (the registry's value is a secret: not shown)"
    if whole:
        return f"{name}: set {whole}={registry} ({declared_as})"
    return f"{name}: edit {doc.where(path)} to {registry} ({declared_as})"
