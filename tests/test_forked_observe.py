"""Short-lived commands read each component in a forked child process of its own
(app/forked_observe.py), so SDK imports and parsing use every core. What must hold: the
answers are the same as on threads, a child that dies gives a failed listing (never an empty
one), children no one asked for are ended and reaped, and a process with other threads (the
TUI) never forks.

Each case runs in a fresh interpreter: this pytest process has threads (the GCP emulator's
server among them), and forking is only safe, and only done, where there are none."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.cli_helpers import cli_env
from tests.test_gcp_emulator import create

REPO = Path(__file__).resolve().parents[1]


def _python(code: str, env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env={**env, "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_probe_lists_gcp_in_a_child_and_this_process_never_imports_the_sdk(tmp_path, fresh_gcp):
    for fid in ("alpha", "beta"):
        create(fresh_gcp, fid)   # made with google-cloud-functions, as a colleague would: unmarked
    env = cli_env(tmp_path / "home", FUNCTIONS_TUI_GCP_ENDPOINT=fresh_gcp.endpoint,
                  GOOGLE_CLOUD_PROJECT=fresh_gcp.project)
    fresh_gcp.state.requests = 0
    out = _python("""
        import json, sys
        from functions_tui.app.service import SyncService
        service = SyncService()
        service.fork_observers = True
        service.start_probes(["gcp"])
        probed = sorted(service._probes)
        detections = service.detections()          # first run: the probe detected gcp
        observation = service.observe(["gcp"])["gcp"]
        print(json.dumps({"probed": probed, "available": detections["gcp"].available,
                          "unmarked": sorted(observation.unmarked), "complete": observation.complete,
                          "sdk_here": "google.cloud.functions_v2" in sys.modules}))
    """, env)
    assert out == {"probed": ["gcp"], "available": True, "unmarked": ["alpha", "beta"], "complete": True,
                   "sdk_here": False}
    assert fresh_gcp.state.requests == 2   # the child's detection probe, then its one listing page
    cached = json.loads((tmp_path / "home" / "components.json").read_text())
    assert cached["components"]["gcp"]["available"] is True   # the child's detection was cached


def test_a_child_that_dies_gives_a_failed_listing_never_an_empty_one(tmp_path):
    out = _python("""
        import json, os
        from functions_tui.app.service import SyncService
        from tests.memory_component import MemoryComponent

        class DiesWhileListing(MemoryComponent):
            def observe(self):
                os._exit(7)   # killed mid-listing (the OOM killer, a segfault in an SDK)

        service = SyncService(components={"docker": DiesWhileListing("docker", {"alpha": {}})})
        service.fork_observers = True
        observation = service.observe(["docker"])["docker"]
        print(json.dumps({"complete": observation.complete, "items": len(observation.items),
                          "errors": observation.errors}))
    """, cli_env(tmp_path / "home"))
    assert out["complete"] is False and out["items"] == 0
    assert "ended without an answer (exit status 7)" in out["errors"][0]


def test_probes_no_one_reads_are_ended_and_reaped(tmp_path):
    out = _python("""
        import json, os, threading
        from functions_tui.app.service import SyncService
        from tests.memory_component import MemoryComponent

        class Hangs(MemoryComponent):
            def observe(self):
                threading.Event().wait()   # a backend that never answers

        service = SyncService(components={"docker": Hangs("docker")})
        service.fork_observers = True
        service.start_probes(["docker"])
        pid = service._probes["docker"]._pid
        service.discard_probes()
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        try:
            os.waitpid(-1, os.WNOHANG)
            children_left = True
        except ChildProcessError:
            children_left = False
        print(json.dumps({"alive": alive, "children_left": children_left}))
    """, cli_env(tmp_path / "home"))
    assert out == {"alive": False, "children_left": False}


def test_a_process_with_other_threads_lists_on_threads(tmp_path):
    out = _python("""
        import json, threading
        from functions_tui.app.service import SyncService
        from tests.memory_component import MemoryComponent

        other = threading.Thread(target=threading.Event().wait, daemon=True)   # as the TUI has
        other.start()
        service = SyncService(components={"docker": MemoryComponent("docker", {"alpha": {}})})
        service.fork_observers = True
        service.start_probes(["docker"])
        probed = sorted(service._probes)
        observation = service.observe(["docker"])["docker"]
        print(json.dumps({"probed": probed, "items": sorted(observation.items)}))
    """, cli_env(tmp_path / "home"))
    assert out == {"probed": [], "items": ["alpha"]}
