"""``functions-tui import COMPONENT [NAME...]``: the command's body, in words or as JSON.

No NAME: list what the component runs without a functions-tui mark. With names: write each
one's function.yaml (and code, where the provider gives it) under ``--to``, then, once
confirmed, mark it with this registry's identity and register it with its base, so the next
sync reads it as in sync (app/service.py: ``import_prepare`` reads and writes the folder,
``import_commit`` marks and registers). A name that cannot be imported is one error line; the
others go on (exit 1 if any failed). ``--json`` prints one document (app/result_schema.json's
``import_result``) instead of the words; errors still go to stderr, one line each.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from functions_tui.app.headless import EXIT_ERROR, EXIT_OK, print_json

SCHEMA_NAME = "functions-tui/import"
SCHEMA_VERSION = 1


class Report:
    """What the run did, name by name: printed as the JSON document at the end."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.mode = "list"
        self.candidates: list[dict[str, str]] = []
        self.functions: list[dict[str, Any]] = []
        self.errors: list[str] = []

    def document(self, exit_code: int) -> dict[str, Any]:
        from functions_tui.registry.models import utc_now

        return {"schema": SCHEMA_NAME, "version": SCHEMA_VERSION, "generated_at": utc_now(), "mode": self.mode,
                "exit_code": exit_code, "component": self.component, "candidates": self.candidates,
                "functions": self.functions, "errors": self.errors}


def run(args, service) -> int:
    as_json = bool(args.sub_json or args.json)
    report = Report(args.component)
    try:
        code = _run(args, service, report, as_json)
    except Exception as exc:
        if not as_json or os.environ.get("FUNCTIONS_TUI_DEBUG"):
            raise   # app.cli says it in one line
        from functions_tui.app.errors import describe

        line = describe(exc)
        print(f"functions-tui: error: {line}", file=sys.stderr)
        report.mode, code = "error", EXIT_ERROR
        report.errors.append(line)
    if as_json:
        print_json(report.document(code))
    return code


def _error(report: Report, line: str) -> None:
    print(f"functions-tui: error: {line}", file=sys.stderr)
    report.errors.append(line)


def _run(args, service, report: Report, as_json: bool) -> int:
    from functions_tui.app.service import ServiceError

    component = args.component
    if not args.names:
        rows = service.unmarked_functions(component)
        report.candidates = [{"name": n, "summary": s, "resource_id": r} for n, s, r in rows]
        if not as_json:
            if not rows:
                print(f"{component}: no function without a functions-tui mark")
            for name, summary, _ in rows:
                print(f"{name}  {summary}".rstrip())
        return EXIT_OK
    dry_run = bool(args.sub_dry_run or args.dry_run)
    report.mode = "dry-run" if dry_run else "import"
    if not dry_run and service.read_only:
        from functions_tui.app.service import ReadOnlyError, read_only_refusal

        raise ReadOnlyError(read_only_refusal("importing functions"))
    if not dry_run and not args.yes and (as_json or not sys.stdin.isatty()):
        why = "--json does not ask" if as_json else "not asked (not a terminal)"
        _error(report, f"import marks {', '.join(args.names)} on {component} with this registry's identity:"
                       f" {why}; run again with --yes to do it")
        return EXIT_ERROR
    root = Path(args.to).expanduser().resolve()
    made_root = not root.exists()
    failed = False
    for name in dict.fromkeys(args.names):
        entry: dict[str, Any] = {"name": name, "outcome": "refused", "reason": "", "folder": None, "files": [],
                                 "env_in_clear": [], "code_note": "", "notes": [], "declaration": {},
                                 "resource_id": "", "marked": False}
        report.functions.append(entry)
        final = root / name
        stage = "refused"   # until the mark is asked for: nothing changed
        try:
            if name in (".", "..") or "/" in name or os.sep in name:
                raise ServiceError(f"{name!r} is not a function name")
            if final.exists():
                raise ServiceError(f"{name}: {final} exists already; not overwriting it (choose another --to)")
            if not dry_run:
                root.mkdir(parents=True, exist_ok=True)
            # Written to a scratch folder (beside DIR, so the move is a rename) and moved in
            # only once everything was read: a failed read leaves nothing behind.
            scratch = Path(tempfile.mkdtemp(prefix=f".import-{name}-", dir=None if dry_run else root))
            try:
                draft = service.import_prepare(component, name, scratch, runtime=args.runtime or "")
                entry.update(files=draft.files, env_in_clear=draft.clear_env, code_note=draft.code_note,
                             notes=draft.notes, declaration=_masked(draft.declaration),
                             resource_id=draft.observed.resource_id)
                if not as_json:
                    _print_import(draft, final, dry_run)
                if dry_run:
                    entry.update(outcome="planned", folder=str(final))
                    continue
                if not args.yes:
                    try:
                        answer = input(f"mark {name} on {component} with this registry's identity and register it? [y/N] ")
                    except EOFError:
                        answer = ""
                    if answer.strip().lower() not in ("y", "yes"):
                        entry.update(outcome="declined", reason="not confirmed: nothing written, nothing marked")
                        print(f"{name}: not imported (nothing written, nothing marked)")
                        continue
                os.replace(scratch, final)
            finally:
                if scratch.exists():
                    shutil.rmtree(scratch, ignore_errors=True)
            stage = "failed"
            try:
                service.import_commit(draft, final)
            except BaseException:
                shutil.rmtree(final, ignore_errors=True)   # written by this run: nothing half-done
                raise
            entry.update(outcome="imported", folder=str(final), marked=True)
            if not as_json:
                print(f"{name}: imported from {component} into {final / 'function.yaml'} and marked as this registry's")
        except ServiceError as exc:
            failed = True
            entry.update(outcome=stage, reason=str(exc), folder=None)
            _error(report, str(exc))
    if made_root and root.is_dir() and not any(root.iterdir()):
        root.rmdir()   # made for scratch folders only: nothing was imported into it
    return EXIT_ERROR if failed else EXIT_OK


def _print_import(draft, final: Path, dry_run: bool) -> None:
    would = "would write" if dry_run else "will write"
    print(f"{draft.name}: {would} {final / 'function.yaml'}")
    for line in yaml_text(_masked(draft.declaration)).splitlines():
        print(f"    {line}")
    code = [f for f in draft.files if f != "function.yaml"]
    if code:
        print(f"{draft.name}: {would} its code: {', '.join(code)}")
    if draft.code_note:
        print(f"{draft.name}: no code written: {draft.code_note}")
    for note in draft.notes:
        print(f"{draft.name}: {note}")
    if draft.clear_env:
        print(f"{draft.name}: env {', '.join(draft.clear_env)} written in clear (the file is 0600);"
              " replace a value with a ${VAR} reference to keep it out of the file")
    print(f"{draft.name}: {'would mark' if dry_run else 'will mark'} it on {draft.component} with this registry's"
          " identity (labels/tags only: its configuration and code stay as they are)")


def _masked(declaration: dict[str, Any]) -> dict[str, Any]:
    """The declaration as printed: env values never shown."""
    shown = dict(declaration)
    if "env" in shown:
        shown["env"] = {k: "***" for k in shown["env"]}
    return shown


def yaml_text(data) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
