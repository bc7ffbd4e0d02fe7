"""An image replaced out of band under a function's tag shows as code drift, from the same
image and container listings.

The container records the image it was deployed from (``functions-tui.deployed-code``); the
image listing shows which image the function's tag names now. The replacement is made with
the ``docker`` command line: ``docker build -t functions-tui/NAME:latest`` (a hot patch on
top of our image, which inherits all our labels) and ``docker tag`` of another image.
"""

from __future__ import annotations

import pytest

from functions_tui.components.docker import DEPLOYED_CODE, DockerComponent, container_name, image_ref
from functions_tui.registry.fingerprint import spec_fingerprint
from tests.provider_clis import docker
from tests.test_ownership_docker import OURS, cli_build, make_spec

pytestmark = pytest.mark.docker


@pytest.fixture
def source(tmp_path):
    src = tmp_path / "hello"
    src.mkdir()
    (src / "index.html").write_text("hello from functions-tui\n")
    return src


@pytest.fixture
def component(docker_clean):
    adapter = DockerComponent(base_url=docker_clean.host, registry_id=OURS)
    yield adapter
    adapter.close()


def short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


def test_an_image_replaced_under_the_tag_shows_as_code_drift(component, docker_clean, tmp_path, source):
    hello, steady, other = make_spec(source), make_spec(source, "steady"), make_spec(source, "other")
    for spec in (hello, steady, other):
        component.create(spec)
    before = component.observe()
    assert {n: o.values["code_digest"] for n, o in before.items.items()} == {
        "hello": hello.code_digest, "steady": steady.code_digest, "other": other.code_digest}

    # A hot patch: rebuilt on top of our image (inheriting every label) under the same tag.
    patched = cli_build(docker_clean, tmp_path / "patch", image_ref("hello"),
                        f"FROM {image_ref('hello')}\nCOPY index.html /app/index.html\n",
                        {"index.html": "patched by hand\n"}, {})
    # A retag: another image put under a function's tag.
    docker(docker_clean, "tag", image_ref("steady"), image_ref("other"))
    steady_id = docker(docker_clean, "image", "inspect", "--format", "{{.Id}}", image_ref("steady"))

    api = component.api
    calls: list[str] = []
    for method in ("images", "containers", "inspect_image", "inspect_container"):
        original = getattr(api, method)

        def spy(*args, _name=method, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        setattr(api, method, spy)
    try:
        after = component.observe()
    finally:
        for method in ("images", "containers", "inspect_image", "inspect_container"):
            delattr(api, method)

    assert sorted(calls) == ["containers", "images"]  # still one listing of each
    assert after.complete, after.errors
    assert after.items["hello"].values["code_digest"] == f"docker:{short(patched)}"
    assert after.items["other"].values["code_digest"] == f"docker:{short(steady_id)}"
    for name in ("hello", "other"):
        changed = {k for k, v in after.items[name].fingerprint().items()
                   if before.items[name].fingerprint().get(k) != v}
        assert changed == {"code_digest"}, name
    # The function nobody touched keeps our digest.
    assert after.items["steady"].values["code_digest"] == steady.code_digest
    assert after.items["steady"].fingerprint() == spec_fingerprint(steady, "docker")
    assert all(o.owner == OURS for o in after.items.values())

    # Deploying the code again puts ours back under the tag and records it.
    redeployed = component.update(hello, ["code_digest"])
    assert redeployed.values["code_digest"] == hello.code_digest
    container = docker_clean.api.inspect_container(container_name("hello"))
    assert container["Config"]["Labels"][DEPLOYED_CODE] == container["Image"] == \
        docker_clean.api.inspect_image(image_ref("hello"))["Id"]
    assert component.observe().items["hello"].fingerprint() == spec_fingerprint(hello, "docker")


def test_a_container_without_the_record_reads_as_before(component, docker_clean, tmp_path, source):
    # A container made by an older functions-tui: mark and digest labels, no deployed-code record.
    from tests.test_ownership_docker import hand_made

    spec = hand_made(docker_clean, tmp_path, source, "old", {})
    cli_build(docker_clean, tmp_path / "patch", image_ref("old"), f"FROM {image_ref('old')}\nCOPY index.html /app/\n",
              {"index.html": "patched by hand\n"}, {})
    seen = component.observe().items["old"]
    assert seen.values["code_digest"] == spec.code_digest
    assert seen.owner is None
