"""Headless sync: plan, apply what the policies decide, report the rest.

stdout carries the result (rich tables, or one JSON document with ``--json``, see
app/result_schema.json); progress goes to stderr and only when stderr is a terminal, so
cron mails and CI logs stay clean. Exit codes as Terraform's ``-detailed-exitcode``:
0 in sync, 1 error, 2 drift or decisions left for a person. Decisions (conflicts, the
``ask`` policy) are listed, never guessed.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from typing import Any, Iterable

from functions_tui.registry.models import utc_now
from functions_tui.registry.plan_types import Action, ActionKind, ApplyResult, Plan, State
from functions_tui.screens.states import TERMINAL_STYLES

SCHEMA_NAME = "functions-tui/sync-result"
SCHEMA_VERSION = 1
EXIT_OK, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2

STATE_STYLES = TERMINAL_STYLES   # (screens/states.py: one place for how a state looks)


# --- the run ---------------------------------------------------------------------------
def run_sync(service, requested: Iterable[str] | None, *, direction: str | None = None,
             policy: str | None = None, dry_run: bool = False, as_json: bool = False,
             allow_empty: bool = False, conflicts: str | None = None) -> int:
    """One headless sync; returns the exit code. ``policy`` overrides the configured drift
    policies, ``conflicts`` the configured conflicts settings (both: the person chose a side)."""
    requested = list(requested or [])
    if service.read_only and not dry_run:
        _err("read-only: planning only, nothing is applied")
        dry_run = True
    requested, sync = _named_sync(service, requested)
    names, skipped = _components_to_sync(service, requested)
    interrupted = _safe_interrupted(service)
    for op in interrupted:
        _err(f"warning: {op}")

    with progress(f"observing {', '.join(names)}"):
        plan = (service.plan(names, sync=sync, direction=direction, policy=policy, allow_empty=allow_empty,
                             conflicts=conflicts) if names else Plan())

    plan = _deletions_need_confirmation(plan)
    result: ApplyResult | None = None
    # A component that cannot be read is never treated as empty: nothing is applied there (the
    # plan has no action on it: build_plan's unknown guard), and the run says so and exits 1.
    # The components that could be read are synced: one region's outage holds no other back.
    errors = [f"{c}: {reason}; nothing was applied there" for c, reason in sorted(plan.unknown.items())]
    applicable = [a for a in plan.actions if a.kind is not ActionKind.ASK and a.component not in plan.unknown]
    if not dry_run and applicable:
        with progress(f"applying {len(applicable)} actions"):
            result = service.apply(plan.with_actions(a for a in plan.actions if a.component not in plan.unknown))
    errors += [f"{r.action.component}: {r.action.kind.value} {r.action.function} failed: {r.error}"
               for r in (result.failed if result else [])]
    code = exit_code(plan, result, errors, dry_run)
    if interrupted and not dry_run and not errors:
        # This sync observed those components afresh and settled them: the warning has served.
        service.acknowledge_interrupted(names)

    if as_json:
        print_json(result_document(plan, result, names=names, skipped=skipped, errors=errors,
                                   dry_run=dry_run, interrupted=interrupted, code=code))
    else:
        render(plan, result, skipped=skipped, dry_run=dry_run, code=code)
    for line in errors:
        _err(f"functions-tui: error: {line}")
    return code


def _deletions_need_confirmation(plan: Plan) -> Plan:
    """Deleting from a component needs a person's yes (DESIGN: safety rules): headless, a
    planned DELETE is listed as a decision, never run; ``functions-tui gc`` asks for it."""
    return plan.with_actions(
        Action(a.function, a.component, ActionKind.ASK, f"{a.reason}; deleting needs confirmation: run `functions-tui gc`",
               diffs=a.diffs, fields=a.fields, depends_on=a.depends_on) if a.kind is ActionKind.DELETE else a
        for a in plan.actions)


def _named_sync(service, requested: list[str]) -> tuple[list[str], str | None]:
    """``--sync NAME`` / ``sync NAME`` may name a sync from config.yaml instead of components:
    its components, direction and policy apply. Its ``after`` orders the app's background
    runs; from a script, chain the runs (``functions-tui sync a && functions-tui sync b``)."""
    from functions_tui.app.service import ServiceError

    known = set(service.component_names())
    syncs = [n for n in requested if n not in known and service.config.sync(n) is not None]
    if not syncs:
        return requested, None
    if len(requested) > 1:
        raise ServiceError(f"give one named sync or component names, not {' '.join(requested)}")
    return list(service.config.sync(syncs[0]).components), syncs[0]


def _components_to_sync(service, requested: list[str]) -> tuple[list[str], dict[str, str]]:
    """Requested components must be available (else an error with the fix); with none
    requested, SyncService.components_for_run: every available one and every one the registry
    uses (unknown when down), the others reported as skipped with the reason."""
    from functions_tui.app.service import ServiceError

    known = service.component_names()
    for name in requested:
        if name not in known:
            syncs = ", ".join(s.name for s in service.config.syncs)
            raise ServiceError(f"unknown component {name!r} (known: {', '.join(known)}; named syncs: {syncs})")
    if requested:
        for name in requested:
            service.require(name)
        return list(dict.fromkeys(requested)), {}
    names, skipped = service.components_for_run()
    if not names:
        raise ServiceError("no component is available here ("
                           + "; ".join(f"{n}: {r}" for n, r in skipped.items())
                           + "); run `functions-tui components --refresh` after fixing one")
    return names, skipped


def exit_code(plan: Plan, result: ApplyResult | None, errors: list[str], dry_run: bool) -> int:
    if errors:
        return EXIT_ERROR
    if plan.decisions:
        return EXIT_DRIFT
    if dry_run:
        acted = set()
    else:
        acted = {(r.action.function, r.action.component) for r in (result.results if result else []) if r.ok}
    for status in plan.statuses:
        if status.state is State.IN_SYNC:
            continue
        if status.state is State.UNMANAGED and status.detail == "unmarked":
            continue  # not ours: shown, never counted
        if status.state is State.FOREIGN and not status.wanted:
            continue  # another registry's: shown, never counted
        if (status.function, status.component) not in acted:
            return EXIT_DRIFT
    if dry_run and any(a.kind is not ActionKind.REBASE for a in plan.actions):
        return EXIT_DRIFT
    return EXIT_OK


# --- JSON ----------------------------------------------------------------------------------
def _value(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, dict):
        return {str(k): _value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [_value(x) for x in v]
    return str(v)


def _diffs(diffs) -> list[dict[str, Any]]:
    return [{"field": d.field, "base": _value(d.base), "registry": _value(d.registry),
             "component": _value(d.component), "secret": bool(d.secret), "side": d.side or ""} for d in diffs]


def _action_dict(a: Action, outcome: str, error: str = "") -> dict[str, Any]:
    return {"function": a.function, "component": a.component, "kind": a.kind.value, "reason": a.reason,
            "fields": list(a.fields), "destructive": a.destructive, "depends_on": list(a.depends_on),
            "outcome": outcome, "error": error, "diffs": _diffs(a.diffs)}


def result_document(plan: Plan, result: ApplyResult | None, *, names: list[str], skipped: dict[str, str],
                    errors: list[str], dry_run: bool, interrupted: list[str], code: int) -> dict[str, Any]:
    outcomes: dict[int, tuple[str, str]] = {}
    for r in (result.results if result else []):
        outcomes[id(r.action)] = ("applied" if r.ok else "skipped" if r.skipped else "failed", r.error)
    actions = []
    for a in plan.actions:
        if a.kind is ActionKind.ASK:
            continue
        outcome, error = outcomes.get(id(a), ("planned" if dry_run or result is None else "not_run", ""))
        actions.append(_action_dict(a, outcome, error))
    counts: dict[str, int] = {s.value: 0 for s in State}
    for s in plan.statuses:
        counts[s.state.value] += 1
    components = {}
    for n in names:
        components[n] = ({"status": "unknown", "reason": plan.unknown[n]} if n in plan.unknown
                         else {"status": "ok", "reason": ""})
    for n, reason in skipped.items():
        components[n] = {"status": "skipped", "reason": reason}
    return {
        "schema": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "generated_at": utc_now(),
        "mode": "dry-run" if dry_run else "apply",
        "exit_code": code,
        "components": components,
        "statuses": [{"function": s.function, "component": s.component, "state": s.state.value,
                      "detail": s.detail, "diffs": _diffs(s.diffs),
                      **({"wanted": s.wanted} if s.state is State.FOREIGN else {})} for s in plan.statuses],
        "actions": actions,
        "decisions": [{"function": a.function, "component": a.component, "reason": a.reason,
                       "diffs": _diffs(a.diffs)} for a in plan.decisions],
        "summary": {"states": counts,
                    "applied": sum(1 for a in actions if a["outcome"] == "applied"),
                    "failed": sum(1 for a in actions if a["outcome"] == "failed"),
                    "planned": sum(1 for a in actions if a["outcome"] == "planned"),
                    "decisions": len(plan.decisions)},
        "warnings": _warnings(plan, result),
        "interrupted": [_value(op) for op in interrupted],
        "errors": list(errors),
    }


def _warnings(plan: Plan, result: ApplyResult | None) -> list[str]:
    """The plan's warnings, then the apply's (e.g. a declaration that could not be written back)."""
    return list(plan.warnings) + list(getattr(result, "warnings", None) or [])


def error_document(message: str) -> dict[str, Any]:
    """The JSON printed when the run failed before producing a plan (exit 1)."""
    return {"schema": SCHEMA_NAME, "version": SCHEMA_VERSION, "generated_at": utc_now(), "mode": "error",
            "exit_code": EXIT_ERROR, "components": {}, "statuses": [], "actions": [], "decisions": [],
            "summary": {"states": {s.value: 0 for s in State}, "applied": 0, "failed": 0, "planned": 0,
                        "decisions": 0},
            "warnings": [], "interrupted": [], "errors": [message]}


def print_json(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


# --- tables ----------------------------------------------------------------------------------
def stdout_console():
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


#: How each merge side (FieldDiff.side) reads in a table.
SIDE_WORDS = {"registry": "changed in the registry", "component": "changed on the component",
              "conflict": "changed on both"}


def diff_text(diffs, limit: int = 3) -> str:
    parts = []
    for d in diffs[:limit]:
        side = f" ({SIDE_WORDS[d.side]})" if d.side in SIDE_WORDS else ""
        parts.append(f"{d.field}: {_short(d.registry)} (registry) vs {_short(d.component)} (component){side}")
    if len(diffs) > limit:
        parts.append(f"+{len(diffs) - limit} more")
    return "; ".join(parts)


def _short(v: Any) -> str:
    text = "unset" if v is None else str(v)
    return text if len(text) <= 24 else text[:21] + "..."


def _detail(status) -> str:
    """The status table's detail column: what differs, or whose a foreign resource is."""
    if status.state is State.FOREIGN:
        owner = f"deployed by registry {status.detail}"
        return owner + ("; the registry's function of this name is not deployed there (rename one, or"
                        f" `functions-tui adopt {status.function} --from {status.component}`)" if status.wanted else "")
    if not status.diffs:
        return status.detail
    return (f"{status.detail}: " if status.detail else "") + diff_text(status.diffs)


def render(plan: Plan, result: ApplyResult | None, *, skipped: dict[str, str], dry_run: bool, code: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = stdout_console()
    outcomes = {id(r.action): r for r in (result.results if result else [])}
    counts: dict[str, int] = {}
    for s in plan.statuses:
        counts[s.state.value] = counts.get(s.state.value, 0) + 1
    not_in_sync = [s for s in plan.statuses if s.state is not State.IN_SYNC]
    if not_in_sync:
        table = Table(title="Status (everything not in sync)", title_justify="left")
        for col in ("function", "component", "state", "detail"):
            table.add_column(col)
        for s in not_in_sync:
            style = STATE_STYLES.get(s.state.value, "")
            detail = _detail(s)
            table.add_row(escape(s.function), s.component, f"[{style}]{s.state.value}[/]", escape(detail))
        console.print(table)
    actions = [a for a in plan.actions if a.kind is not ActionKind.ASK]
    if actions:
        title = "Plan (dry run: nothing applied)" if dry_run else "Actions"
        table = Table(title=title, title_justify="left")
        for col in ("#", "function", "component", "action", "reason", "result"):
            table.add_column(col)
        for i, a in enumerate(actions, 1):
            r = outcomes.get(id(a))
            outcome = ("planned" if r is None else "[green]done[/]" if r.ok else
                       "[dim]skipped[/]" if r.skipped else f"[red]failed[/]: {escape(r.error)}")
            kind = f"[bold red]{a.kind.value}[/]" if a.destructive else a.kind.value
            table.add_row(str(i), escape(a.function), a.component, kind, escape(a.reason), outcome)
        console.print(table)
    if plan.decisions:
        table = Table(title=f"Decisions left for you ({len(plan.decisions)}): not applied", title_justify="left")
        for col in ("function", "component", "why", "differences"):
            table.add_column(col)
        for a in plan.decisions:
            table.add_row(escape(a.function), a.component, escape(a.reason), escape(diff_text(a.diffs, limit=5)))
        console.print(table)
        console.print("Resolve them in the app (`functions-tui`), or settle a whole component with "
                      "`functions-tui sync COMPONENT --pull` (take the component's values) or `--push` "
                      "(deploy the registry's).")
    for warning in _warnings(plan, result):
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    for name, reason in skipped.items():
        console.print(f"[dim]skipped {name}: {escape(reason)}[/]")
    summary = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in sorted(counts.items())) or "no functions"
    verdict = {EXIT_OK: "[green]in sync[/]", EXIT_DRIFT: "[yellow]drift or decisions left[/]",
               EXIT_ERROR: "[red]error[/]"}.get(code, str(code))
    console.print(f"{summary}. Result: {verdict}.")


# --- stderr ------------------------------------------------------------------------------------
_stderr_console = None


def _err_console():
    global _stderr_console
    if _stderr_console is None:
        from rich.console import Console

        _stderr_console = Console(stderr=True, highlight=False)
    return _stderr_console


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def progress(message: str):
    """A spinner on stderr while a command waits on the network, when stderr is a terminal;
    nothing at all otherwise (scripts read stderr for errors). Start it after the components'
    probes are forked: its refresh runs on a thread."""
    if not sys.stderr.isatty():
        return nullcontext()
    return _err_console().status(message)


def _safe_interrupted(service) -> list[str]:
    try:
        return list(service.interrupted())
    except Exception as exc:  # reported, but a plan is still worth showing (apply will refuse)
        _err(f"warning: {exc}")
        return []
