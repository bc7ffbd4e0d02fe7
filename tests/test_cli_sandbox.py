"""``functions-tui --sandbox``: local backends, seeded functions and drift, no cloud account."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema

from tests.cli_helpers import cli_env, run_cli


def test_sandbox_shows_seeded_drift_ghost_and_unmanaged_then_cleans_up(tmp_path, docker_clean):
    env = cli_env(tmp_path / "not-used", DOCKER_HOST=docker_clean.host)
    result = run_cli("--sandbox", "--sync", "--dry-run", "--json", env=env, timeout=300)
    assert result.returncode == 2, result.stderr
    doc = json.loads(result.stdout)
    jsonschema.validate(doc, json.loads(resources.files("functions_tui.app").joinpath("result_schema.json").read_text()))
    states = {(s["function"], s["component"]): (s["state"], s["detail"]) for s in doc["statuses"]}
    assert states[("hello", "aws")][0] == "drifted"
    assert states[("worker", "aws")][0] == "diverged"      # memory edited here, timeout there: a merge
    assert states[("greeter", "aws")][0] == "conflict"     # memory edited on both sides, differently
    assert states[("greeter", "gcp")][0] == "diverged"
    assert states[("reports", "aws")] == ("missing", "ghost")
    assert states[("stray", "aws")] == ("unmanaged", "marked")
    assert states[("billing", "aws")][0] == "foreign"
    assert states[("hello", "docker")][0] == "drifted"
    assert sorted((d["function"], d["component"]) for d in doc["decisions"]) == [
        ("greeter", "aws"), ("hello", "docker")]
    assert {c: v["status"] for c, v in doc["components"].items()} == {"docker": "ok", "gcp": "ok", "aws": "ok"}
    # Stopped on exit: nothing of the sandbox is left in the Docker engine it borrowed.
    assert docker_clean.api.containers(all=True, filters={"label": "functions-tui.function"}) == []
    # The sandbox's config dir was private and is gone; the user's was never touched.
    assert not (tmp_path / "not-used").exists()


def test_sandbox_stops_its_backends_on_sigterm(tmp_path, docker_clean):
    import signal
    import subprocess
    import time

    from tests.cli_helpers import command

    env = cli_env(tmp_path / "not-used", DOCKER_HOST=docker_clean.host)
    # `emulator gcp` inside the sandbox blocks until signalled: a stand-in for the app.
    proc = subprocess.Popen(command() + ["--sandbox", "emulator", "gcp", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on" in proc.stdout.readline()
        deadline = time.monotonic() + 10
        while not docker_clean.api.containers(filters={"label": "functions-tui.function"}):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert docker_clean.api.containers(all=True, filters={"label": "functions-tui.function"}) == []
