"""The registry's errors. Every message names the file and says how to fix it.

They live in their own module so the storage, lock and migration modules can raise them
without importing the store; ``registry.store`` re-exports them (its public API).
"""

from __future__ import annotations


class RegistryError(Exception):
    """Any registry failure. The message names the file and the way to fix it."""


class CorruptRegistryError(RegistryError):
    """0-byte, truncated, garbage or wrong-shaped file: never read as an empty registry."""


class MissingRegistryError(CorruptRegistryError):
    """registry.json is gone although this folder had a registry (generations of it exist):
    never read as a new, empty registry."""


class StaleWriteError(RegistryError):
    """A write based on a read whose serial/lineage is no longer current."""


class LockTimeoutError(RegistryError):
    """Another process holds the registry lock; the message says who (pid, host, command, since)."""


RESTORE_HINT = ("run `functions-tui restore` to go back to the newest good generation "
                "(`functions-tui restore --list` lists them)")


def corrupt(path, problem: str) -> CorruptRegistryError:
    """A CorruptRegistryError naming the file, the problem and the restore path."""
    error = CorruptRegistryError(
        f"registry {path} is unreadable: {problem}. Nothing was changed; " + RESTORE_HINT + "."
    )
    error.path, error.problem = path, problem
    return error
