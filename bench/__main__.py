"""Run the benchmarks: ``python -m bench`` (all) or ``python -m bench NAME [NAME ...]``.

Each ``bench/<name>.py`` exposes ``run() -> Iterable[dict]`` yielding figures shaped
``{"bench": NAME, "figure": ..., "value": ..., "unit": "s"|"ms"|"ratio", "goal": ...}``.
Each figure is printed as one JSON line on stdout as soon as it is measured; progress and
chatter go to stderr.
"""

from __future__ import annotations

import importlib
import json
import sys
import time

BENCHES = ("registry", "engine", "components", "cli", "tui")


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown bench {', '.join(unknown)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 1
    status = 0
    for name in names:
        started = time.perf_counter()
        print(f"bench {name}: running", file=sys.stderr)
        try:
            module = importlib.import_module(f"bench.{name}")
            for figure in module.run():
                figure.setdefault("bench", name)
                print(json.dumps(figure), flush=True)
                goal = figure.get("goal")
                if goal is not None and figure.get("value") is not None and figure["value"] > goal:
                    print(f"  {figure['figure']}: {figure['value']} exceeds goal {goal}", file=sys.stderr)
        except Exception as exc:  # one failing bench must not hide the others
            print(f"bench {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            status = 1
        print(f"bench {name}: done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
