"""Ownership by registry identity on Docker (a private dockerd per session).

Images and containers somebody else made (a legacy name-only mark, another registry's mark)
are made with the ``docker`` command line against the test engine, not with our code.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from functions_tui.registry.kinds import kind_of

from functions_tui.components.docker import (DEPLOYED_CODE, DIGEST, MARK, OWNER, SPEC_LABEL, DockerComponent, container_name,
                               image_ref, spec_label)
from functions_tui.components.local_backends.base_image import ensure_base_image, local_base_ref
from functions_tui.registry.component import ApplyError
from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.models import FunctionSpec, digest_source
from tests.provider_clis import docker

pytestmark = pytest.mark.docker

OURS = "0b7e3c1a-5d2f-4e6a-8b9c-1d2e3f4a5b6c"
OTHER = "9f8e7d6c-5b4a-4321-8fed-cba987654321"


def cli_build(backend: Any, folder: Path, tag: str, dockerfile: str, files: dict[str, str],
              labels: dict[str, str]) -> str:
    """``docker build`` of a generated context; the new image id."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (folder / name).write_text(text)
    args = ["build", "-q", "-t", tag]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    docker(backend, *args, ".", cwd=folder)
    return docker(backend, "image", "inspect", "--format", "{{.Id}}", tag)


def make_spec(source: Path, name: str = "hello", **overrides: Any) -> FunctionSpec:
    spec = FunctionSpec(name=name, runtime="python312", entry_point="main", source=str(source), memory=128,
                        timeout=30, env={"GREETING": "hi"}, labels={"team": "core"},
                        targets={"docker": {"port": 8080}}, code_digest=digest_source(source))
    for key, value in overrides.items():
        setattr(spec, key, value)
    return spec


def hand_made(backend: Any, tmp_path: Path, source: Path, name: str, extra: dict[str, str],
              run: bool = True) -> FunctionSpec:
    """A function image (and a running container) made by hand with the docker CLI, carrying
    the labels an older functions-tui wrote: the name mark, digest and spec, plus ``extra``."""
    spec = make_spec(source, name)
    ensure_base_image(backend.api, local_base_ref("python"))
    labels = {MARK: name, DIGEST: spec.code_digest, SPEC_LABEL: spec_label(spec), "team": "core", **extra}
    context = tmp_path / f"ctx-{name}"
    shutil.copytree(source, context / "src")
    cli_build(backend, context, image_ref(name), f"FROM {local_base_ref('python')}\nCOPY src/ /app/\n", {}, labels)
    if run:
        docker(backend, "run", "-d", "--name", container_name(name), "--init", "--network", "none",
               "-e", "GREETING=hi", "-e", "PORT=8080", image_ref(name))
    return spec


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "hello"
    src.mkdir()
    (src / "index.html").write_text("hello from functions-tui\n")
    (src / "main.py").write_text("def main(request):\n    return 'hello'\n")
    return src


@pytest.fixture
def component(docker_clean):
    adapter = DockerComponent(base_url=docker_clean.host, registry_id=OURS)
    yield adapter
    adapter.close()


def inspect(backend: Any, kind: str, ref: str) -> dict[str, Any]:
    return getattr(backend.api, f"inspect_{kind}")(ref)


# -- tests --------------------------------------------------------------------------------

def test_the_keys_are_the_registry_models_spelling():
    assert OWNER == kind_of("docker").owner_key == "functions-tui.registry"
    assert DEPLOYED_CODE == kind_of("docker").deployed_code_key == "functions-tui.deployed-code"


def test_create_marks_image_and_container_and_observe_reports_owners(component, docker_clean, tmp_path, source):
    anonymous = DockerComponent(base_url=docker_clean.host)
    with pytest.raises(ApplyError, match="no identity"):
        anonymous.create(make_spec(source, "unowned"))
    assert docker(docker_clean, "images", "-q", "functions-tui/*") == ""  # nothing was built

    created = component.create(make_spec(source))
    assert created.owner == OURS
    image = inspect(docker_clean, "image", image_ref("hello"))
    container = inspect(docker_clean, "container", container_name("hello"))
    assert image["Config"]["Labels"][MARK] == "hello" and image["Config"]["Labels"][OWNER] == OURS
    assert container["Config"]["Labels"][MARK] == "hello" and container["Config"]["Labels"][OWNER] == OURS
    # The container records the image it was deployed from.
    assert container["Config"]["Labels"][DEPLOYED_CODE] == image["Id"] == container["Image"]

    hand_made(docker_clean, tmp_path, source, "legacy", {}, run=False)
    hand_made(docker_clean, tmp_path, source, "theirs", {OWNER: OTHER}, run=False)
    observation = component.observe()
    assert observation.complete, observation.errors
    assert {n: (o.marked, o.owner) for n, o in observation.items.items()} == {
        "hello": (True, OURS), "legacy": (True, None), "theirs": (True, OTHER)}
    assert all(OWNER not in o.values["labels"] for o in observation.items.values())

    with pytest.raises(ApplyError, match="no identity"):
        anonymous.claim("legacy")
    with pytest.raises(ApplyError, match="no identity"):
        anonymous.update(make_spec(source, "legacy"), ["memory"])
    assert OWNER not in inspect(docker_clean, "image", image_ref("legacy"))["Config"]["Labels"]


def test_claim_migrates_a_legacy_mark_and_keeps_code_config_and_run_state(component, docker_clean, tmp_path, source):
    hand_made(docker_clean, tmp_path, source, "legacy", {})
    before = component.observe().items["legacy"]
    image_before = inspect(docker_clean, "image", image_ref("legacy"))
    container_before = inspect(docker_clean, "container", container_name("legacy"))
    assert before.owner is None and before.values["state"] == "running"

    claimed = component.claim("legacy", before.resource_id)

    assert claimed.owner == OURS
    assert claimed.fingerprint() == before.fingerprint()
    after = component.observe().items["legacy"]
    assert after.owner == OURS and after.fingerprint() == before.fingerprint()
    assert after.values["code_digest"] == before.values["code_digest"]

    image_after = inspect(docker_clean, "image", image_ref("legacy"))
    container_after = inspect(docker_clean, "container", container_name("legacy"))
    # The image: the same layers, env and command, one label more (built FROM the old one).
    assert image_after["RootFS"]["Layers"] == image_before["RootFS"]["Layers"]
    assert image_after["Config"]["Labels"] == {**image_before["Config"]["Labels"], OWNER: OURS}
    for key in ("Env", "Cmd", "Entrypoint", "WorkingDir"):
        assert image_after["Config"][key] == image_before["Config"][key]
    # The container: recreated from the new image with the same config, still running.
    assert container_after["Image"] == image_after["Id"]
    assert container_after["Config"]["Labels"] == {**container_before["Config"]["Labels"], OWNER: OURS}
    assert container_after["Config"]["Env"] == container_before["Config"]["Env"]
    assert container_after["Config"]["Cmd"] == container_before["Config"]["Cmd"]
    for key in ("NetworkMode", "Init", "Memory", "PortBindings", "RestartPolicy"):
        assert container_after["HostConfig"][key] == container_before["HostConfig"][key]
    assert container_after["State"]["Running"]
    # The old container is gone (none left renamed aside).
    assert docker(docker_clean, "ps", "-a", "-q", "--filter", f"name={container_name('legacy')}").split() == [
        container_after["Id"][:12]]
    # It really still serves the same code.
    served = docker(docker_clean, "exec", container_name("legacy"), "wget", "-qO-", "http://127.0.0.1:8080/index.html")
    assert served == "hello from functions-tui"


def test_claim_refuses_what_is_not_marked_or_not_there(component, docker_clean, tmp_path, source):
    ensure_base_image(docker_clean.api, local_base_ref("python"))
    docker(docker_clean, "tag", local_base_ref("python"), image_ref("stray"))  # ours by name only
    stray_id = inspect(docker_clean, "image", image_ref("stray"))["Id"]
    with pytest.raises(ApplyError, match="refusing to claim"):
        component.claim("stray")
    assert inspect(docker_clean, "image", image_ref("stray"))["Id"] == stray_id
    with pytest.raises(ApplyError, match="neither"):
        component.claim("ghost")


def test_update_rebuilds_a_legacy_build_with_the_identity(component, docker_clean, tmp_path, source):
    spec = hand_made(docker_clean, tmp_path, source, "legacy", {}, run=False)
    spec.targets["docker"]["state"] = "built"
    updated = component.update(spec, ["state"])
    assert updated.owner == OURS
    assert updated.fingerprint() == spec_fingerprint(spec, "docker")


@pytest.mark.parametrize("fails", [False, True])
def test_claim_keeps_a_containers_own_name_or_gives_it_back(component, docker_clean, tmp_path, source, fails):
    # A function container under a name of its own (as import leaves one), from before identities:
    # the mark from the image, the deployed-code record, no owner.
    hand_made(docker_clean, tmp_path, source, "legacy", {}, run=False)
    image = inspect(docker_clean, "image", image_ref("legacy"))["Id"]
    docker(docker_clean, "run", "-d", "--name", "legacy-web", "--init", "--network", "none",
           "--label", f"{DEPLOYED_CODE}={image}", image_ref("legacy"))
    before = inspect(docker_clean, "container", "legacy-web")
    seen = component.observe().items["legacy"]
    assert seen.owner is None and seen.values["state"] == "running"

    api = component.api
    if fails:   # the engine refusing the new container cannot be brought about on demand: a fake
        from docker.errors import APIError

        def fake_refusal(*args, **kwargs):
            raise APIError("fake: create refused")

        api.create_container_from_config = fake_refusal
    try:
        if fails:
            with pytest.raises(ApplyError, match="fake: create refused"):
                component.claim("legacy", seen.resource_id)
        else:
            assert component.claim("legacy", seen.resource_id).owner == OURS
    finally:
        if fails:
            del api.create_container_from_config

    listed = docker(docker_clean, "ps", "-a", "--filter", f"label={MARK}=legacy", "--format", "{{.Names}} {{.State}}")
    assert listed == "legacy-web running"
    after = inspect(docker_clean, "container", "legacy-web")
    if fails:   # as it was: the same container, the tag on the same image, no owner anywhere
        assert after["Id"] == before["Id"] and OWNER not in after["Config"]["Labels"]
        assert inspect(docker_clean, "image", image_ref("legacy"))["Id"] == image
        assert component.observe().items["legacy"].fingerprint() == seen.fingerprint()
    else:
        assert after["Id"] != before["Id"] and after["Config"]["Labels"][OWNER] == OURS
        assert after["Config"]["Labels"][DEPLOYED_CODE] == after["Image"] == inspect(docker_clean, "image", image_ref("legacy"))["Id"]
