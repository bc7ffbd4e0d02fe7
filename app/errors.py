"""One line per failure: what went wrong and where, for the CLI's stderr."""

from __future__ import annotations


def describe(exc: BaseException) -> str:
    """A one-line message; errors of our own already name file/line/field or component."""
    from app.yaml_nodes import SchemaError
    from app.service import ServiceError

    known: tuple[type, ...] = (SchemaError, ServiceError)
    try:
        from registry.store import RegistryError

        known += (RegistryError,)
    except ImportError:  # pragma: no cover - the store is part of the package
        pass
    from registry.component import ApplyError
    from registry.filters import FilterError

    known += (ApplyError, FilterError)
    try:
        from registry.ordering import CycleError

        known += (CycleError,)
    except ImportError:
        pass
    text = str(exc) if isinstance(exc, known) else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, PermissionError) and getattr(exc, "filename", None):
        text = f"{exc.filename}: permission denied"
    elif isinstance(exc, OSError) and getattr(exc, "filename", None) and not isinstance(exc, known):
        text = f"{exc.filename}: {exc.strerror or exc}"
    return " ".join(text.split()) or type(exc).__name__
