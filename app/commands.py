"""The everyday subcommands, one function each (``status``, ``components``, ``info`` ...).

Each takes the parsed arguments and returns the exit code; failures raise, and app.cli
turns them into one line on stderr with exit code 1.
"""

from __future__ import annotations

import sys

from functions_tui.app.headless import EXIT_DRIFT, EXIT_ERROR, EXIT_OK, STATE_STYLES, diff_text, print_json, progress, stdout_console


def _service(args):
    """The command's one SyncService (kept on ``args``: the first-run set-up and the command
    share it, and with it the components already being read)."""
    from functions_tui.app.service import SyncService

    service = getattr(args, "service", None)
    if service is None:
        service = SyncService(read_only=bool(getattr(args, "read_only", False)))
        service.fork_observers = True   # one short-lived command: read components on every core
        service.config  # a broken config.yaml fails here, naming file and line, before anything runs
        args.service = service
    return service


#: ``sync C --pull`` is the person choosing the component's side, ``--push`` the registry's:
#: so every difference is settled that way instead of being asked about again.
DIRECTION_POLICY = {"pull": "component-wins", "push": "registry-wins"}


def headless_sync(args, components, *, direction, dry_run, as_json, allow_empty) -> int:
    from functions_tui.app.headless import run_sync

    side = DIRECTION_POLICY.get(direction or "")
    # The person named the side for this run: conflicts included.
    return run_sync(_service(args), components, direction=direction, policy=side, conflicts=side,
                    dry_run=dry_run, as_json=as_json, allow_empty=allow_empty)


def config(args) -> int:
    from functions_tui.app.config import load_config, reset_config, show_config

    if args.reset:
        path, kept = reset_config()
        print(f"config reset: {path} (the old one is kept as {kept})" if kept else
              f"config reset: {path} (there was no earlier config to keep, or it was the default already)")
        return EXIT_OK
    sys.stdout.write(show_config(load_config()))
    return EXIT_OK


def status(args) -> int:
    """Every function x component, like ``git status``: a grid, then what is not in sync.
    Exit 1 when none of the components it covers could be read (nothing to report on)."""
    from functions_tui.registry import filters

    where = filters.parse(args.where)   # a bad qualifier fails before anything is read
    service = _service(args)
    service.start_probes(args.component)   # reading the components starts before anything else
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from functions_tui.registry.plan_types import State

    for n in args.component or []:
        service.require(n)
    names = args.component or service.components_for_run()[0]
    _warn_interrupted(service)
    detections = service.detections()
    records = service.records()   # while the components are being read (start_probes)
    statuses = []
    if names:
        with progress(f"reading {', '.join(names)}"):
            statuses = service.status(names, records=records)
    unknown = {s.component: s.detail for s in statuses if s.state is State.UNKNOWN}
    total = len(records)
    if not where.empty:
        allowed = service.matching_names(where.query) if where.query is not None else None
        keep = {f for f in {s.function for s in statuses}.union(records)
                if (allowed is None or f in allowed) and filters.name_matches(f, where.free)}
        statuses = [s for s in statuses if s.function in keep]
        records = {n: r for n, r in records.items() if n in keep}
    unreadable = bool(names) and all(n in unknown for n in names)   # every component it covers failed
    if args.sub_json or args.json:
        print_json({"schema": "functions-tui/status", "version": 1,
                    "components": {n: ({"status": "unknown", "reason": unknown[n]} if n in unknown else
                                       {"status": "ok", "reason": ""}) for n in names},
                    "statuses": [{"function": s.function, "component": s.component, "state": s.state.value,
                                  "detail": s.detail} for s in statuses]})
        return EXIT_ERROR if unreadable else EXIT_OK
    grid: dict[str, dict[str, object]] = {}
    for s in statuses:
        grid.setdefault(s.function, {})[s.component] = s
    console = stdout_console()
    for name in records:
        grid.setdefault(name, {})
    heading = (f"{len(records)} of {total} functions ({escape(where.text)})" if not where.empty
               else f"{total} functions") + f" in {escape(str(service.store.path))}"
    if len(grid) > BIG_REGISTRY:
        _status_summary(console, statuses, names, grid, heading)
    else:
        # The heading is a line of its own: as a table title it wrapped to the table's width.
        console.print(heading)
        table = Table()
        table.add_column("function")
        for n in names:
            table.add_column(n)
        for function in sorted(grid):
            table.add_row(Text(function), *[_cell(grid[function].get(n)) for n in names])
        console.print(table)
    for n, reason in unknown.items():
        console.print(f"[dim]{n}: unknown ({escape(reason)})[/]")
    if not names:   # nothing to read: the registry alone, then why and what to do next
        _nothing_reachable(detections)
        return EXIT_OK
    for n, det in detections.items():
        if n not in names:
            console.print(f"[dim]{n}: unavailable ({escape(det.reason)})[/]")
    if unreadable:
        print(f"functions-tui: none of {', '.join(names)} could be read (see above); "
              "`functions-tui components --refresh` checks them again", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def _nothing_reachable(detections) -> None:
    """No component can be read here and the registry uses none: say why each one is not
    reachable, and what to do next, instead of an empty table."""
    lines = ["No component is reachable here, so no function's state can be shown:"]
    for n, det in detections.items():
        lines.append(f"  {n}: {det.reason or 'not detected'}" + (f"; fix: {det.fix}" if det.fix else ""))
    lines += ["Next: fix one of the above and run `functions-tui components --refresh`,",
              "or try everything on local backends first: `functions-tui --sandbox`."]
    print("\n".join(lines), file=sys.stderr)


def _warn_interrupted(service) -> None:
    """Cloud operations an earlier run left half done, as warnings on stderr (like --sync)."""
    try:
        interrupted = list(service.interrupted())
    except Exception as exc:  # an unreadable journal: said, but the status is still worth showing
        interrupted = [str(exc)]
    for op in interrupted:
        print(f"warning: {op}", file=sys.stderr)


#: Above this many functions a grid is unreadable in a terminal: counts, then what needs attention.
BIG_REGISTRY = 500
ATTENTION_ROWS = 100


def _cell(s):
    """One pair's cell, as styled Text (no markup to parse: a 1k status renders 400 of them)."""
    from rich.text import Text

    from functions_tui.registry.plan_types import State

    if s is None or (s.state is State.IN_SYNC and s.detail == "absent"):
        return Text("-", style="dim")
    text = Text(s.state.value.replace("_", " "), style=STATE_STYLES.get(s.state.value, ""))
    if s.detail and s.state is not State.UNKNOWN:
        text.append(f" ({s.detail})")
    return text


def _status_summary(console, statuses, names, grid, heading: str) -> None:
    from rich.table import Table
    from rich.text import Text

    from functions_tui.registry.plan_types import State

    counts: dict[str, dict[str, int]] = {n: {} for n in names}
    for s in statuses:
        if s.state is State.IN_SYNC and s.detail == "absent":
            continue
        per = counts.setdefault(s.component, {})
        per[s.state.value] = per.get(s.state.value, 0) + 1
    console.print(heading)
    table = Table()
    table.add_column("state")
    for n in names:
        table.add_column(n, justify="right")
    for state in State:
        row = [str(counts[n].get(state.value, 0) or "-") for n in names]
        if any(cell != "-" for cell in row):
            table.add_row(f"[{STATE_STYLES.get(state.value, '')}]{state.value.replace('_', ' ')}[/]", *row)
    console.print(table)
    attention = sorted({s.function for s in statuses if s.state is not State.IN_SYNC})
    if attention:
        rows = Table(title=f"Needing attention: {len(attention)}", title_justify="left")
        rows.add_column("function")
        for n in names:
            rows.add_column(n)
        for function in attention[:ATTENTION_ROWS]:
            rows.add_row(Text(function), *[_cell(grid[function].get(n)) for n in names])
        console.print(rows)
        if len(attention) > ATTENTION_ROWS:
            console.print(f"... and {len(attention) - ATTENTION_ROWS} more (`functions-tui status --json` lists all)")


def components(args) -> int:
    from rich.markup import escape
    from rich.table import Table

    service = _service(args)
    with progress("detecting " + ", ".join(service.component_names())):
        detections = service.detections(refresh=args.refresh)
    if args.sub_json or args.json:
        print_json({"schema": "functions-tui/components", "version": 1,
                    "components": {n: d.to_dict() for n, d in detections.items()}})
        return EXIT_OK
    table = Table(title="Components" + (" (detected now)" if args.refresh else " (cached; --refresh to detect again)"),
                  title_justify="left")
    for col in ("component", "available", "version", "details", "reason / how to fix"):
        table.add_column(col)
    for n, d in detections.items():
        details = ", ".join(f"{k}={v}" for k, v in d.details.items())
        why = "" if d.available else d.reason + (f" — fix: {d.fix}" if d.fix else "")
        table.add_row(n, "[green]yes[/]" if d.available else "[red]no[/]", d.version, escape(details), escape(why))
    stdout_console().print(table)
    return EXIT_OK


def add(args) -> int:
    specs = _service(args).add(args.path)
    print(f"registered {len(specs)} function(s): {', '.join(s.name for s in specs)}")
    return EXIT_OK


def info(args) -> int:
    from rich.markup import escape
    from rich.table import Table

    service = _service(args)
    record = service.record(args.name)
    spec = record.spec
    console = stdout_console()
    table = Table(title=f"{spec.name}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for field in ("runtime", "entry_point", "source", "memory", "timeout", "code_digest", "declared_in"):
        table.add_row(field, escape(str(getattr(spec, field))))
    table.add_row("env", escape(", ".join(f"{k}=•••" for k in sorted(spec.env)) or "-"))  # values are secrets
    table.add_row("labels", escape(", ".join(f"{k}={v}" for k, v in sorted(spec.labels.items())) or "-"))
    table.add_row("after", escape(", ".join(spec.after) or "-"))
    table.add_row("targets", escape("; ".join(
        c + (f" ({', '.join(f'{k}={v}' for k, v in t.items())})" if t else "") for c, t in spec.targets.items()) or "-"))
    if spec.declared_in:  # values the registry took that its function.yaml does not show yet
        from functions_tui.app.writeback import declaration_behind

        behind = declaration_behind(record)
        table.add_row("declaration", escape("\n".join(f"behind: {b}" for b in behind)) if behind else "up to date")
    console.print(table)
    detections = service.detections()
    targets = [c for c in service.component_names() if (c in spec.targets or c in record.components)]
    usable = [c for c in targets if detections.get(c) and detections[c].available]
    states = {s.component: s for s in service.status(usable) if s.function == spec.name} if usable else {}
    comp = Table(title="Components", title_justify="left")
    for col in ("component", "state", "last sync", "resource", "differences"):
        comp.add_column(col)
    for c in targets:
        s = states.get(c)
        rec = record.components.get(c)
        state = (f"[{STATE_STYLES.get(s.state.value, '')}]{s.state.value}[/]" + (f" ({escape(s.detail)})" if s.detail else "")
                 if s else f"[dim]unavailable: {escape(detections[c].reason)}[/]")
        comp.add_row(c, state, rec.last_sync if rec else "-", escape(rec.resource_id if rec else "-"),
                     escape(diff_text(s.diffs) if s else ""))
    console.print(comp)
    _history_table(service.history(spec.name, limit=10), console, title="Recent history")
    return EXIT_OK


def _history_table(entries, console, title: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in ("when", "function", "action", "component", "source", "who"):
        table.add_column(col)
    for e in entries:
        table.add_row(e.at, escape(e.function), escape(e.action), e.component or "-", e.source, escape(e.actor))
    console.print(table)


def history(args) -> int:
    service = _service(args)
    _history_table(service.history(args.name, limit=args.limit), stdout_console(),
                   title=f"History{' of ' + args.name if args.name else ''}")
    return EXIT_OK


def _report(result, what: str) -> int:
    for r in result.results:
        a = r.action
        mark = "ok" if r.ok else "skipped" if r.skipped else f"FAILED: {r.error}"
        print(f"{a.component}: {a.kind.value} {a.function}: {mark}")
    if result.failed:
        for r in result.failed:
            print(f"functions-tui: error: {r.action.component}: {r.action.kind.value} {r.action.function}: {r.error}",
                  file=sys.stderr)
        return EXIT_ERROR
    if not result.results:
        print(f"{what}: nothing to do, already as the registry says")
    return EXIT_OK


def deploy(args) -> int:
    return _report(_service(args).deploy(args.name, args.to), f"deploy {args.name}")


def run(args) -> int:
    return _report(_service(args).set_run_state(args.name, "running"), f"run {args.name}")


def stop(args) -> int:
    return _report(_service(args).set_run_state(args.name, "stopped"), f"stop {args.name}")


def adopt(args) -> int:
    return _report(_service(args).adopt(args.name, args.source), f"adopt {args.name}")


def import_(args) -> int:
    """``import COMPONENT [NAME...]``: list, or write, mark and register, the functions there
    that carry no mark (app/import_command.py)."""
    from functions_tui.app.import_command import run

    return run(args, _service(args))


def gc(args) -> int:
    service = _service(args)
    plan = service.gc_plan(allow_empty=args.allow_empty)
    if plan.unknown:
        from functions_tui.app.service import ServiceError

        raise ServiceError("gc: " + "; ".join(f"{c}: {r}" for c, r in plan.unknown.items())
                           + " — nothing is removed while a component cannot be read")
    if not plan.actions:
        blocked = [w for w in plan.warnings if "blocked by max_deletions=" in w]
        if blocked:  # there is something to collect, but more than a plan may delete at once
            for line in blocked:
                print(f"gc: {line}")
            return EXIT_DRIFT
        print("gc: nothing to collect")
        return EXIT_OK
    for a in plan.actions:
        what = "remove from component" if a.kind.value == "delete" else "drop ghost from registry"
        print(f"{a.component}: {what}: {a.function} ({a.reason})")
    if not args.yes:
        if not sys.stdin.isatty():
            print("gc: run again with --yes to do this", file=sys.stderr)
            return EXIT_DRIFT
        answer = input(f"apply these {len(plan.actions)} removals? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("gc: nothing removed")
            return EXIT_DRIFT
    return _report(service.apply(plan), "gc")


def delete(args) -> int:
    result = _service(args).delete(args.name, force=args.force)
    code = _report(result, f"delete {args.name}")
    if code == EXIT_OK:
        print(f"{args.name}: removed from the registry")
    return code


def restore(args) -> int:
    """``restore --list`` / ``restore [SERIAL]``: undo by putting back a kept generation."""
    service = _service(args)
    if args.list:
        return _list_generations(service, as_json=args.sub_json or args.json)
    code = EXIT_OK

    def confirm(generation, replaces_readable: bool) -> bool:
        nonlocal code
        if args.yes or not replaces_readable:  # a damaged or missing registry loses nothing
            return True
        what = f"restore {generation.describe()}"
        if not sys.stdin.isatty():
            print(f"functions-tui: {what}: not asked (not a terminal); run again with --yes to do it",
                  file=sys.stderr)
            code = EXIT_DRIFT
            return False
        try:
            answer = input(f"{what}? [y/N] ")
        except EOFError:  # Ctrl-D: no
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("restore: nothing changed")
            code = EXIT_DRIFT
            return False
        return True

    done = service.restore(args.serial, confirm=confirm)
    if done is None:
        return code
    print(f"restored {done.source.describe()}: the registry is now serial {done.serial}")
    if done.replaced_serial is not None:
        print(f"the registry it replaced is kept as serial {done.replaced_serial}: "
              f"`functions-tui restore {done.replaced_serial}` (or plain `functions-tui restore`) goes back")
    elif done.kept_aside is not None:
        print(f"the unreadable registry it replaced is kept as {done.kept_aside}")
    return EXIT_OK


def _list_generations(service, *, as_json: bool) -> int:
    generations = service.store.generations()
    current = None
    try:
        snapshot = service.store.load()
        current = (snapshot.lineage, snapshot.serial) if snapshot.serial else None
    except Exception as exc:  # a damaged or missing registry: exactly when the list is wanted
        print(f"warning: {exc}", file=sys.stderr)
    if as_json:
        print_json({"schema": "functions-tui/generations", "version": 1,
                    "registry": str(service.store.path), "current_serial": current[1] if current else None,
                    "generations": [{"serial": g.serial, "time": g.time, "actor": g.actor, "command": g.command,
                                     "functions": g.functions, "file": str(g.path), "problem": g.problem}
                                    for g in generations]})
        return EXIT_OK
    where = service.store.generations_dir
    if not generations:
        print(f"no generations kept yet in {where} (each change to the registry keeps the one it replaces)")
        return EXIT_OK
    print(f"{len(generations)} generation(s) of {service.store.path} in {where}, newest first"
          + (f" (the registry now is serial {current[1]})" if current else ""))
    rows = [("serial", "time", "functions", "actor", "command")]
    for g in generations:
        note = " (same as now)" if current and (g.lineage, g.serial) == current else ""
        rows.append((str(g.serial), g.time, "?" if g.functions is None else str(g.functions), g.actor,
                     (f"unreadable: {g.problem}" if g.problem else g.command) + note))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join([r[0].rjust(widths[0]), r[1].ljust(widths[1]), r[2].rjust(widths[2]),
                         r[3].ljust(widths[3]), r[4]]).rstrip())
    return EXIT_OK
