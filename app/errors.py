"""One line per failure: what went wrong and where, for the CLI's stderr."""

from __future__ import annotations


def describe(exc: BaseException) -> str:
    """A one-line message; errors of our own already name file/line/field or component."""
    from functions_tui.app.yaml_nodes import SchemaError
    from functions_tui.app.service import ServiceError

    known: tuple[type, ...] = (SchemaError, ServiceError)
    try:
        from functions_tui.registry.store import RegistryError

        known += (RegistryError,)
    except ImportError:  # pragma: no cover - the store is part of the package
        pass
    from functions_tui.registry.component import ApplyError
    from functions_tui.registry.filters import FilterError

    known += (ApplyError, FilterError)
    try:
        from functions_tui.registry.ordering import CycleError

        known += (CycleError,)
    except ImportError:
        pass
    text = str(exc) if isinstance(exc, known) else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, PermissionError) and getattr(exc, "filename", None):
        text = f"{exc.filename}: permission denied"
    elif isinstance(exc, OSError) and getattr(exc, "filename", None) and not isinstance(exc, known):
        text = f"{exc.filename}: {exc.strerror or exc}"
    return " ".join(text.split()) or type(exc).__name__
