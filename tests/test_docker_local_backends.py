"""The pieces behind the Docker component that need no cloud: the private dockerd, the
local busybox base images, Docker-safe names, the spec label and the build context."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from functions_tui.components.docker import SPEC_LABEL, DockerComponent, build_context, container_name, image_ref, safe_name, spec_label
from functions_tui.components.local_backends import base_image
from functions_tui.components.local_backends.dockerd import (
    ExistingDocker, PrivateDockerd, can_start_dockerd, ensure_docker, ping, start_dockerd,
)
from functions_tui.registry.fingerprint import hash_value
from functions_tui.registry.models import FunctionSpec


# ---------------------------------------------------------------- private dockerd

@pytest.mark.docker
def test_ensure_docker_reuses_an_engine_that_answers(docker_backend, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", docker_backend.host)

    handle = ensure_docker(tmp_path)

    assert isinstance(handle, ExistingDocker) and handle.host == docker_backend.host
    handle.stop()  # not ours: must leave the engine running
    assert ping(docker_backend.host)
    assert not (tmp_path / "data").exists()


@pytest.mark.docker
def test_private_dockerd_starts_answers_and_cleans_up(tmp_path, monkeypatch):
    ok, why = can_start_dockerd()
    if not ok:
        pytest.skip(why)
    # Point DOCKER_HOST at nothing so ensure_docker has to start its own engine.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'nothing.sock'}")

    engine = ensure_docker(tmp_path / "engine")
    component = DockerComponent(base_url=engine.host)
    try:
        assert isinstance(engine, PrivateDockerd)
        assert engine.host.startswith("unix://") and ping(engine.host)
        assert len(str(engine.socket_path)) < 108  # fits a unix socket address
        first = component.observe()
        assert first.complete and first.items == {}
    finally:
        engine.stop()
    assert engine.process.poll() is not None
    assert not engine.runtime_dir.exists() and not (tmp_path / "engine" / "data").exists()
    engine.stop()  # stopping twice is harmless

    # The engine went away between two polls: the next observation is failed, not empty.
    gone = component.observe()
    assert not gone.complete and gone.errors
    assert "not running" in component.detect().reason


def test_start_dockerd_refuses_clearly_without_root_or_binary(monkeypatch, tmp_path):
    from functions_tui.components.local_backends import dockerd

    monkeypatch.setattr(dockerd.shutil, "which", lambda name: None)
    with pytest.raises(dockerd.DockerdError, match="dockerd is not installed"):
        start_dockerd(tmp_path)


# ---------------------------------------------------------------- local base images

def test_static_busybox_is_found_and_dynamic_binaries_are_not_static():
    busybox = base_image.find_static_busybox()
    assert base_image._is_static_elf(busybox)
    assert not base_image._is_static_elf(Path("/bin/ls"))  # needs ld.so


def test_rootfs_tarball_holds_busybox_applets_and_the_serve_command():
    with tarfile.open(fileobj=io.BytesIO(base_image.rootfs_tarball()), mode="r") as tar:
        names = set(tar.getnames())
        serve = tar.extractfile("bin/functions-tui-serve").read().decode()
    assert {"bin/busybox", "bin/sh", "bin/sleep", "app", "tmp"} <= names
    assert "httpd -f -p" in serve and "/app" in serve


@pytest.mark.docker
def test_base_image_is_imported_once_and_runs(docker_clean):
    api = docker_clean.api
    ref = base_image.local_base_ref("testruntime")
    try:
        first = base_image.ensure_base_image(api, ref)
        assert base_image.ensure_base_image(api, ref) == first  # present: not imported again
        container = docker_clean.client.containers.run(ref, ["sh", "-c", "echo ok"], remove=True,
                                                       network_mode="none")
        assert container.decode().strip() == "ok"
    finally:
        api.remove_image(ref, force=True)


# ---------------------------------------------------------------- names, labels, context

def test_names_docker_cannot_spell_are_cleaned_but_stay_distinct():
    assert safe_name("hello-world") == "hello-world"
    assert image_ref("hello") == "functions-tui/hello:latest"
    assert container_name("hello") == "functions-tui-hello"
    cleaned = {safe_name(n) for n in ("My_Fn", "my-fn", "my fn", "MY-FN")}
    assert len(cleaned) == 4
    assert all(c == c.lower() and " " not in c for c in cleaned)


def test_spec_label_carries_env_hashes_never_values():
    spec = FunctionSpec(name="f", runtime="python312", env={"TOKEN": "s3cr3t"}, labels={"team": "a"})

    label = json.loads(spec_label(spec))

    assert label["env"] == {"TOKEN": hash_value("s3cr3t")}
    assert "s3cr3t" not in spec_label(spec)
    assert label["labels"] == {"team": "a"} and label["runtime"] == "python312"
    assert SPEC_LABEL == "functions-tui.spec"


def test_build_context_has_the_dockerfile_and_the_source(tmp_path):
    (tmp_path / "main.py").write_text("x = 1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"junk")
    spec = FunctionSpec(name="f", runtime="python312", source=str(tmp_path),
                        env={"QUOTED": 'say "hi" for $5', "MULTI": "a\nb"})

    with tarfile.open(fileobj=build_context(spec, "functions-tui-base/python:local", None), mode="r") as tar:
        names = set(tar.getnames())
        dockerfile = tar.extractfile("Dockerfile").read().decode()

    assert "src/main.py" in names and not any("__pycache__" in n for n in names)
    assert dockerfile.startswith("FROM functions-tui-base/python:local\n")
    assert 'QUOTED="say \\"hi\\" for \\$5"' in dockerfile  # no variable substitution, quotes kept
    assert "MULTI" not in dockerfile  # a newline can't live in ENV: container env only
    assert "CMD" not in dockerfile  # the local base image brings its own command
