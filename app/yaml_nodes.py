"""Strict reading of YAML with line numbers, for config.yaml and the declarations.

PyYAML's ``compose`` keeps every node's position (``start_mark``), so instead of loading
to plain dicts and losing where things were, we walk the nodes and check types as we go:
every error names the file, the line and the field (``file:line: field: problem``).
``${VAR}`` interpolation happens on scalars before their type is checked, so
``memory: ${MEM}`` works when MEM is a number.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Mapping

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class SchemaError(ValueError):
    """One bad input: ``file:line: field: problem`` (one line, ready to print)."""

    def __init__(self, file: str | Path, line: int | None, field: str, problem: str) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.problem = problem
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


def compose(path: Path, text: str | None = None):
    """The root node of a YAML file, or SchemaError naming the line of a syntax error."""
    import yaml

    try:
        if text is None:
            text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(path, None, "", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SchemaError(path, None, "", "not UTF-8 text") from None
    try:
        # The C parser (when built) keeps the same marks and is several times faster.
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or exc.context or "malformed YAML").strip()
        raise SchemaError(path, line, "", f"malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise SchemaError(path, None, "", f"malformed YAML: {exc}") from None


def line_of(node) -> int | None:
    return node.start_mark.line + 1 if node is not None and node.start_mark else None


class Reader:
    """Typed access to nodes of one file, with ``${VAR}`` lookups in ``variables``."""

    def __init__(self, path: Path, variables: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.variables: Mapping[str, str] = variables or {}

    def error(self, node, field: str, problem: str) -> SchemaError:
        return SchemaError(self.path, line_of(node), field, problem)

    # --- scalars -----------------------------------------------------------------
    def interpolate(self, text: str, node, field: str) -> str:
        def sub(match: re.Match) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            if name in self.variables:
                return str(self.variables[name])
            if default is not None:
                return default
            raise self.error(node, field, f"variable ${{{name}}} is not set (environment or variables: block)")

        return _VAR.sub(sub, text)

    def _scalar(self, node, field: str):
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
            raise self.error(node, field, f"expected a single value, got {kind}")
        return node

    def string(self, node, field: str) -> str:
        node = self._scalar(node, field)
        if node.tag == _NULL_TAG:
            raise self.error(node, field, "expected text, got nothing")
        return self.interpolate(node.value, node, field)

    def integer(self, node, field: str, minimum: int | None = None) -> int:
        node = self._scalar(node, field)
        text = self.interpolate(node.value, node, field).strip()
        if node.tag in (_BOOL_TAG, _FLOAT_TAG, _NULL_TAG) or not re.fullmatch(r"[+-]?\d+", text):
            raise self.error(node, field, f"expected a whole number, got {node.value!r}")
        value = int(text)
        if minimum is not None and value < minimum:
            raise self.error(node, field, f"must be at least {minimum}, got {value}")
        return value

    def boolean(self, node, field: str) -> bool:
        node = self._scalar(node, field)
        text = self.interpolate(node.value, node, field).strip().lower()
        if text in ("true", "yes", "on"):
            return True
        if text in ("false", "no", "off"):
            return False
        raise self.error(node, field, f"expected true or false, got {node.value!r}")

    def choice(self, node, field: str, choices: tuple[str, ...]) -> str:
        value = self.string(node, field)
        if value not in choices:
            raise self.error(node, field, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def optional_string(self, node, field: str) -> str | None:
        if node.tag == _NULL_TAG and hasattr(node, "value") and node.value in ("", "~", "null", "Null", "NULL"):
            return None
        return self.string(node, field)

    # --- collections ----------------------------------------------------------------
    def mapping(self, node, field: str, allowed: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """key -> value node; unknown keys (when ``allowed`` is given) and duplicates are errors."""
        import yaml

        if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
            return {}
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, field or "(top level)", "expected a mapping (key: value)")
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.error(key_node, field or "(top level)", "keys must be plain names")
            key = key_node.value
            name = f"{field}.{key}" if field else key
            if allowed is not None and key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(key_node, name, f"unknown field (known: {known})")
            if key in out:
                raise self.error(key_node, name, "given twice")
            out[key] = value_node
        return out

    def sequence(self, node, field: str) -> list:
        import yaml

        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, field, "expected a list")
        return list(node.value)

    def string_list(self, node, field: str) -> list[str]:
        return [self.string(item, f"{field}[{i}]") for i, item in enumerate(self.sequence(node, field))]

    def string_map(self, node, field: str) -> dict[str, str]:
        """A mapping of names to text; numbers and booleans are taken as their text."""
        out: dict[str, str] = {}
        for key, value in self.mapping(node, field).items():
            out[key] = self.string(value, f"{field}.{key}")
        return out

    def fields(self, node, field: str, readers: Mapping[str, Callable[[Any, str], Any]],
               required: tuple[str, ...] = ()) -> dict[str, Any]:
        """Read a mapping whose every key has a reader; missing required keys are errors."""
        nodes = self.mapping(node, field, allowed=readers)
        for key in required:
            if key not in nodes:
                name = f"{field}.{key}" if field else key
                raise self.error(node, name, "required field is missing")
        return {key: readers[key](value, f"{field}.{key}" if field else key) for key, value in nodes.items()}
