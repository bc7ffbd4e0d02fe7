"""The ``functions-tui`` command: argparse only at import time, so ``--help`` is fast.

No arguments opens the full-screen app; ``--sync`` runs the same engine headless; the
subcommands are the everyday ones (status, sync, components, config, add, info, history,
deploy, run, stop, gc, delete, restore, emulator). Every failure is one line on stderr
naming what and where, with exit code 1; 2 means drift or decisions left for a person.
"""

from __future__ import annotations

import argparse
import os
import sys

from functions_tui.components import KIND_MODULES

EXIT_OK, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2
COMPLETION_SHELLS = ("bash", "zsh", "fish")


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage, but 2 means drift here: usage errors are errors (1)."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n")


def _config_for_completion():
    """config.yaml as the command would read it (its instances and syncs), for <tab>."""
    from functions_tui.app.config import load_config

    return load_config()


def _components(**_) -> list[str]:
    """argparse-completion of a COMPONENT: config.yaml's instances (one per kind by default)."""
    return _config_for_completion().component_names


def _components_and_syncs(**_) -> list[str]:
    config = _config_for_completion()
    return list(dict.fromkeys([*config.component_names, *(s.name for s in config.syncs)]))


def build_parser() -> argparse.ArgumentParser:
    # The default components (one per kind); config.yaml's components: may name others, which
    # the service checks (the parser is built before config.yaml is read).
    components = ", ".join(KIND_MODULES) + " or an instance from config.yaml's components:"
    p = _Parser(prog="functions-tui", description=(
        "Keep serverless functions honest across local Docker, Google Cloud Functions and AWS Lambda. "
        "Without arguments: the full-screen app."),
        epilog=f"components: {components} (--sync: or a named sync from config.yaml). "
               "exit codes: 0 in sync, 1 error, 2 drift or decisions left for a person")
    p.add_argument("--version", action="store_true",
                   help="print the version, the versions of the SDKs it uses, and the components last detected")
    p.add_argument("--sync", nargs="*", metavar="COMPONENT", default=None,
                   help=f"sync without the UI: {components}, or a named sync from config.yaml "
                        "(all available components when none are named); the names may come "
                        "anywhere among the flags").completer = _components_and_syncs
    p.add_argument("--dry-run", action="store_true", help="with --sync/sync: plan only, change nothing")
    p.add_argument("--json", action="store_true", help="machine-readable output (see docs/json-schema.md)")
    p.add_argument("--allow-empty", action="store_true",
                   help="trust an empty listing even when the registry expects functions there")
    p.add_argument("--read-only", action="store_true", help="never change anything (the app's keys show dim)")
    p.add_argument("--sandbox", action="store_true",
                   help="start local backends (moto, the GCP emulator, Docker) with seeded functions and drift")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("status", help="every function x component, like git status")
    s.add_argument("component", nargs="*", metavar="COMPONENT",
                   help=f"only these ({components}); default: every available one").completer = _components
    s.add_argument("--json", action="store_true", dest="sub_json", help="one JSON document (docs/json-schema.md)")
    s.add_argument("--where", metavar="FILTER", default="",
                   help="only the functions FILTER matches: words in the name, and qualifiers such as "
                        "runtime:python3.12 memory:>256 label:team=payments env:API_KEY target:aws")

    s = sub.add_parser("sync", help="sync one component (or one named sync from config.yaml)")
    s.add_argument("component", metavar="COMPONENT|SYNC",
                   help=f"{components}, or a named sync from config.yaml").completer = _components_and_syncs
    g = s.add_mutually_exclusive_group()
    g.add_argument("--pull", action="store_const", const="pull", dest="direction", help="component -> registry only")
    g.add_argument("--push", action="store_const", const="push", dest="direction", help="registry -> component only")
    s.add_argument("--dry-run", action="store_true", dest="sub_dry_run", help="plan only, change nothing")
    s.add_argument("--json", action="store_true", dest="sub_json", help="one JSON document (docs/json-schema.md)")
    s.add_argument("--allow-empty", action="store_true", dest="sub_allow_empty",
                   help="trust an empty listing even when the registry expects functions there")

    s = sub.add_parser("components", help="availability, versions, and how to fix what is missing")
    s.add_argument("--refresh", action="store_true", help="detect again instead of using the cache")
    s.add_argument("--json", action="store_true", dest="sub_json", help="one JSON document")

    s = sub.add_parser("config", help="show or reset config.yaml")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--show", action="store_true", help="print the effective settings (defaults included)")
    g.add_argument("--reset", action="store_true", help="write the default config.yaml (the old one is replaced)")

    s = sub.add_parser("add", help="register functions from function.yaml / functions.yaml (recursive)")
    s.add_argument("path", help="a function.yaml / functions.yaml, or a folder searched below")
    s = sub.add_parser("info", help="one function: spec, state per component, history")
    s.add_argument("name", help="the function's name")
    s = sub.add_parser("history", help="changes to the registry")
    s.add_argument("name", nargs="?", help="only this function's changes")
    s.add_argument("--limit", type=int, default=50, help="show at most this many (default 50)")
    s = sub.add_parser("deploy", help="push a function's spec to its components")
    s.add_argument("name", help="the function's name")
    s.add_argument("--to", action="append", metavar="COMPONENT",
                   help=f"deploy here ({components}; repeat for several), adding it to the targets").completer = _components
    s = sub.add_parser("run", help="start the function's local Docker container")
    s.add_argument("name", help="the function's name")
    s = sub.add_parser("stop", help="stop the function's local Docker container")
    s.add_argument("name", help="the function's name")
    s = sub.add_parser("adopt", help="take a function deployed elsewhere (marked, or another registry's) into this registry")
    s.add_argument("name", help="the function's name on the component")
    s.add_argument("--from", dest="source", required=True, metavar="COMPONENT",
                   help=f"where it runs ({components})").completer = _components
    s = sub.add_parser("import", help="bring functions running on a component without a mark under management"
                       " (no NAME: list them)")
    s.add_argument("component", metavar="COMPONENT", help=f"where they run ({components})").completer = _components
    s.add_argument("names", nargs="*", metavar="NAME", help="the functions to import (none: list the unmarked ones)")
    s.add_argument("--to", default=".", metavar="DIR", help="write DIR/NAME/function.yaml and its code (default: .)")
    s.add_argument("--yes", action="store_true", help="mark them without asking")
    s.add_argument("--dry-run", action="store_true", dest="sub_dry_run",
                   help="print what would be written and marked; change nothing")
    s.add_argument("--runtime", metavar="RUNTIME", default="",
                   help="the runtime to declare where the component cannot tell it (docker: an image whose base"
                        " does not say it), e.g. python3.12")
    s.add_argument("--json", action="store_true", dest="sub_json",
                   help="one JSON document (docs/json-schema.md); without --dry-run it needs --yes")
    s = sub.add_parser("gc", help="remove dangling marked resources and drop ghosts")
    s.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    s = sub.add_parser("delete", help="remove a function from its components and the registry")
    s.add_argument("name", help="the function's name")
    s.add_argument("--force", action="store_true", help="drop it from the registry even if a component cannot be reached")
    s = sub.add_parser("restore", help="undo: put back an earlier registry generation (--list shows them)")
    s.add_argument("serial", nargs="?", type=int, metavar="SERIAL",
                   help="the generation to put back (default: the previous one)")
    s.add_argument("--list", action="store_true", help="list the kept generations, newest first")
    s.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    s.add_argument("--json", action="store_true", dest="sub_json", help="with --list: one JSON document")
    s = sub.add_parser("completion", help="print the shell completion script: eval \"$(functions-tui completion bash)\"")
    s.add_argument("shell", choices=COMPLETION_SHELLS, help=f"one of {', '.join(COMPLETION_SHELLS)}")
    s = sub.add_parser("emulator", help="run a local emulator (gcp: the Cloud Functions v2 API)")
    s.add_argument("which", choices=("gcp",), help="which emulator: gcp")
    s.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one, printed)")
    s.add_argument("--state", default=None, help="file to keep the emulator's state in")
    s.add_argument("--request-log", default=None, metavar="FILE",
                   help="append one JSON line per request (method, path, query, status) to FILE")
    s.add_argument("--operation-delay", default=None, metavar="SECONDS",
                   help="how long create/update/delete operations stay not done (default 0)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit code. Called without ``argv`` (as the console script
    and ``python -m functions_tui.app`` call it) a short-lived command ends the process itself once its
    output is flushed (app/process_exit.py)."""
    entry = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:   # the shell asking for completions (argcomplete's protocol)
        import argcomplete

        argcomplete.autocomplete(parser)   # answers and exits
    args = parser.parse_args(_sync_names_first(argv, parser))
    if args.version:
        print(version_text())
        return EXIT_OK
    try:
        code = _dispatch(args)
    except KeyboardInterrupt:
        print("functions-tui: interrupted", file=sys.stderr)
        code = 130
    except Exception as exc:  # one line, never a traceback (FUNCTIONS_TUI_DEBUG=1 shows it)
        if os.environ.get("FUNCTIONS_TUI_DEBUG"):
            raise
        code = _report_error(exc, json_out=bool(getattr(args, "json", False) or getattr(args, "sub_json", False)))
    if entry and _short_lived:
        from functions_tui.app.process_exit import exit_now

        exit_now(code)
    return code


#: Set once a command is known to be short-lived (not the app, the emulator or the sandbox).
_short_lived = False


def _sync_names_first(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """``--sync --dry-run aws`` means ``--sync aws --dry-run``: the names that follow ``--sync``
    anywhere among the flags are moved next to it (argparse would take ``aws`` for a command).
    Only without a command: the top-level flags take no values, so every other word is a name."""
    if "--sync" not in argv:
        return argv
    commands = set(_subcommands(parser))
    if any(word in commands for word in argv if not word.startswith("-")):
        return argv
    names = [word for word in argv if not word.startswith("-")]
    flags = [word for word in argv if word.startswith("-") and word != "--sync"]
    return ["--sync", *names, *flags]


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:   # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def version_text() -> str:
    """This version, the libraries it talks through, and the components as last detected
    (from the cache: no network)."""
    from importlib import metadata

    def version_of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    lines = [f"functions-tui {version_of('functions-tui')} (Python {sys.version.split()[0]})"]
    libraries = ("textual", "tinydb", "boto3", "docker", "google-cloud-functions")
    lines.append("libraries: " + ", ".join(f"{d} {version_of(d)}" for d in libraries))
    from functions_tui.app import detection_cache

    detections = detection_cache.load()
    if detections:
        found = [f"{n} {d.version or 'available'}" if d.available else f"{n} unavailable"
                 for n, d in sorted(detections.items())]
        lines.append("components (last detected; `functions-tui components --refresh` checks again): "
                     + ", ".join(found))
    else:
        lines.append("components: not detected yet (`functions-tui components` detects them)")
    return "\n".join(lines)


def _report_error(exc: Exception, json_out: bool) -> int:
    from functions_tui.app.errors import describe

    line = describe(exc)
    print(f"functions-tui: error: {line}", file=sys.stderr)
    if json_out:
        from functions_tui.app.headless import error_document, print_json

        print_json(error_document(line))
    return EXIT_ERROR


#: What `--sandbox` needs beyond the package itself, and the command that installs it.
SANDBOX_INSTALL = "python3 -m pip install 'functions-tui[sandbox]'"


def _sandbox_missing() -> str:
    """Why the sandbox cannot start here ('' when it can): a kind's backend needs an optional
    extra (moto) that is not installed."""
    from functions_tui.app.sandbox import missing_requirements

    missing = missing_requirements()
    return f"{missing}: run {SANDBOX_INSTALL}" if missing else ""


def _dispatch(args) -> int:
    if args.sandbox and _sandbox_missing():
        print(f"functions-tui: error: {_sandbox_missing()}", file=sys.stderr)
        return EXIT_ERROR
    if args.sandbox and args.command is None and args.sync is None and not (args.dry_run or args.json):
        # The app opens at once and starts the sandbox itself, showing each backend's progress
        # in its panel (Docker's image builds alone take several seconds).
        from functions_tui.app.sandbox import Sandbox
        from functions_tui.app.tui import main as tui_main

        with Sandbox(start_on_enter=False) as sandbox:
            sandbox.export_home()
            return tui_main(read_only=args.read_only, preparer=sandbox.prepare) or 0
    if args.sandbox:
        from functions_tui.app.sandbox import Sandbox

        with Sandbox() as sandbox:
            sandbox.export_env()
            args.sandbox = False
            return _dispatch(args)

    if args.command is None and args.sync is None:
        if args.dry_run or args.json or args.allow_empty:
            print("functions-tui: error: --dry-run, --json and --allow-empty go with --sync or a command",
                  file=sys.stderr)
            return EXIT_ERROR
        from functions_tui.app.first_run import ensure_first_run

        ensure_first_run()
        _registry_not_lost()
        from functions_tui.app.tui import main as tui_main  # lazy: the headless path never imports textual

        return tui_main(read_only=args.read_only) or 0

    if args.command == "emulator":
        from functions_tui.components.gcp_emulator.__main__ import main as emulator_main

        forward = ["--port", str(args.port)]
        for flag, value in (("--state", args.state), ("--request-log", args.request_log),
                            ("--operation-delay", args.operation_delay)):
            forward += [flag, value] if value is not None else []
        return emulator_main(forward) or 0
    if args.command == "completion":
        import argcomplete

        print(argcomplete.shellcode(["functions-tui"], shell=args.shell), end="")
        return EXIT_OK
    if args.command == "config":
        from functions_tui.app import commands

        return commands.config(args)

    # A short-lived command allocates a lot (SDK imports, thousands of records) and frees it all
    # at exit: the cyclic GC only costs time here (~10% of a 1k sync). The app keeps it on.
    import gc
    import warnings

    gc.disable()
    global _short_lived
    _short_lived = True
    # requests probes for optional SOCKS support on import and urllib3 warns about it: noise
    # on stderr (which scripts read for errors) about a feature nobody asked for.
    warnings.filterwarnings("ignore", message="SOCKS support in urllib3")
    from functions_tui.app import commands
    from functions_tui.app.first_run import ensure_first_run, is_first_run

    if is_first_run():
        ensure_first_run(service=commands._service(args))
    try:
        if args.sync is not None:
            return commands.headless_sync(args, args.sync, direction=None, dry_run=args.dry_run,
                                          as_json=args.json, allow_empty=args.allow_empty)
        if args.command == "sync":
            return commands.headless_sync(args, [args.component], direction=args.direction,
                                          dry_run=args.sub_dry_run or args.dry_run,
                                          as_json=args.sub_json or args.json,
                                          allow_empty=args.sub_allow_empty or args.allow_empty)
        return getattr(commands, "import_" if args.command == "import" else args.command)(args)
    finally:
        if getattr(args, "service", None) is not None:
            args.service.discard_probes()   # components read for a command that did not need them


def _registry_not_lost() -> None:
    """Before the app opens: a registry.json that is gone while its generations are left
    is an error (one line, exit 1), never an empty registry in the app."""
    from functions_tui.app import paths
    from functions_tui.registry.store import RegistryStore

    store = RegistryStore(paths.registry_path())
    if not os.path.exists(store.path):  # (a present file is read, and checked, by the app)
        store.load()  # raises MissingRegistryError naming the file and `functions-tui restore`


if __name__ == "__main__":
    sys.exit(main())
