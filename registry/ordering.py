"""Order by ``after``: a deterministic topological sort whose cycle error names the cycle."""

from __future__ import annotations

import heapq
from typing import Iterable, Mapping


class CycleError(ValueError):
    """The ``after`` relation loops; ``cycle`` is the loop, first name repeated at the end."""

    def __init__(self, cycle: list[str], what: str = "functions") -> None:
        self.cycle = cycle
        super().__init__(f"dependency cycle among {what}: {' -> '.join(cycle)}"
                         f" (remove one of these `after` entries)")


def topological_order(after: Mapping[str, Iterable[str]], *, what: str = "functions") -> list[str]:
    """Every key of ``after`` once, each after everything it lists (names not keys are ignored).

    Ties break alphabetically so the same input always gives the same order.
    Raises CycleError naming one cycle, e.g. ``a -> b -> a``.
    """
    deps = {name: {d for d in (after.get(name) or ()) if d in after and d != name} for name in after}
    self_loops = sorted(name for name in after if name in (after.get(name) or ()))
    if self_loops:
        raise CycleError([self_loops[0], self_loops[0]], what)
    dependents: dict[str, list[str]] = {}
    remaining = {}
    for name, ds in deps.items():
        remaining[name] = len(ds)
        for d in ds:
            dependents.setdefault(d, []).append(name)
    ready = [name for name, n in remaining.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for dependent in dependents.get(name, ()):
            remaining[dependent] -= 1
            if remaining[dependent] == 0:
                heapq.heappush(ready, dependent)
    if len(order) != len(deps):
        left = {name for name, n in remaining.items() if n > 0}
        raise CycleError(find_cycle({n: deps[n] & left for n in left}), what)
    return order


def find_cycle(deps: Mapping[str, Iterable[str]]) -> list[str]:
    """One cycle in a graph where every node is on or leads into a cycle (Kahn's leftovers)."""
    start = min(deps)
    seen: dict[str, int] = {}
    path: list[str] = []
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min(deps[node])
    cycle = path[seen[node]:]
    # Start the cycle at its smallest name so the message is stable.
    i = cycle.index(min(cycle))
    cycle = cycle[i:] + cycle[:i]
    return cycle + [cycle[0]]
