"""Order by ``after``: a deterministic topological sort whose cycle error names the cycle."""

from __future__ import annotations

from typing import Iterable, Mapping

_VISITING, _DONE = 1, 2


class CycleError(ValueError):
    """The ``after`` relation loops; ``cycle`` is the loop, first name repeated at the end."""

    def __init__(self, cycle: list[str], what: str = "functions") -> None:
        self.cycle = cycle
        super().__init__(f"dependency cycle among {what}: {' -> '.join(cycle)}"
                         f" (remove one of these `after` entries)")


def topological_order(after: Mapping[str, Iterable[str]], *, what: str = "functions") -> list[str]:
    """Every key of ``after`` once, each after everything it lists (names that are not keys
    are ignored). Depth-first from the names in sorted order, so the same input always gives
    the same order. Raises CycleError naming one cycle, e.g. ``a -> b -> a`` (a runs after b,
    b after a)."""
    state: dict[str, int] = {}
    order: list[str] = []

    def deps(name: str) -> list[str]:
        listed = after.get(name) or ()
        return sorted(listed) if len(listed) > 1 else list(listed)

    for root in sorted(after):
        if root in state:
            continue
        listed = after.get(root)
        if not listed or (len(listed) == 1 and (dep := next(iter(listed))) != root
                          and (state.get(dep) == _DONE or dep not in after)):
            # The usual case: no dependency, or one already placed (or not a node). The walk
            # below would place the root at once; skip building its stack.
            state[root] = _DONE
            order.append(root)
            continue
        state[root] = _VISITING
        path = [root]
        stack = [iter(deps(root))]
        while stack:
            for dep in stack[-1]:
                if dep not in after:
                    continue
                seen = state.get(dep)
                if seen is None:
                    state[dep] = _VISITING
                    path.append(dep)
                    stack.append(iter(deps(dep)))
                    break
                if seen == _VISITING:
                    raise CycleError(_rotate(path[path.index(dep):]), what)
            else:
                stack.pop()
                done = path.pop()
                state[done] = _DONE
                order.append(done)
    return order


def find_cycle(after: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One cycle of ``after`` as [a, b, ..., a] (starting at its smallest name), or None: the
    check config.yaml's syncs and the declarations make before anything runs."""
    try:
        topological_order(after)
    except CycleError as exc:
        return exc.cycle
    return None


def _rotate(cycle: list[str]) -> list[str]:
    """Start the cycle at its smallest name (a stable message), closing it: a -> b -> a."""
    i = cycle.index(min(cycle))
    cycle = cycle[i:] + cycle[:i]
    return cycle + [cycle[0]]
