"""``functions-tui status`` does only the work it needs (issue 12): a warm detection cache means
no detection round trip, a stale one is detected again, and only the SDKs of the components
it observes are imported. Requests are counted by the GCP emulator's own log
(``state.requests``: one per API call served); the command runs in a subprocess as a user's."""

from __future__ import annotations

import json

from functions_tui.components.gcp_emulator.handle import start_gcp_emulator
from tests.cli_helpers import cli_env, run_cli
from tests.test_cli_basics import _imported


def _gcp_env(home, backend):
    # docker and aws point nowhere (cli_env): only gcp is available, and nothing in the
    # registry uses the others, so status observes gcp alone.
    return cli_env(home, FUNCTIONS_TUI_GCP_ENDPOINT=backend.endpoint, GOOGLE_CLOUD_PROJECT=backend.project)


def _status(env, *flags: str):
    result = run_cli("status", "--json", env=env, python_flags=flags)
    assert result.returncode == 0, result.stderr
    return result


def test_status_with_a_warm_detection_cache_sends_only_the_listing(tmp_path, fresh_gcp):
    env = _gcp_env(tmp_path / "home", fresh_gcp)
    fresh_gcp.state.requests = 0
    first = _status(env)
    # First run: the detection probe (one list call of page size 1), then the listing.
    assert fresh_gcp.state.requests == 2
    assert json.loads(first.stdout)["components"] == {"gcp": {"status": "ok", "reason": ""}}
    for _ in range(2):
        fresh_gcp.state.requests = 0
        _status(env)
        assert fresh_gcp.state.requests == 1  # the listing only: detection came from components.json


def test_a_stale_detection_is_detected_again(tmp_path, fresh_gcp):
    home = tmp_path / "home"
    _status(_gcp_env(home, fresh_gcp))
    other = start_gcp_emulator(port=0)  # the same settings but another endpoint: the cache is stale
    try:
        other.state.requests = 0
        fresh_gcp.state.requests = 0
        result = _status(_gcp_env(home, other))
        assert other.state.requests == 2  # detected again (probe), then listed
        assert fresh_gcp.state.requests == 0
        assert json.loads(result.stdout)["components"]["gcp"]["status"] == "ok"
        cached = json.loads((home / "components.json").read_text())
        assert cached["settings"]["gcp"]["endpoint"] == other.endpoint
    finally:
        other.stop()


def test_status_imports_only_what_the_observed_components_need(tmp_path, fresh_gcp):
    env = _gcp_env(tmp_path / "home", fresh_gcp)
    _status(env)  # first run: detection may load more
    imported = _imported(_status(env, "-X", "importtime").stderr)
    assert "google.auth.transport.requests" in imported   # gcp was read (its session, in its probe)
    # Reading is a listing: not the Cloud Functions client (0.19 s to import; components/gcp_rest.py).
    assert "google.cloud.functions_v2" not in imported
    # Neither unavailable component's SDK (AWS's, Docker's) nor the UI.
    heavy = sorted(m for m in imported if m.split(".")[0] in ("boto3", "botocore", "docker", "textual"))
    assert heavy == []
