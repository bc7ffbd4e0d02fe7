"""What reaches each provider is the package (registry/packaging.py), end to end with the real
command: ``add`` then ``deploy``, and the upload read back from the backend that received it:
the zip moto stored for Lambda, the object the GCP emulator received, the files in the
Docker image (``docker run ... ls``). Secrets beside the code (a private key, ``.env``) and
what ``.functionsignore`` / ``.gcloudignore`` list are in none of them, nor in the digest;
a key re-included with ``!`` is warned about at add and at deploy; changing an ignored file
changes nothing."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.cli_helpers import cli_env, run_cli, write_yaml
from tests.provider_clis import docker

FILES = {
    "main.py": "def main(event, context):\n    return 'alpha'\n",
    "lib/util.py": "X = 1\n",
    "README.md": "alpha\n",
    ".env": "API_TOKEN=s3cret\n",
    ".env.production": "API_TOKEN=s3cret\n",
    "id_rsa": "-----BEGIN OPENSSH PRIVATE KEY-----\n",
    "certs/server.pem": "-----BEGIN PRIVATE KEY-----\n",
    "config.key": "-----BEGIN PRIVATE KEY-----\n",          # re-included below: warned about
    "notes/todo.txt": "later\n",                             # .functionsignore: notes/
    "secret.txt": "hunter2\n",                               # .functionsignore: secret.txt
    "gcloud-only.txt": "x\n",                                # .gcloudignore (applies everywhere)
    ".functionsignore": "notes/\nsecret.txt\n!config.key\n",
    ".gcloudignore": "gcloud-only.txt\n",
}
#: The package: code, and the one key a person re-included on purpose.
PACKAGE = ["README.md", "config.key", "lib/util.py", "main.py"]


def expected_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for rel in PACKAGE:
        h.update(rel.encode() + b"\0" + (folder / rel).read_bytes() + b"\0")
    return "sha256:" + h.hexdigest()


def make_alpha(root: Path, targets: dict) -> Path:
    folder = root / "src" / "alpha"
    for rel, text in FILES.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    write_yaml(folder / "function.yaml", {"name": "alpha", "runtime": "python3.11", "entry_point": "main.main",
                                          "memory": 128, "targets": targets})
    return folder


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("functions-tui: warning:")]


def registered_digest(home: Path) -> str:
    from functions_tui.registry.store import RegistryStore

    return RegistryStore(home / "registry.json").load().functions["alpha"].spec.code_digest


def add_and_deploy(folder: Path, home: Path, env: dict, component: str) -> None:
    added = run_cli("add", str(folder), env=env)
    assert added.returncode == 0, added.stderr
    key = folder.resolve() / "config.key"
    assert warnings(added.stderr) == [
        f"functions-tui: warning: alpha: {key} looks like a secret (a key or .env file) and is not excluded "
        "(re-included by .functionsignore:3): it goes into every upload and the code digest"]
    assert registered_digest(home) == expected_digest(folder)

    deployed = run_cli("deploy", "alpha", env=env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert f"{component}: create alpha: ok" in deployed.stdout
    assert warnings(deployed.stderr) == [
        f"functions-tui: warning: alpha: {key} looks like a secret (a key or .env file) and is not excluded "
        f"(re-included by .functionsignore:3): it is in the package uploaded to {component}"]


def ignored_changes_change_nothing(folder: Path, home: Path, env: dict, component: str) -> None:
    for rel in (".env", "id_rsa", "notes/todo.txt", "secret.txt", "gcloud-only.txt"):
        (folder / rel).write_text("changed\n")
    (folder / "notes" / "more.txt").write_text("new\n")
    again = run_cli("add", str(folder), env=env)
    assert again.returncode == 0, again.stderr
    assert registered_digest(home) == expected_digest(folder)
    plan = run_cli("sync", component, "--dry-run", "--json", env=env)
    assert plan.returncode == 0, plan.stdout + plan.stderr  # in sync: no code change to deploy
    assert json.loads(plan.stdout)["actions"] == []


def test_the_lambda_zip_holds_the_package_only(tmp_path, aws_clean):
    from moto.awslambda.models import lambda_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    home = tmp_path / "home"
    env = cli_env(home, **aws_clean.handle.env())
    write_yaml(home / "config.yaml", {"aws": {"role": aws_clean.role_arn}})
    folder = make_alpha(tmp_path, {"aws": {}})
    add_and_deploy(folder, home, env, "aws")

    stored = lambda_backends[DEFAULT_ACCOUNT_ID][aws_clean.region].get_function("alpha")
    assert sorted(zipfile.ZipFile(io.BytesIO(stored.code_bytes)).namelist()) == PACKAGE
    tags = aws_clean.client("lambda").list_tags(Resource=stored.function_arn)["Tags"]
    assert tags["functions-tui.digest"] == expected_digest(folder)
    ignored_changes_change_nothing(folder, home, env, "aws")


def test_the_gcp_upload_holds_the_package_only(tmp_path, fresh_gcp):
    home = tmp_path / "home"
    env = cli_env(home, FUNCTIONS_TUI_GCP_ENDPOINT=fresh_gcp.endpoint, GOOGLE_CLOUD_PROJECT=fresh_gcp.project)
    folder = make_alpha(tmp_path, {"gcp": {"region": "us-central1"}})
    add_and_deploy(folder, home, env, "gcp")

    fn = fresh_gcp.client().get_function(name=f"{fresh_gcp.parent('us-central1')}/functions/alpha")
    upload = fresh_gcp.state.uploads[fn.build_config.source.storage_source.object_]
    assert sorted(zipfile.ZipFile(io.BytesIO(upload["data"])).namelist()) == PACKAGE
    ignored_changes_change_nothing(folder, home, env, "gcp")


@pytest.mark.docker
def test_the_docker_image_holds_the_package_only(tmp_path, docker_clean):
    home = tmp_path / "home"
    env = cli_env(home, DOCKER_HOST=docker_clean.host)
    folder = make_alpha(tmp_path, {"docker": {"state": "built"}})
    add_and_deploy(folder, home, env, "docker")

    listing = docker(docker_clean, "run", "--rm", "--entrypoint", "/bin/ls", "functions-tui/alpha:latest",
                     "-A", "-R", "/app")
    assert image_files(listing, "/app") == PACKAGE
    labels = docker_clean.api.inspect_image("functions-tui/alpha:latest")["Config"]["Labels"]
    assert labels["functions-tui.digest"] == expected_digest(folder)
    ignored_changes_change_nothing(folder, home, env, "docker")


def image_files(ls_output: str, root: str) -> list[str]:
    """The files under ``root`` from ``ls -A -R`` (sections ``DIR:`` then names; folders are
    the names that head a section of their own)."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in ls_output.splitlines():
        if line.endswith(":"):
            current = line[:-1]
            sections[current] = []
        elif line.strip() and current is not None:
            sections[current].append(line.strip())
    files = [f"{d}/{n}"[len(root) + 1:] for d, names in sections.items() for n in names
             if f"{d}/{n}" not in sections]
    return sorted(files)
