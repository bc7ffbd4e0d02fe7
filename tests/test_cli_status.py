"""``functions-tui status`` as a newcomer meets it: nothing reachable says what to do next,
components none of which can be read exit 1, ``--where`` narrows the grid with the filter
language (registry/filters.py), and the heading never wraps. The command runs in a
subprocess against the GCP emulator, as a user's shell would."""

from __future__ import annotations

import json

from functions_tui.registry.models import FunctionRecord, FunctionSpec
from functions_tui.registry.store import RegistryStore
from tests.cli_helpers import cli_env, one_line_error, run_cli


def _registered(home, *specs: FunctionSpec) -> None:
    home.mkdir(mode=0o700, exist_ok=True)
    with RegistryStore(home / "registry.json").transaction("import") as txn:
        for spec in specs:
            txn.put(FunctionRecord(spec=spec), action="add")


def _gcp_env(home, backend):
    return cli_env(home, FUNCTIONS_TUI_GCP_ENDPOINT=backend.endpoint, GOOGLE_CLOUD_PROJECT=backend.project)


def test_nothing_reachable_says_why_each_component_is_not_and_what_to_do(tmp_path):
    result = run_cli("status", env=cli_env(tmp_path / "home"))
    assert result.returncode == 0   # nothing was asked of a component: nothing failed
    assert result.stdout.startswith("0 functions in ")   # one line: it used to wrap letter by letter
    err = result.stderr
    assert "No component is reachable here" in err
    for component in ("docker:", "gcp:", "aws:"):
        assert component in err and "fix:" in err
    assert "functions-tui components --refresh" in err and "functions-tui --sandbox" in err


def test_components_none_of_which_can_be_read_exit_1(tmp_path, fresh_gcp):
    home = tmp_path / "home"
    _registered(home, FunctionSpec(name="alpha", runtime="python312", targets={"gcp": {"region": "us-central1"}}))
    env = _gcp_env(home, fresh_gcp)
    assert run_cli("status", "gcp", env=env).returncode == 0   # readable: exit 0
    fresh_gcp.state.fail_list_page(1, http=403)   # permission denied from now on
    result = run_cli("status", "gcp", env=env)
    assert result.returncode == 1, result.stdout
    assert "gcp: unknown" in result.stdout and "none of gcp could be read" in result.stderr
    as_json = run_cli("status", "gcp", "--json", env=env)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["components"]["gcp"]["status"] == "unknown"


def test_where_narrows_the_grid_with_qualifiers_answered_by_the_registry(tmp_path, fresh_gcp):
    home = tmp_path / "home"
    gcp = {"gcp": {"region": "us-central1"}}
    _registered(home,
                FunctionSpec(name="orders-api", runtime="python312", memory=512, labels={"team": "payments"},
                             targets=gcp),
                FunctionSpec(name="payments", runtime="python312", memory=256, labels={"team": "payments"},
                             targets=gcp),
                FunctionSpec(name="thumbnailer", runtime="nodejs20", memory=1024, labels={"team": "media"},
                             targets=gcp))
    env = _gcp_env(home, fresh_gcp)
    result = run_cli("status", "--where", "label:team=payments memory:>256", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (f"1 of 3 functions (label:team=payments memory:>256) in "
                                             f"{home / 'registry.json'}")   # one line, never wrapped
    rows = [line.split("│")[1].strip() for line in result.stdout.splitlines() if line.startswith("│")]
    assert rows == ["orders-api"]

    words = json.loads(run_cli("status", "--json", "--where", "PAY", env=env).stdout)
    assert sorted({s["function"] for s in words["statuses"]}) == ["payments"]

    bad = run_cli("status", "--where", "memory:lots", env=env)
    assert bad.returncode == 1
    assert "filter 'memory:lots': memory takes a whole number" in one_line_error(bad.stderr)


def test_a_wait_on_the_network_shows_progress_on_a_terminal(tmp_path):
    """``components --refresh`` against an endpoint that accepts and never answers: on a
    terminal the wait is said on stderr at once (it used to print nothing for a minute)."""
    import os
    import pty
    import socket
    import subprocess

    from tests.cli_helpers import command

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()   # accepts connections, answers none
    env = cli_env(tmp_path / "home", FUNCTIONS_TUI_GCP_ENDPOINT=f"http://127.0.0.1:{silent.getsockname()[1]}",
                  GOOGLE_CLOUD_PROJECT="p", TERM="xterm")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(command() + ["components", "--refresh"], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        seen = b""
        while b"detecting docker" not in seen:
            try:
                chunk = os.read(leader, 4096)
            except OSError:   # the command ended: its terminal closed
                break
            if not chunk:
                break
            seen += chunk
        assert b"detecting docker, gcp, aws" in seen, seen
        assert proc.wait(timeout=120) == 0
    finally:
        os.close(leader)
        silent.close()
