"""The Docker adapter against a real private dockerd (tests/fixtures/docker_backend.py).

Each test deploys with the adapter, then changes things out of band with the real docker
client (or the docker CLI), and checks that the next observe() sees exactly that.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile

import pytest

from functions_tui.components.docker import (
    CONTAINER_PREFIX, DEPLOYED_CODE, MARK, SPEC_LABEL, DockerComponent, container_name, image_ref,
)
from functions_tui.registry.component import ApplyError
from functions_tui.registry.fingerprint import spec_fingerprint
from functions_tui.registry.models import FunctionSpec, digest_source
from tests.provider_clis import docker

pytestmark = pytest.mark.docker

REGISTRY_ID = "6f1c2b3a-0d4e-4f5a-9b8c-7d6e5f4a3b2c"  # the registry identity the adapter writes


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "hello"
    src.mkdir()
    (src / "index.html").write_text("hello from functions-tui\n")
    (src / "main.py").write_text("def main(request):\n    return 'hello'\n")
    return src


@pytest.fixture
def component(docker_clean):
    adapter = DockerComponent(base_url=docker_clean.host, registry_id=REGISTRY_ID)
    yield adapter
    adapter.close()


def make_spec(source, name="hello", **overrides) -> FunctionSpec:
    spec = FunctionSpec(name=name, runtime="python312", entry_point="main", source=str(source),
                        memory=128, timeout=30, env={"GREETING": "hi there", "TOKEN": "s3cr3t$x"},
                        labels={"team": "core"}, targets={"docker": {"port": 8080}},
                        code_digest=digest_source(source))
    for key, value in overrides.items():
        setattr(spec, key, value)
    return spec


def import_unmarked_image(api, repository: str) -> str:
    """An image in our namespace that functions-tui did not make (no mark label)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hand-made")
        tar.addfile(info, io.BytesIO(b""))
    api.import_image_from_data(buf.getvalue(), repository=repository, tag="latest")
    return api.inspect_image(f"{repository}:latest")["Id"]


def test_create_runs_a_container_and_observe_matches_the_registry(component, docker_backend, source):
    spec = make_spec(source)
    created = component.create(spec)

    observation = component.observe()
    assert observation.complete and not observation.errors
    seen = observation.items["hello"]
    assert seen.marked and seen.values["state"] == "running"
    # What docker shows is exactly what the registry asked for (the three-way "in sync").
    assert seen.fingerprint() == spec_fingerprint(spec, "docker")
    assert created.fingerprint() == seen.fingerprint()

    container = docker_backend.client.containers.get(container_name("hello"))
    assert container.status == "running"
    assert container.labels[MARK] == "hello"
    # Env values are in the container, never in the labels.
    assert "TOKEN=s3cr3t$x" in container.attrs["Config"]["Env"]
    assert "s3cr3t" not in container.labels[SPEC_LABEL]
    assert component.read_env("hello") == {"GREETING": "hi there", "TOKEN": "s3cr3t$x"}
    # The container really runs the function's source (served by the local base image);
    # with --bridge=none there is no network to publish on, so ask from inside.
    assert container.attrs["HostConfig"]["NetworkMode"] == "none"
    exit_code, output = container.exec_run(["wget", "-qO-", "http://127.0.0.1:8080/index.html"])
    assert exit_code == 0 and output.decode() == "hello from functions-tui\n"


def test_container_stopped_then_removed_out_of_band_is_seen(component, docker_backend, source):
    component.create(make_spec(source))
    container = docker_backend.client.containers.get(container_name("hello"))

    container.stop(timeout=0)
    assert component.observe().items["hello"].values["state"] == "stopped"

    container.remove()
    after = component.observe()
    assert after.items["hello"].values["state"] == "built"
    assert after.items["hello"].fingerprint()["code_digest"] == digest_source(source)


def test_docker_rmi_out_of_band_makes_the_function_absent(component, docker_backend, source):
    component.create(make_spec(source, targets={"docker": {"state": "built"}}))
    assert component.observe().items["hello"].values["state"] == "built"

    docker_cli = shutil.which("docker")
    if docker_cli:
        subprocess.run([docker_cli, "rmi", image_ref("hello")], check=True, capture_output=True,
                       env={**os.environ, "DOCKER_HOST": docker_backend.host})
    else:  # the CLI is optional; the SDK call is the same API request
        docker_backend.client.images.remove(image_ref("hello"))

    after = component.observe()
    assert after.complete
    assert "hello" not in after.items


def test_state_change_alone_does_not_rebuild(component, docker_backend, source):
    spec = make_spec(source)
    first = component.create(spec)
    spec.targets["docker"]["state"] = "stopped"

    stopped = component.update(spec, ["state"])

    assert stopped.values["state"] == "stopped"
    assert stopped.resource_id == first.resource_id  # same image
    assert docker_backend.client.containers.get(container_name("hello")).status != "running"
    spec.targets["docker"]["state"] = "running"
    assert component.update(spec, ["state"]).values["state"] == "running"


def test_env_change_rebuilds_recreates_and_drops_the_old_build(component, docker_backend, source):
    spec = make_spec(source)
    first = component.create(spec)
    spec.env["GREETING"] = "hello again"

    updated = component.update(spec, ["env"])

    assert updated.resource_id != first.resource_id
    assert updated.fingerprint() == spec_fingerprint(spec, "docker")
    container = docker_backend.client.containers.get(container_name("hello"))
    assert "GREETING=hello again" in container.attrs["Config"]["Env"]
    assert container.status == "running"
    marked = docker_backend.api.images(filters={"label": f"{MARK}=hello"})
    assert [image["Id"] for image in marked] == [updated.resource_id]  # no dangling old build


def test_observe_is_one_image_and_one_container_listing(component, docker_backend, source):
    component.create(make_spec(source, name="one"))
    component.create(make_spec(source, name="two", targets={"docker": {"state": "built"}}))
    api = component.api
    calls: list[str] = []
    for method in ("images", "containers", "inspect_image", "inspect_container"):
        original = getattr(api, method)

        def spy(*args, _name=method, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        setattr(api, method, spy)
    try:
        observation = component.observe()
    finally:
        for method in ("images", "containers", "inspect_image", "inspect_container"):
            delattr(api, method)

    assert sorted(calls) == ["containers", "images"]
    assert {n: o.values["state"] for n, o in observation.items.items()} == {"one": "running", "two": "built"}


def test_unmarked_resources_are_shown_and_never_deleted(component, docker_backend, source):
    api = docker_backend.api
    stray_id = import_unmarked_image(api, "functions-tui/stray")
    # A container squatting on our container name, made by hand from an unmarked image.
    api.create_container(stray_id, command=["true"], name=f"{CONTAINER_PREFIX}squatter")

    observation = component.observe()
    assert observation.complete
    assert "image functions-tui/stray:latest" in observation.unmarked
    assert f"container {CONTAINER_PREFIX}squatter" in observation.unmarked
    assert "stray" not in observation.items and "squatter" not in observation.items

    with pytest.raises(ApplyError, match="without the"):
        component.delete("stray")
    with pytest.raises(ApplyError, match="without the"):
        component.delete("squatter")
    with pytest.raises(ApplyError, match="without the"):
        component.create(make_spec(source, name="stray"))
    assert api.inspect_image("functions-tui/stray:latest")["Id"] == stray_id
    assert api.inspect_container(f"{CONTAINER_PREFIX}squatter")["Name"] == f"/{CONTAINER_PREFIX}squatter"


def test_delete_removes_container_and_image(component, docker_backend, source):
    component.create(make_spec(source))
    component.delete("hello")

    assert "hello" not in component.observe().items
    assert docker_backend.api.containers(all=True, filters={"label": f"{MARK}=hello"}) == []
    assert docker_backend.api.images(filters={"label": f"{MARK}=hello"}) == []
    component.delete("hello")  # already gone: nothing to do, no error


def test_names_docker_cannot_spell_still_round_trip(component, source):
    spec = make_spec(source, name="My_Function", targets={"docker": {"state": "stopped"}})
    component.create(spec)

    seen = component.observe().items["My_Function"]  # the label keeps the real name
    assert seen.values["state"] == "stopped"
    assert seen.fingerprint() == spec_fingerprint(spec, "docker")
    component.delete("My_Function")
    assert "My_Function" not in component.observe().items


def test_configured_base_image_per_runtime(docker_clean, source):
    api = docker_clean.api
    from functions_tui.components.local_backends.base_image import rootfs_tarball

    # A "real runtime" base image of the user's (here: our busybox rootfs under their name).
    api.import_image_from_data(rootfs_tarball(), repository="example/python", tag="3.12")
    component = DockerComponent(base_url=docker_clean.host, base_images={"python": "example/python:3.12"},
                                registry_id=REGISTRY_ID)
    try:
        spec = make_spec(source, targets={"docker": {"state": "built"}})
        component.create(spec)

        config = api.inspect_image(image_ref("hello"))["Config"]
        assert config["Cmd"] == ["python", "/app/main.py"]  # the runtime's command, not our serve script
        assert config["WorkingDir"] == "/app"

        missing = DockerComponent(base_url=docker_clean.host, base_images={"python312": "example/absent:1"},
                                  registry_id=REGISTRY_ID)
        with pytest.raises(ApplyError, match="example/absent:1"):
            missing.create(make_spec(source, name="other"))
    finally:
        component.close()


# -- a function's container is found by its mark, whatever its name ------------------------------
# (Out-of-band changes here are made and checked with the docker CLI.)

def marked(backend, name="hello") -> list[str]:
    """``NAME STATE`` of every container carrying function ``name``'s mark, as `docker ps -a` shows them."""
    out = docker(backend, "ps", "-a", "--filter", f"label={MARK}={name}", "--format", "{{.Names}} {{.State}}")
    return sorted(out.splitlines())


def container_id(backend, ref: str) -> str:
    return docker(backend, "inspect", "--format", "{{.Id}}", ref)


def env_of(backend, ref: str) -> list[str]:
    import json

    return json.loads(docker(backend, "inspect", "--format", "{{json .Config.Env}}", ref))


def test_a_container_renamed_by_hand_stays_the_functions_under_its_new_name(component, docker_clean, source):
    spec = make_spec(source)
    component.create(spec)
    docker(docker_clean, "rename", container_name("hello"), "hello-web")

    seen = component.observe().items["hello"]
    assert seen.values["state"] == "running" and seen.fingerprint() == spec_fingerprint(spec, "docker")
    assert "(hello-web)" in seen.summary
    assert component.read_env("hello") == {"GREETING": "hi there", "TOKEN": "s3cr3t$x"}

    spec.env["GREETING"] = "hello again"
    component.update(spec, ["env"])                       # a rebuild: the container is recreated...
    assert marked(docker_clean) == ["hello-web running"]  # ...under the name it has
    assert "GREETING=hello again" in env_of(docker_clean, "hello-web")
    spec.targets["docker"]["state"] = "stopped"
    component.update(spec, ["state"])
    assert marked(docker_clean) == ["hello-web exited"]
    assert component.observe().items["hello"].fingerprint() == spec_fingerprint(spec, "docker")

    component.delete("hello")
    assert marked(docker_clean) == [] and docker(docker_clean, "ps", "-aq") == ""


@pytest.mark.parametrize("failing, error", [("create_container", "api"), ("start", "api"), ("start", "interrupt")])
def test_a_failed_recreate_gives_the_old_container_back_its_name_and_run_state(component, docker_clean, source,
                                                                              failing, error):
    from docker.errors import APIError

    spec = make_spec(source)
    component.create(spec)
    docker(docker_clean, "rename", container_name("hello"), "hello-web")
    before = container_id(docker_clean, "hello-web")
    seen = component.observe().items["hello"]
    image = docker(docker_clean, "inspect", "--format", "{{.Id}}", image_ref("hello"))
    # The engine refusing the new container (or Ctrl-C) at that very step cannot be brought about
    # on demand: a fake stands in for that one call of the adapter's client; all else is real.
    api = component.api
    real = getattr(api, failing)

    def fake_refusal(*args, **kwargs):
        if failing == "start" and args and args[0] == before:
            return real(*args, **kwargs)   # starting the old container again is real
        if error == "interrupt":
            raise KeyboardInterrupt
        raise APIError(f"fake: {failing} refused")

    setattr(api, failing, fake_refusal)
    spec.env["GREETING"] = "never deployed"
    try:
        with pytest.raises(KeyboardInterrupt if error == "interrupt" else ApplyError):
            component.update(spec, ["env"])
    finally:
        delattr(api, failing)

    assert marked(docker_clean) == ["hello-web running"]   # nothing set aside, nothing new left
    assert container_id(docker_clean, "hello-web") == before
    assert "GREETING=hi there" in env_of(docker_clean, "hello-web")
    assert docker(docker_clean, "ps", "-aq", "--no-trunc") == before
    # The image too: the tag names the build the container runs, the new one is gone.
    assert docker(docker_clean, "inspect", "--format", "{{.Id}}", image_ref("hello")) == image
    assert docker(docker_clean, "images", "-q", "--no-trunc", "--filter", f"label={MARK}=hello") == image
    assert component.observe().items["hello"].fingerprint() == seen.fingerprint()


def test_what_a_recreate_killed_midway_leaves_is_put_right(component, docker_clean, source):
    spec = make_spec(source)
    component.create(spec)
    docker(docker_clean, "rename", container_name("hello"), "hello-web")
    old = container_id(docker_clean, "hello-web")
    # Killed after setting the old container aside, before making the new one: what the
    # recreate had done so far, by hand.
    docker(docker_clean, "stop", "-t", "0", "hello-web")
    docker(docker_clean, "rename", "hello-web", f"hello-web-recreating-{old[:12]}")

    observation = component.observe()
    assert observation.complete and list(observation.items) == ["hello"] and not observation.unmarked
    assert observation.items["hello"].values["state"] == "stopped"   # not lost: still the function's
    component.update(spec, ["state"])                                 # the next change...
    assert marked(docker_clean) == ["hello-web running"]              # ...gives it its name back
    assert container_id(docker_clean, "hello-web") == old

    # Killed after making the new one, before removing the old one: the old one set aside beside it.
    image = docker(docker_clean, "inspect", "--format", "{{.Image}}", "hello-web")
    docker(docker_clean, "create", "--name", "leftover", "--network", "none", "--label", f"{DEPLOYED_CODE}={image}",
           image_ref("hello"))
    leftover = container_id(docker_clean, "leftover")
    docker(docker_clean, "rename", "leftover", f"hello-web-recreating-{leftover[:12]}")

    seen = component.observe().items["hello"]
    assert "left by an interrupted recreate" in seen.summary and f"hello-web-recreating-{leftover[:12]}" in seen.summary
    assert seen.values["state"] == "running"                          # the new one is the function's
    spec.targets["docker"]["state"] = "stopped"
    component.update(spec, ["state"])                                 # the next change removes the leftover
    assert marked(docker_clean) == ["hello-web exited"]
    assert container_id(docker_clean, "hello-web") == old


def test_two_containers_passing_for_the_functions_are_never_chosen_between(component, docker_clean, source):
    spec = make_spec(source)
    component.create(spec)
    ours = container_id(docker_clean, container_name("hello"))
    image = docker(docker_clean, "inspect", "--format", "{{.Image}}", container_name("hello"))
    # A copy made by hand with the deployed-code record (the mark comes with the image).
    docker(docker_clean, "create", "--name", "hello-copy", "--network", "none", "--label", f"{DEPLOYED_CODE}={image}",
           image_ref("hello"))
    copy = container_id(docker_clean, "hello-copy")

    seen = component.observe().items["hello"]
    assert seen.values["state"] == "running"                    # functions-tui-hello's, as before
    assert "2 containers carry its mark" in seen.summary and "hello-copy" in seen.summary
    spec.env["GREETING"] = "changed"
    for attempt in (lambda: component.update(spec, ["env"]), lambda: component.update(spec, ["state"]),
                    lambda: component.claim("hello"), lambda: component.read_env("hello")):
        with pytest.raises(ApplyError, match="functions-tui-hello, hello-copy"):
            attempt()
    assert marked(docker_clean) == ["functions-tui-hello running", "hello-copy created"]
    assert (container_id(docker_clean, container_name("hello")), container_id(docker_clean, "hello-copy")) == (ours, copy)

    docker(docker_clean, "rm", "hello-copy")
    component.update(spec, ["env"])
    assert marked(docker_clean) == ["functions-tui-hello running"]


def test_a_container_run_by_hand_from_the_functions_image_is_not_its_container(component, docker_clean, source):
    spec = make_spec(source, targets={"docker": {"state": "built"}})
    component.create(spec)
    # It inherits every label of the image, the mark among them, but not the deployed-code record.
    docker(docker_clean, "run", "-d", "--name", "debug", "--network", "none", image_ref("hello"))
    debug = container_id(docker_clean, "debug")

    assert component.observe().items["hello"].values["state"] == "built"
    spec.targets["docker"]["state"] = "running"
    component.update(spec, ["state"])                           # a container of its own, under our name
    assert marked(docker_clean) == ["debug running", "functions-tui-hello running"]
    assert container_id(docker_clean, "debug") == debug
    component.delete("hello")                                   # it runs the function's image: it goes with it
    assert docker(docker_clean, "ps", "-aq") == ""
