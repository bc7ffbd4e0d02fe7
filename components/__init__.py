"""The component kinds: one module each, registered here in display order.

A kind's module declares everything the rest of the code knows about it in its ``KIND``
(registry/kinds.py: settings, adapter, target fields, states, limits, mark spelling, docs
line) and imports its SDK only inside the adapter's methods, so loading every kind costs no
SDK import. Adding a kind is its module plus its name here (CONTRIBUTING.md).
"""

from __future__ import annotations

import importlib

#: The kinds' modules, in display order (a kind's panel, status row and apply order).
KIND_MODULES = ("docker", "gcp", "aws")


def load_kinds() -> None:
    """Import every kind's module (each registers its KIND)."""
    for module in KIND_MODULES:
        importlib.import_module(f"{__name__}.{module}")
