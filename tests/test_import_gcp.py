"""``functions-tui import gcp NAME`` against the Cloud Functions v2 emulator: a function
deployed out of band with Google's own client (source uploaded through generateUploadUrl, no
mark) is written to a function.yaml with its source archive (generateDownloadUrl), labelled
with this registry's mark by a labels-only patch (configuration and source untouched) and
registered with its base, so ``--sync --dry-run gcp`` reads it as in sync.
"""

from __future__ import annotations

import io
import stat
import zipfile

import requests
import yaml
from google.cloud import functions_v2

from functions_tui.components.gcp import DEPLOYED_CODE_KEY, DIGEST_KEY, MARK_KEY, OWNER_KEY, decode_digest
from functions_tui.registry.models import digest_source
from tests.cli_helpers import cli_env, registry_id, run_cli
from tests.test_gcp_contract import conformance_problems

import pytest

HANDLER = "def handler(request):\n    return 'hand made'\n"


@pytest.fixture
def home(tmp_path, fresh_gcp):
    home = tmp_path / "home"
    return home, cli_env(home, **fresh_gcp.env()), fresh_gcp


def out_of_band(backend, fid: str, labels: dict[str, str] | None = None) -> functions_v2.Function:
    """Deployed the way gcloud does it: the source zipped and PUT to an upload URL, then create."""
    client = backend.client()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", HANDLER)
        archive.writestr("lib/util.py", "X = 1\n")
    upload = client.generate_upload_url(request={"parent": backend.parent()})
    requests.put(upload.upload_url, data=buffer.getvalue(), headers={"content-type": "application/zip"},
                 timeout=10).raise_for_status()
    fn = functions_v2.Function(
        build_config=functions_v2.BuildConfig(runtime="python312", entry_point="handler",
                                              source=functions_v2.Source(storage_source=upload.storage_source)),
        service_config=functions_v2.ServiceConfig(available_memory="512M", timeout_seconds=30,
                                                  environment_variables={"API_TOKEN": "s3cr3t-value"}),
        labels=labels if labels is not None else {"team": "data"})
    return client.create_function(parent=backend.parent(), function=fn, function_id=fid).result(timeout=10)


def as_dict(backend, name: str) -> dict:
    fn = backend.client().get_function(name=name)
    return functions_v2.Function.to_dict(fn)


def test_import_writes_the_source_marks_and_registers_it_in_sync(home, tmp_path):
    home, env, backend = home
    created = out_of_band(backend, "legacy")
    before = as_dict(backend, created.name)
    dest = tmp_path / "imported"

    listed = run_cli("import", "gcp", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["legacy"]

    done = run_cli("import", "gcp", "legacy", "--to", str(dest), "--yes", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "s3cr3t-value" not in done.stdout + done.stderr
    assert "API_TOKEN written in clear" in done.stdout

    folder = dest / "legacy"
    assert stat.S_IMODE((folder / "function.yaml").stat().st_mode) == 0o600
    assert yaml.safe_load((folder / "function.yaml").read_text()) == {
        "name": "legacy", "runtime": "python312", "entry_point": "handler", "memory": 512, "timeout": 30,
        "env": {"API_TOKEN": "s3cr3t-value"}, "labels": {"team": "data"},
        "targets": {"gcp": {"project": backend.project, "region": "us-central1"}}}
    assert (folder / "main.py").read_text() == HANDLER and (folder / "lib" / "util.py").read_text() == "X = 1\n"

    after = as_dict(backend, created.name)
    labels = after.pop("labels")
    unchanged = {k: v for k, v in before.items() if k not in ("labels", "update_time")}
    assert {k: v for k, v in after.items() if k != "update_time"} == unchanged   # configuration and source
    assert labels["team"] == "data" and labels[MARK_KEY] == "legacy" and labels[OWNER_KEY] == registry_id(home)
    assert decode_digest(labels[DIGEST_KEY]) == digest_source(folder)
    assert labels[DEPLOYED_CODE_KEY]

    download = [e for e in backend.state.request_log.entries() if e["api"] == "generate_download_url"]
    assert download and [p for e in download for p in conformance_problems(e)] == []

    dry = run_cli("--sync", "--dry-run", "gcp", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr


def test_dry_run_and_refusals_change_nothing(home, tmp_path):
    home, env, backend = home
    created = out_of_band(backend, "legacy")
    out_of_band(backend, "theirs", {MARK_KEY: "theirs", OWNER_KEY: "another-registry"})
    dest = tmp_path / "imported"

    dry = run_cli("import", "gcp", "legacy", "--to", str(dest), "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "would write" in dry.stdout and "main.py" in dry.stdout and "s3cr3t-value" not in dry.stdout
    refused = run_cli("import", "gcp", "legacy", "--to", str(dest), env=env)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    theirs = run_cli("import", "gcp", "theirs", "nothere", "--to", str(dest), "--yes", env=env)
    assert theirs.returncode == 1
    assert "adopt theirs --from gcp" in theirs.stderr and "nothere" in theirs.stderr
    assert not dest.exists()
    assert MARK_KEY not in as_dict(backend, created.name)["labels"]
