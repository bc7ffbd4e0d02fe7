"""A target that runs a prebuilt image (``targets.<c>.image``), in the engine: R there has no
runtime or entry point (the image's own) and the image reference as its code, while the
function's other targets keep the source's. MemoryComponents stand in for the providers (the
AWS adapter's real behaviour is tests/test_aws_image_functions.py)."""

from __future__ import annotations

from functions_tui.registry.apply import apply_plan
from functions_tui.registry.classify import classify, registry_fingerprints
from functions_tui.registry.fingerprint import code_identity, spec_fingerprint, spec_values
from functions_tui.registry.models import IMAGE_PREFIX, FunctionRecord
from functions_tui.registry.plan import build_plan
from functions_tui.registry.plan_types import ActionKind, Policy, State
from tests.engine_helpers import deployed, make_spec, observe_all, seed
from tests.memory_component import MemoryComponent

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello:1.4"
NEWER = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hello:1.5"


def image_spec(name: str = "hello", image: str = IMAGE, components=("docker", "aws")):
    spec = make_spec(name, components, entry_point="main.handler", code_digest="sha256:" + "a" * 64)
    spec.targets["aws"]["image"] = image
    return spec


def plan_and_apply(store, journal, *components, policy=Policy.COMPONENT_WINS):
    snapshot = store.load()
    plan = build_plan(snapshot.functions, observe_all(*components),
                      policies={c.name: policy for c in components}, registry_serial=snapshot.serial)
    result = apply_plan(plan, store, {c.name: c for c in components}, journal, ())
    return plan, result


def test_r_of_an_image_target_is_the_image_and_the_others_keep_the_source():
    spec = image_spec()
    prints = registry_fingerprints(spec, ("docker", "aws"))
    assert prints["aws"]["code_digest"] == IMAGE_PREFIX + IMAGE == code_identity(spec, "aws")
    assert prints["aws"]["runtime"] is None and prints["aws"]["entry_point"] is None
    assert prints["docker"]["code_digest"] == spec.code_digest == code_identity(spec, "docker")
    assert prints["docker"]["runtime"] == "python3.12" and prints["docker"]["entry_point"] == "main.handler"
    # The slow and the fast way agree, and the shared fields are the same.
    assert spec_fingerprint(spec, "aws") == prints["aws"]
    assert {k: v for k, v in prints["aws"].items() if k not in ("runtime", "entry_point", "code_digest", "state")} \
        == {k: v for k, v in prints["docker"].items() if k not in ("runtime", "entry_point", "code_digest", "state")}
    assert spec_values(spec, "aws")["runtime"] == ""


def test_an_image_function_without_runtime_or_handler_is_in_sync():
    aws = MemoryComponent("aws")
    spec = image_spec(components=("aws",))
    record = deployed(spec, aws)
    assert aws.resources["hello"].values["runtime"] == ""   # what Lambda shows for an image
    observation = aws.observe()
    assert classify(record, observation.items["hello"], "aws").state is State.IN_SYNC
    plan = build_plan({"hello": record}, {"aws": observation}, policies={"aws": Policy.COMPONENT_WINS})
    assert plan.actions == []


def test_a_new_image_in_the_registry_is_a_code_push_to_that_target_only(store, journal):
    aws, docker = MemoryComponent("aws"), MemoryComponent("docker")
    spec = image_spec()
    seed(store, deployed(spec, docker, aws))
    record = store.load().functions["hello"]
    record.spec.targets["aws"]["image"] = NEWER
    seed(store, record)

    plan, result = plan_and_apply(store, journal, docker, aws)
    assert [(a.component, a.kind, a.fields) for a in plan.actions] == [("aws", ActionKind.UPDATE, ["code_digest"])]
    assert result.failed == []
    assert aws.resources["hello"].values["code_digest"] == IMAGE_PREFIX + NEWER


def test_an_image_changed_on_the_component_is_pulled_into_the_target_not_the_source(store, journal):
    aws, docker = MemoryComponent("aws"), MemoryComponent("docker")
    spec = image_spec()
    seed(store, deployed(spec, docker, aws))
    aws.change("hello", code_digest=IMAGE_PREFIX + NEWER)

    plan, result = plan_and_apply(store, journal, docker, aws)
    # Pulled from aws, and not pushed to docker: docker runs the source, not aws's image.
    assert [(a.component, a.kind, a.fields) for a in plan.actions] == [("aws", ActionKind.PULL, ["code_digest"])]
    assert result.failed == []
    after = store.load().functions["hello"].spec
    assert after.targets["aws"]["image"] == NEWER
    assert (after.code_digest, after.runtime, after.entry_point) == (spec.code_digest, "python3.12", "main.handler")
    replanned = build_plan(store.load().functions, observe_all(docker, aws),
                           policies={"aws": Policy.COMPONENT_WINS, "docker": Policy.COMPONENT_WINS})
    assert {s.state for s in replanned.statuses} == {State.IN_SYNC}


def test_source_code_pulled_from_another_component_never_replaces_the_image(store, journal):
    aws, docker = MemoryComponent("aws"), MemoryComponent("docker")
    spec = image_spec()
    seed(store, deployed(spec, docker, aws))
    docker.change("hello", code_digest="sha256:" + "b" * 64, runtime="python3.13")

    plan, result = plan_and_apply(store, journal, docker, aws)
    assert [(a.component, a.kind) for a in plan.actions] == [("docker", ActionKind.PULL)]
    assert result.failed == []
    after = store.load().functions["hello"].spec
    assert (after.code_digest, after.runtime) == ("sha256:" + "b" * 64, "python3.13")
    assert after.targets["aws"]["image"] == IMAGE


def test_a_pull_that_does_not_name_an_image_fails_and_keeps_the_registrys(store, journal):
    aws = MemoryComponent("aws")
    seed(store, deployed(image_spec(components=("aws",)), aws))
    aws.change("hello", code_digest="aws:" + "c" * 64)   # changed, but which image is unknown

    plan, result = plan_and_apply(store, journal, aws)
    assert [(a.kind, a.fields) for a in plan.actions] == [(ActionKind.PULL, ["code_digest"])]
    [failed] = result.failed
    assert "did not say which image runs" in failed.error and "targets.aws.image" in failed.error
    assert store.load().functions["hello"].spec.targets["aws"]["image"] == IMAGE


def test_adopting_an_image_function_takes_its_image_as_the_target(store, journal):
    aws = MemoryComponent("aws")
    item = aws.put("found", {"runtime": "", "entry_point": "", "memory": 512, "timeout": 30, "env": {},
                             "labels": {}, "code_digest": IMAGE_PREFIX + IMAGE, "state": "active",
                             "target": {"image": IMAGE}})
    assert item.marked
    seed(store, FunctionRecord(spec=make_spec("other", ("aws",))))
    snapshot = store.load()
    plan = build_plan(snapshot.functions, observe_all(aws), policies={"aws": Policy.COMPONENT_WINS},
                      registry_serial=snapshot.serial)
    adopt = [a for a in plan.actions if a.function == "found"]
    assert [a.kind for a in adopt] == [ActionKind.ADOPT]
    result = apply_plan(plan, store, {"aws": aws}, journal, ())
    assert [r.ok for r in result.results if r.action.function == "found"] == [True]
    adopted = store.load().functions["found"].spec
    assert adopted.targets["aws"]["image"] == IMAGE and adopted.memory == 512
    assert spec_fingerprint(adopted, "aws") == aws.resources["found"].fingerprint()
