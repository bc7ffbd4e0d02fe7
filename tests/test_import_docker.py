"""``functions-tui import docker [NAME...]`` against the session's private dockerd: containers and
images a person made with the ``docker`` command line (no mark) are listed, written to a
function.yaml with the code of their image's WORKDIR (the layers above its base image, read with
``docker save``), marked the way claim() marks (a labels-only build FROM the image, the container
recreated from it under its own name with the same config and run state) and registered, so
``--sync --dry-run docker`` reads them as in sync; every later change finds the container by its
mark and keeps its name. What the engine holds before and after is read with the docker CLI,
never with our code.
"""

from __future__ import annotations

import json
import stat
import tarfile
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from functions_tui.components.docker import DEPLOYED_CODE, DIGEST, MARK, OWNER, SPEC_LABEL
from functions_tui.components.local_backends.base_image import ensure_base_image, local_base_ref
from tests.cli_helpers import cli_env, registry_bytes, registry_id, run_cli
from tests.provider_clis import docker

pytestmark = pytest.mark.docker

SECRET = "s3cr3t-value"
#: Image config a relabelling must keep (and the docker CLI shows).
KEPT = ("Env", "Cmd", "Entrypoint", "WorkingDir", "ExposedPorts", "User")


@pytest.fixture
def home(tmp_path, docker_clean):
    home = tmp_path / "home"
    env = cli_env(home, DOCKER_HOST=docker_clean.host)
    assert run_cli("status", env=env).returncode in (0, 2)   # the registry and its identity exist
    ensure_base_image(docker_clean.api, local_base_ref("python"))   # (infrastructure, as the sandbox's)
    return home, env, docker_clean


def build(backend, folder: Path, tag: str, dockerfile: str, files: dict[str, str]) -> str:
    """``docker build`` of a context written here; the image id."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if name.endswith(".sh"):
            path.chmod(0o755)
    docker(backend, "build", "-q", "-t", tag, ".", cwd=folder)
    return inspect(backend, "image", tag)["Id"]


def inspect(backend, kind: str, ref: str) -> dict[str, Any]:
    return json.loads(docker(backend, kind, "inspect", ref))[0]


def app_images(backend, tmp_path: Path) -> None:
    """A team's base image and two images built on it, the way a Dockerfile makes them: ``web``
    (code in /srv/app, one file of it removed again in a later layer) and ``thumbs``."""
    build(backend, tmp_path / "base", "myorg/base:1",
          f"FROM {local_base_ref('python')}\nENV PYTHON_VERSION=3.12.4 LANG=C.UTF-8\nWORKDIR /srv/app\n", {})
    build(backend, tmp_path / "web", "myorg/web:1.2",
          "FROM myorg/base:1\nCOPY . ./\nRUN /bin/busybox rm old.txt Dockerfile\nENV APP_MODE=prod\nEXPOSE 9000\n"
          'CMD ["/bin/busybox", "httpd", "-f", "-p", "9000", "-h", "/srv/app"]\n',
          {"main.py": "print('web')\n", "lib/util.py": "X = 1\n", "old.txt": "gone in a later layer\n"})
    build(backend, tmp_path / "thumbs", "myorg/thumbs:2.0",
          'FROM myorg/base:1\nCOPY run.sh ./\nLABEL team=media\nCMD ["/srv/app/run.sh"]\n',
          {"run.sh": "#!/bin/sh\necho thumbs\n"})


def memory_limits(backend) -> bool:
    return docker(backend, "info", "--format", "{{.MemoryLimit}}") == "true"


def run_web(backend, name: str = "web", *extra: str) -> dict:
    limit = ["-m", "64m"] if memory_limits(backend) else []
    docker(backend, "run", "-d", "--name", name, "--init", "--network", "none", *limit,
           "-e", f"API_TOKEN={SECRET}", "-e", "MODE=pr${od}", *extra, "myorg/web:1.2")
    return inspect(backend, "container", name)


def engine_state(backend) -> str:
    """Every container and image, with ids, names, states and labels: what a dry run must not change."""
    return "\n".join(sorted([*docker(backend, "ps", "-a", "--no-trunc", "--format",
                                     "{{.ID}} {{.Names}} {{.Image}} {{.State}}").splitlines(),
                             *docker(backend, "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").splitlines()]))


def import_schema() -> dict:
    schema = json.loads(resources.files("functions_tui.app").joinpath("result_schema.json").read_text())
    return {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/import_result"}


def test_the_listing_offers_containers_and_images_without_a_mark(home, tmp_path):
    _, env, backend = home
    app_images(backend, tmp_path)
    run_web(backend)
    docker(backend, "create", "--name", "job", "--network", "none", "myorg/thumbs:2.0")
    # Marked ones are not offered: a function deployed by a functions-tui (the mark alone here).
    build(backend, tmp_path / "marked", "functions-tui/ours:latest", f"FROM myorg/base:1\nLABEL {MARK}=ours\n", {})

    listed = run_cli("import", "docker", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()}
    # job runs thumbs' image, so that image is the container's; myorg/base:1 is a base of others;
    # our local base image and the marked image are not offered.
    assert sorted(rows) == ["job", "web"], listed.stdout
    assert "container web (running)" in rows["web"] and "image myorg/web:1.2" in rows["web"]
    assert "python3.12" in rows["web"] and ":9000" in rows["web"]
    assert "container job (stopped)" in rows["job"]

    docker(backend, "rm", "job")
    as_json = run_cli("import", "docker", "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    jsonschema.validate(document, import_schema())
    assert document["mode"] == "list"
    assert [(c["name"], c["summary"].split(" · ")[0]) for c in document["candidates"]] == [
        ("thumbs", "image myorg/thumbs:2.0"), ("web", "container web (running)")]


def test_a_running_container_is_imported_with_its_code_config_and_state_unchanged(home, tmp_path):
    home_dir, env, backend = home
    app_images(backend, tmp_path)
    image_before = inspect(backend, "image", "myorg/web:1.2")
    container_before = run_web(backend)
    dest = tmp_path / "imported"

    done = run_cli("import", "docker", "web", "--to", str(dest), "--yes", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert "env API_TOKEN, APP_MODE, MODE written in clear" in done.stdout
    assert "recreates container web under the same name" in done.stdout
    assert "functions-tui-web" not in done.stdout + done.stderr   # no word of another name

    folder = dest / "web"
    declared = yaml.safe_load((folder / "function.yaml").read_text())
    memory = {"memory": 64} if memory_limits(backend) else {}
    assert declared == {"name": "web", "runtime": "python3.12",
                        "entry_point": "/bin/busybox httpd -f -p 9000 -h /srv/app", **memory,
                        "env": {"API_TOKEN": SECRET, "MODE": "pr$${od}", "APP_MODE": "prod"},
                        "targets": {"docker": {"port": 9000, "state": "running"}}}
    # The code: /srv/app as the layers above myorg/base:1 left it (old.txt removed by a later layer).
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert written == ["function.yaml", "lib/util.py", "main.py"]
    assert (folder / "main.py").read_text() == "print('web')\n"
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*") if p.is_file()} == {0o600}
    assert {stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.rglob("*")] if p.is_dir()} == {0o700}

    # The image: the same layers and config, built FROM it with our labels; the user's tag untouched.
    image_after = inspect(backend, "image", "functions-tui/web:latest")
    assert inspect(backend, "image", "myorg/web:1.2")["Id"] == image_before["Id"]
    assert image_after["RootFS"]["Layers"] == image_before["RootFS"]["Layers"]
    for key in KEPT:
        assert image_after["Config"].get(key) == image_before["Config"].get(key), key
    labels = image_after["Config"]["Labels"]
    assert labels[MARK] == "web" and labels[OWNER] == registry_id(home_dir) and labels[DIGEST].startswith("sha256:")
    assert SECRET not in labels[SPEC_LABEL]   # env as keyed hashes only
    # The container: recreated from it under its own name, same env, command, host config, still running.
    container_after = inspect(backend, "container", "web")
    assert container_after["Id"] != container_before["Id"] and container_after["Name"] == "/web"
    assert container_after["Image"] == image_after["Id"]
    assert container_after["Config"]["Labels"][DEPLOYED_CODE] == image_after["Id"]
    for key in ("Env", "Cmd", "Entrypoint", "WorkingDir", "ExposedPorts"):
        assert container_after["Config"].get(key) == container_before["Config"].get(key), key
    for key in ("NetworkMode", "Init", "Memory", "PortBindings", "RestartPolicy"):
        assert container_after["HostConfig"][key] == container_before["HostConfig"][key], key
    assert container_after["State"]["Running"]
    assert docker(backend, "ps", "-a", "--format", "{{.Names}}").split() == ["web"]
    served = docker(backend, "exec", "web", "wget", "-qO-", "http://127.0.0.1:9000/main.py")
    assert served == "print('web')"

    dry = run_cli("--sync", "--dry-run", "docker", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    listed = run_cli("import", "docker", env=env)
    assert listed.returncode == 0 and "web" not in listed.stdout.split()   # nor myorg/web:1.2, its original
    again = run_cli("import", "docker", "web", "--to", str(tmp_path / "again"), "--dry-run", env=env)
    assert again.returncode == 1 and "carries this registry's mark already" in again.stderr, again.stderr
    assert "interrupted" not in run_cli("status", env=env).stderr   # the journaled mark was cleared


def test_an_image_alone_and_a_stopped_container_keep_their_states(home, tmp_path):
    home_dir, env, backend = home
    app_images(backend, tmp_path)
    docker(backend, "create", "--name", "job", "--init", "--network", "none", "-e", "BATCH=7", "myorg/web:1.2")
    dest = tmp_path / "imported"

    done = run_cli("import", "docker", "thumbs", "job", "--to", str(dest), "--yes", "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    jsonschema.validate(document, import_schema())
    outcomes = {f["name"]: f for f in document["functions"]}
    assert {n: f["outcome"] for n, f in outcomes.items()} == {"thumbs": "imported", "job": "imported"}
    assert outcomes["thumbs"]["folder"] == str(dest / "thumbs") and outcomes["thumbs"]["files"] == [
        "function.yaml", "run.sh"]
    assert outcomes["job"]["env_in_clear"] == ["APP_MODE", "BATCH"]
    assert outcomes["job"]["declaration"]["env"] == {"BATCH": "***", "APP_MODE": "***"}

    thumbs = yaml.safe_load((dest / "thumbs" / "function.yaml").read_text())
    assert thumbs["targets"] == {"docker": {"state": "built"}} and thumbs["labels"] == {"team": "media"}
    assert stat.S_IMODE((dest / "thumbs" / "run.sh").stat().st_mode) == 0o700   # executable stays so
    job = yaml.safe_load((dest / "job" / "function.yaml").read_text())
    assert job["targets"]["docker"]["state"] == "stopped"
    assert not inspect(backend, "container", "job")["State"]["Running"]   # never started
    assert docker(backend, "ps", "-a", "--format", "{{.Names}}").split() == ["job"]
    assert inspect(backend, "image", "functions-tui/thumbs:latest")["Config"]["Labels"][MARK] == "thumbs"

    dry = run_cli("--sync", "--dry-run", "docker", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr


def test_dry_run_writes_and_changes_nothing(home, tmp_path):
    home_dir, env, backend = home
    app_images(backend, tmp_path)
    run_web(backend)
    before, registry = engine_state(backend), registry_bytes(home_dir)
    dest = tmp_path / "imported"

    dry = run_cli("import", "docker", "web", "thumbs", "--to", str(dest), "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "web: would write its code: lib/util.py, main.py" in dry.stdout and "would mark" in dry.stdout
    assert "thumbs: would write its code: run.sh" in dry.stdout
    assert SECRET not in dry.stdout + dry.stderr
    assert not dest.exists()
    assert engine_state(backend) == before and registry_bytes(home_dir) == registry


def test_a_runtime_that_cannot_be_read_is_refused_until_given(home, tmp_path):
    home_dir, env, backend = home
    # An image with no base image here and nothing naming a runtime: `docker import` of a tarball.
    tarball = tmp_path / "tool.tar"
    with tarfile.open(tarball, "w") as tar:
        for name, text in (("app/run", "#!/bin/sh\necho tool\n"), ("app/README", "a tool\n")):
            path = tmp_path / name.replace("/", "-")
            path.write_text(text)
            tar.add(path, arcname=name)
    docker(backend, "import", "--change", "WORKDIR /app", "--change", 'CMD ["/app/run"]', str(tarball), "acme/tool:3")
    before = engine_state(backend)
    dest = tmp_path / "imported"

    refused = run_cli("import", "docker", "tool", "--to", str(dest), "--yes", env=env)
    assert refused.returncode == 1
    assert "runtime cannot be read" in refused.stderr and "--runtime RUNTIME" in refused.stderr, refused.stderr
    assert not dest.exists() and engine_state(backend) == before

    done = run_cli("import", "docker", "tool", "--to", str(dest), "--yes", "--runtime", "go1.22", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    declared = yaml.safe_load((dest / "tool" / "function.yaml").read_text())
    assert declared["runtime"] == "go1.22" and declared["entry_point"] == "/app/run"
    assert (dest / "tool" / "README").read_text() == "a tool\n"
    dry = run_cli("--sync", "--dry-run", "docker", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr


def test_what_cannot_be_recreated_as_it_is_is_refused(home, tmp_path):
    home_dir, env, backend = home
    base = local_base_ref("python")
    docker(backend, "run", "-d", "--rm", "--init", "--name", "scratchpad", "--network", "none", base, "sleep", "600")
    docker(backend, "run", "-d", "--init", "--name", "held", "--network", "none", base, "sleep", "600")
    docker(backend, "pause", "held")
    before = engine_state(backend)
    dest = tmp_path / "imported"

    refused = run_cli("import", "docker", "scratchpad", "held", "nothere", "--to", str(dest), "--yes", "--json", env=env)
    assert refused.returncode == 1
    document = json.loads(refused.stdout)
    jsonschema.validate(document, import_schema())
    reasons = {f["name"]: (f["outcome"], f["reason"]) for f in document["functions"]}
    assert reasons["scratchpad"][0] == "refused" and "--rm" in reasons["scratchpad"][1]
    assert reasons["held"][0] == "refused" and "unpause" in reasons["held"][1]
    assert reasons["nothere"][0] == "refused" and "not found" in reasons["nothere"][1]
    assert len(document["errors"]) == 3 and len(refused.stderr.strip().splitlines()) == 3
    assert not dest.exists() and engine_state(backend) == before
    docker(backend, "unpause", "held")


def marked_names(backend, name: str) -> list[str]:
    """The names of every container carrying function ``name``'s mark, as `docker ps -a` shows them."""
    return sorted(docker(backend, "ps", "-a", "--filter", f"label={MARK}={name}", "--format", "{{.Names}}").split())


def test_an_imported_container_keeps_its_name_through_sync_run_stop_and_delete(home, tmp_path):
    home_dir, env, backend = home
    app_images(backend, tmp_path)
    run_web(backend)
    dest = tmp_path / "imported"
    done = run_cli("import", "docker", "web", "--to", str(dest), "--yes", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert marked_names(backend, "web") == ["web"]
    # Made by hand afterwards: a container under the name functions-tui would give web (no mark),
    # and one that has nothing to do with it.
    docker(backend, "create", "--name", "functions-tui-web", "--network", "none", "myorg/thumbs:2.0")
    docker(backend, "create", "--name", "bystander", "--network", "none", "myorg/thumbs:2.0")
    squatter = inspect(backend, "container", "functions-tui-web")
    bystander = inspect(backend, "container", "bystander")["Id"]

    # Out of band: the code hot-patched under the function's tag (it inherits our labels). In the
    # registry: an env value changed in the declaration.
    build(backend, tmp_path / "patch", "functions-tui/web:latest",
          "FROM functions-tui/web:latest\nCOPY main.py /srv/app/main.py\n", {"main.py": "print('patched')\n"})
    declaration = dest / "web" / "function.yaml"
    text = declaration.read_text()
    assert text.count("APP_MODE: prod") == 1
    declaration.write_text(text.replace("APP_MODE: prod", "APP_MODE: staging"))
    assert run_cli("add", str(declaration), env=env).returncode == 0
    dry = run_cli("--sync", "--dry-run", "docker", "--json", env=env)
    statuses = {s["function"]: s for s in json.loads(dry.stdout)["statuses"]}
    assert {d["field"]: d["side"] for d in statuses["web"]["diffs"]} == {"code_digest": "component", "env.APP_MODE": "registry"}

    pushed = run_cli("sync", "docker", "--push", env=env)   # the registry's code and env, deployed
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    after = inspect(backend, "container", "web")
    assert marked_names(backend, "web") == ["web"]           # recreated under its own name, alone
    assert after["State"]["Running"] and "APP_MODE=staging" in after["Config"]["Env"]
    assert after["Config"]["Labels"][DEPLOYED_CODE] == after["Image"] == inspect(backend, "image", "functions-tui/web:latest")["Id"]
    served = docker(backend, "exec", "web", "wget", "-qO-", "http://127.0.0.1:9000/main.py")
    assert served == "print('web')"                          # the declared code, not the hot patch
    in_sync = run_cli("--sync", "docker", env=env)
    assert in_sync.returncode == 0, in_sync.stdout + in_sync.stderr

    stopped = run_cli("stop", "web", env=env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert docker(backend, "ps", "-a", "--filter", f"label={MARK}=web", "--format", "{{.Names}} {{.State}}") == "web exited"
    started = run_cli("run", "web", env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    assert docker(backend, "ps", "-a", "--filter", f"label={MARK}=web", "--format", "{{.Names}} {{.State}}") == "web running"
    assert inspect(backend, "container", "web")["Id"] == after["Id"]   # a run state alone recreates nothing
    assert run_cli("--sync", "docker", env=env).returncode == 0

    deleted = run_cli("delete", "web", env=env)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert sorted(docker(backend, "ps", "-a", "--format", "{{.Names}}").split()) == ["bystander", "functions-tui-web"]
    kept = inspect(backend, "container", "functions-tui-web")   # never touched
    assert (kept["Id"], kept["State"]["Status"], kept["Config"]["Labels"]) == (
        squatter["Id"], "created", squatter["Config"]["Labels"]) and MARK not in kept["Config"]["Labels"]
    assert inspect(backend, "container", "bystander")["Id"] == bystander
    assert docker(backend, "images", "-q", "functions-tui/web") == ""
    assert docker(backend, "images", "-q", "myorg/web:1.2") != ""            # the user's image stays
