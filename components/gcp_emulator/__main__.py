"""Run the Cloud Functions v2 emulator on its own.

``functions-tui emulator gcp --port PORT [--state FILE] [--request-log FILE] [--operation-delay SECONDS]``
(or ``python -m functions_tui.components.gcp_emulator``). Point the real client (or functions-tui,
via FUNCTIONS_TUI_GCP_ENDPOINT) at the printed endpoint. State lives in memory; with ``--state
FILE`` it is loaded from and saved to FILE (JSON) after every change, so it survives a restart.
``--request-log FILE`` appends one JSON line per request answered (method, path, query, status,
time; never a body: bodies hold environment values). ``--operation-delay`` keeps each
create/update/delete operation not done for that long, so a client's polling can be seen.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from functions_tui.components.gcp_emulator.errors import EmulatorError
from functions_tui.components.gcp_emulator.request_log import RequestLog
from functions_tui.components.gcp_emulator.server import EmulatorServer
from functions_tui.components.gcp_emulator.state import EmulatorState


def build_parser(prog: str = "functions-tui emulator gcp") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="A local Google Cloud Functions v2 API "
                                     "(REST) for tests and the sandbox.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8089, help="port to listen on; 0 picks a free one "
                        "(default 8089)")
    parser.add_argument("--state", metavar="FILE", help="load state from FILE and save it there after each change")
    parser.add_argument("--operation-delay", type=_seconds, default=0.0, metavar="SECONDS",
                        help="how long create/update/delete operations stay not done (default 0)")
    parser.add_argument("--request-log", metavar="FILE", help="append one JSON line per request to FILE "
                        "(method, path, query, status, time)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        request_log = RequestLog(args.request_log, capacity=0)   # only the file is readable from outside
    except OSError as exc:
        print(f"cannot open the request log {args.request_log}: {exc}", file=sys.stderr)
        return 1
    try:
        state = EmulatorState(operation_delay_s=args.operation_delay, path=args.state, request_log=request_log)
    except (OSError, ValueError, EmulatorError) as exc:   # EmulatorError: the file holds what the API refuses
        print(f"cannot load state file {args.state}: {exc}", file=sys.stderr)
        return 1
    try:
        server = EmulatorServer(args.host, args.port, state, verbose=args.verbose)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    # SIGTERM stops as cleanly as Ctrl-C; shutdown() must run off the serving thread.
    def _stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    print(f"GCP Cloud Functions emulator listening on {server.endpoint}", flush=True)
    print(f"  export FUNCTIONS_TUI_GCP_ENDPOINT={server.endpoint}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        state.request_log.close()
    return 0


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"--operation-delay must be a number of seconds >= 0, not {text!r}")
    return value


if __name__ == "__main__":
    sys.exit(main())
