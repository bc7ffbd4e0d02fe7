"""Component instances: config.yaml names as many places of each kind as a user has, and
every instance is a component everywhere (detection, observation, unknown guard, policy,
named syncs, status row, JSON key).

The real-backend cases run two AWS instances as two regions of one moto server, driven by the
command as a user runs it; out-of-band changes go through the AWS CLI."""

from __future__ import annotations

import json

import pytest

from functions_tui.app.config import parse_config
from functions_tui.app.service import SyncService
from functions_tui.registry import kinds
from functions_tui.registry.plan_types import State
from tests import kind_example
from tests.cli_helpers import cli_env, make_function, one_line_error, run_cli, write_yaml
from tests.provider_clis import aws as aws_cli

EAST, WEST = "us-east-1", "eu-west-1"


# --- config.yaml ------------------------------------------------------------------------------

def test_without_a_components_block_there_is_one_instance_per_kind(tmp_path):
    config = parse_config(write_yaml(tmp_path / "config.yaml", {"max_deletions": 3}))
    assert config.component_names == ["docker", "gcp", "aws"]
    assert [i.kind.name for i in config.instances] == ["docker", "gcp", "aws"]
    assert config.policy_for("docker") == "ask" and config.policy_for("aws") == "component-wins"


def test_instances_are_named_with_their_kind_settings_and_policies(tmp_path):
    config = parse_config(write_yaml(tmp_path / "config.yaml", {
        "components": {"aws-prod": {"kind": "aws", "profile": "prod", "region": WEST},
                       "aws-dev": {"kind": "aws", "region": EAST},
                       "gcp-eu": {"kind": "gcp", "project": "eu-project", "locations": ["europe-west1"]},
                       "docker": {"kind": "docker", "host": "ssh://builder"}},
        "policies": {"aws-dev": "registry-wins"}}))
    assert config.component_names == ["aws-prod", "aws-dev", "gcp-eu", "docker"]
    assert config.instance("aws-prod").settings == {"profile": "prod", "region": WEST}
    assert config.policy_for("aws-dev") == "registry-wins" and config.policy_for("aws-prod") == "component-wins"
    assert [s.name for s in config.syncs] == config.component_names   # a sync per component by default

    from functions_tui.app.adapters import adapter_settings
    assert adapter_settings("gcp-eu", config)["locations"] == ("europe-west1",)
    assert adapter_settings("docker", config)["base_url"] == "ssh://builder"
    # The environment points the default instances only: a named one says where it is.
    assert adapter_settings("aws-dev", config)["region"] == EAST


@pytest.mark.parametrize("text, message", [
    ("components:\n  aws-x: {kind: azure}\n", "config.yaml:2: components.aws-x.kind: 'azure' is not one of"),
    ("components:\n  aws-x: {region: x}\n", "config.yaml:2: components.aws-x.kind: required field is missing"),
    ("components:\n  aws-x: {kind: aws, project: p}\n",
     "config.yaml:2: components.aws-x.project: unknown field (known: endpoint, kind, profile, region, role)"),
    ("components:\n  AWS_Prod: {kind: aws}\n", "config.yaml:2: components.AWS_Prod: an instance name is lowercase"),
    ("components:\n  aws-x: {kind: aws}\npolicies:\n  aws: ask\n", "config.yaml:4: policies.aws: unknown field"),
    ("components:\n  aws-x: {kind: aws}\naws:\n  region: eu-west-1\n",
     "config.yaml:4: aws: settings for the default aws instance, but components: names no aws instance"),
])
def test_a_bad_components_block_names_the_line_and_the_fix(tmp_path, text, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(Exception) as info:
        parse_config(path)
    assert message in str(info.value)


# --- a fourth kind: one module and its registration ---------------------------------------------

@pytest.fixture
def example_kind():
    kinds.register(kind_example.KIND)
    kind_example.PLACES.clear()
    yield kind_example
    kinds.unregister(kind_example.KIND.name)
    kind_example.PLACES.clear()


def test_a_new_kind_is_one_module_and_its_registration(tmp_path, example_kind):
    home = tmp_path / "home"
    write_yaml(home / "config.yaml", {"components": {"shelf-a": {"kind": "example"},
                                                     "shelf-b": {"kind": "example", "shelf": "b"}}})
    src = make_function(tmp_path / "src", "hello", memory=128, targets={"shelf-a": {}, "shelf-b": {"shelf": "top"}})
    service = SyncService(home=home)
    service.add(src)
    assert service.component_names() == ["shelf-a", "shelf-b"]
    assert service.config.policy_for("shelf-a") == "registry-wins"   # the kind's default

    result = service.apply(service.plan())
    assert not result.failed and len(result.results) == 2   # created on both shelves
    plan = service.plan()
    assert {(s.component, s.state) for s in plan.statuses} == {("shelf-a", State.IN_SYNC), ("shelf-b", State.IN_SYNC)}
    assert set(example_kind.PLACES) == {"shelf-a", "shelf-b"}
    # Its limits are checked at add like any provider's.
    bad = make_function(tmp_path / "bad", "big", memory=4096, targets={"shelf-a": {}})
    with pytest.raises(Exception, match="memory: 4096 MB is outside what shelf-a"):
        service.add(bad)


def test_the_default_config_file_is_written_from_the_kinds(tmp_path, example_kind):
    """A new kind is configured like the others in a fresh config.yaml: its policy, conflicts
    setting, named sync and its default instance's settings, from its own module."""
    from functions_tui.app.config import default_text

    text = default_text()
    assert "  example: registry-wins\n" in text.split("conflicts:")[0]
    assert "  - name: example\n    components: [example]" in text
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text(text)
    config = parse_config(home / "config.yaml")
    assert [s.name for s in config.syncs] == list(kinds.kinds())   # one named sync per kind, in order
    assert config.policy_for("example") == "registry-wins" and config.policy_for("docker") == "ask"


# --- two AWS instances: two regions of one moto server ------------------------------------------

@pytest.fixture
def two_regions(tmp_path, aws_clean):
    home = tmp_path / "home"
    env = cli_env(home, **aws_clean.handle.env())
    write_yaml(home / "config.yaml", {"components": {
        "aws-east": {"kind": "aws", "region": EAST, "role": aws_clean.role_arn},
        "aws-west": {"kind": "aws", "region": WEST, "role": aws_clean.role_arn}}})
    make_function(tmp_path / "src", "alpha", memory=128, targets={"aws-east": {}, "aws-west": {}})
    make_function(tmp_path / "src", "beta", memory=128, targets={"aws-west": {}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    first = run_cli("--sync", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    return home, env, aws_clean


def _functions(backend, region: str) -> dict[str, int]:
    listed = aws_cli(backend, "lambda", "list-functions", "--region", region)["Functions"]
    return {f["FunctionName"]: f["MemorySize"] for f in listed}


def test_one_function_on_two_instances_each_a_component(two_regions):
    home, env, aws = two_regions
    assert _functions(aws, EAST) == {"alpha": 128}
    assert _functions(aws, WEST) == {"alpha": 128, "beta": 128}

    status = run_cli("status", "--json", env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    doc = json.loads(status.stdout)
    assert set(doc["components"]) == {"aws-east", "aws-west"}
    table = run_cli("status", env=env).stdout
    assert "aws-east" in table and "aws-west" in table


def test_drift_on_one_instance_is_that_instances_only(two_regions):
    home, env, aws = two_regions
    aws_cli(aws, "lambda", "update-function-configuration", "--function-name", "alpha", "--memory-size", "512",
            "--region", WEST)
    dry = run_cli("--sync", "--dry-run", "--json", env=env)
    assert dry.returncode == 2, dry.stdout + dry.stderr
    states = {(s["function"], s["component"]): s["state"] for s in json.loads(dry.stdout)["statuses"]}
    assert states == {("alpha", "aws-east"): "in_sync", ("alpha", "aws-west"): "drifted",
                      ("beta", "aws-west"): "in_sync"}
    # component-wins (the kind's default): pulled from aws-west, then pushed to aws-east.
    assert run_cli("--sync", env=env).returncode == 0
    assert _functions(aws, EAST) == {"alpha": 512}
    assert run_cli("--sync", "--dry-run", env=env).returncode == 0


def test_an_outage_of_one_instance_is_unknown_there_and_the_other_syncs(two_regions, tmp_path):
    home, env, aws = two_regions
    config = (home / "config.yaml").read_text()
    # aws-west now points at an endpoint nobody answers on (a network cut to that region).
    write_yaml(home / "config.yaml", {"components": {
        "aws-east": {"kind": "aws", "region": EAST, "role": aws.role_arn},
        "aws-west": {"kind": "aws", "region": WEST, "role": aws.role_arn, "endpoint": "http://127.0.0.1:9"}}})
    make_function(tmp_path / "src", "alpha", memory=256, targets={"aws-east": {}, "aws-west": {}})
    assert run_cli("add", str(tmp_path / "src" / "alpha"), env=env).returncode == 0
    run = run_cli("--sync", "--json", env=env)
    doc = json.loads(run.stdout)
    assert doc["components"]["aws-west"]["status"] in ("unknown", "unavailable"), doc["components"]
    assert _functions(aws, EAST) == {"alpha": 256}                      # the reachable one synced
    assert _functions(aws, WEST) == {"alpha": 128, "beta": 128}         # nothing touched there
    assert run.returncode != 0                                          # and the run says it was partial
    (home / "config.yaml").write_text(config)
    assert run_cli("--sync", env=env).returncode == 0
    assert _functions(aws, WEST)["alpha"] == 256


def test_a_kinds_name_in_targets_means_its_only_instance_and_is_refused_when_ambiguous(tmp_path, aws_clean):
    home = tmp_path / "home"
    env = cli_env(home, **aws_clean.handle.env())
    write_yaml(home / "config.yaml", {"components": {"aws-prod": {"kind": "aws", "region": EAST}}})
    make_function(tmp_path / "one", "alpha", targets={"aws": {}})
    assert run_cli("add", str(tmp_path / "one"), env=env).returncode == 0
    from functions_tui.registry.store import RegistryStore
    assert list(RegistryStore(home / "registry.json").find("alpha").spec.targets) == ["aws-prod"]

    write_yaml(home / "config.yaml", {"components": {"aws-prod": {"kind": "aws", "region": EAST},
                                                     "aws-dev": {"kind": "aws", "region": WEST}}})
    path = make_function(tmp_path / "two", "beta", targets={"aws": {}})
    done = run_cli("add", str(tmp_path / "two"), env=env)
    assert done.returncode == 1
    assert one_line_error(done.stderr).startswith(f"functions-tui: error: {path}:")
    assert "targets.aws: unknown field (known: aws-dev, aws-prod)" in done.stderr


def test_a_registry_of_todays_shape_moves_to_named_instances_without_loss(tmp_path, aws_clean):
    """A registry that synced to ``aws`` (one instance per kind, the default), then a
    config.yaml naming that account's region ``aws-prod``: the functions are aws-prod's, in
    sync there, and nothing reads as dangling (which gc would delete)."""
    home = tmp_path / "home"
    env = cli_env(home, **aws_clean.handle.env())
    write_yaml(home / "config.yaml", {"aws": {"role": aws_clean.role_arn}})
    make_function(tmp_path / "src", "alpha", memory=128, targets={"aws": {}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    assert run_cli("--sync", "aws", env=env).returncode == 0
    before = json.loads((home / "registry.json").read_text())

    write_yaml(home / "config.yaml", {"components": {"aws-prod": {"kind": "aws", "region": EAST,
                                                                  "role": aws_clean.role_arn}}})
    dry = run_cli("--sync", "--dry-run", "--json", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert [(s["function"], s["component"], s["state"]) for s in json.loads(dry.stdout)["statuses"]] == [
        ("alpha", "aws-prod", "in_sync")]
    gc = run_cli("gc", "--yes", env=env)
    assert gc.returncode == 0 and _functions(aws_clean, EAST) == {"alpha": 128}

    from functions_tui.registry.store import RegistryStore
    store = RegistryStore(home / "registry.json")
    record = store.find("alpha")
    assert list(record.spec.targets) == ["aws-prod"] and list(record.components) == ["aws-prod"]
    assert record.components["aws-prod"].base is not None                    # the base came along
    assert "component renamed: aws -> aws-prod" in [h.action for h in store.history("alpha")]
    assert before["functions"] != json.loads((home / "registry.json").read_text())["functions"]


def test_several_instances_of_a_kind_with_none_named_as_it_is_refused_until_one_is(tmp_path, aws_clean):
    home = tmp_path / "home"
    env = cli_env(home, **aws_clean.handle.env())
    write_yaml(home / "config.yaml", {"aws": {"role": aws_clean.role_arn}})
    make_function(tmp_path / "src", "alpha", memory=128, targets={"aws": {}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    before = (home / "registry.json").read_bytes()
    write_yaml(home / "config.yaml", {"components": {"aws-east": {"kind": "aws", "region": EAST},
                                                     "aws-west": {"kind": "aws", "region": WEST}}})
    done = run_cli("status", env=env)
    assert done.returncode == 1
    assert "the registry has functions on aws" in done.stderr and "none called aws" in done.stderr
    assert (home / "registry.json").read_bytes() == before


# --- two GCP projects on the emulator ----------------------------------------------------------

def test_two_gcp_projects_are_two_components_each_with_its_own_drift(tmp_path, fresh_gcp):
    """gcp-a and gcp-b: two projects of one Cloud Functions endpoint. One function on both;
    a change made in project b with Google's own client is drift there only."""
    from google.cloud import functions_v2
    from google.protobuf import field_mask_pb2

    home = tmp_path / "home"
    env = cli_env(home)
    write_yaml(home / "config.yaml", {"components": {
        "gcp-a": {"kind": "gcp", "project": "project-a", "endpoint": fresh_gcp.endpoint},
        "gcp-b": {"kind": "gcp", "project": "project-b", "endpoint": fresh_gcp.endpoint}}})
    make_function(tmp_path / "src", "alpha", memory=256, targets={"gcp-a": {}, "gcp-b": {}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    first = run_cli("--sync", env=env)
    assert first.returncode == 0, first.stdout + first.stderr

    client = fresh_gcp.client()
    names = sorted(f.name for project in ("project-a", "project-b")
                   for f in client.list_functions(parent=f"projects/{project}/locations/-"))
    assert names == ["projects/project-a/locations/us-central1/functions/alpha",
                     "projects/project-b/locations/us-central1/functions/alpha"]
    client.update_function(
        function=functions_v2.Function(name=names[1], service_config=functions_v2.ServiceConfig(
            available_memory="512M")),
        update_mask=field_mask_pb2.FieldMask(paths=["service_config.available_memory"])).result(timeout=10)

    dry = run_cli("--sync", "--dry-run", "--json", env=env)
    assert dry.returncode == 2, dry.stdout + dry.stderr
    states = {s["component"]: s["state"] for s in json.loads(dry.stdout)["statuses"]}
    assert states == {"gcp-a": "in_sync", "gcp-b": "drifted"}


# --- two Docker engines ------------------------------------------------------------------------

@pytest.fixture
def second_engine(tmp_path, docker_backend):
    """A second private dockerd beside the session's: another host a user's functions run on."""
    from functions_tui.components.local_backends.dockerd import start_dockerd

    engine = start_dockerd(tmp_path / "dockerd-b")
    try:
        yield engine
    finally:
        engine.stop()


@pytest.mark.docker
def test_two_docker_engines_are_two_components_each_with_its_own_drift(tmp_path, docker_clean, second_engine):
    from tests.provider_clis import docker as docker_cli

    home = tmp_path / "home"
    env = cli_env(home)
    write_yaml(home / "config.yaml", {"components": {"docker-a": {"kind": "docker", "host": docker_clean.host},
                                                     "docker-b": {"kind": "docker", "host": second_engine.host}}})
    make_function(tmp_path / "src", "alpha", memory=64, targets={"docker-a": {}, "docker-b": {}})
    assert run_cli("add", str(tmp_path / "src"), env=env).returncode == 0
    first = run_cli("--sync", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    for engine in (docker_clean, second_engine):
        assert "functions-tui-alpha" in docker_cli(engine, "ps", "--format", "{{.Names}}")

    docker_cli(second_engine, "stop", "functions-tui-alpha")   # someone stopped it on host b
    dry = run_cli("--sync", "--dry-run", "--json", env=env)
    states = {s["component"]: s["state"] for s in json.loads(dry.stdout)["statuses"]}
    assert states == {"docker-a": "in_sync", "docker-b": "drifted"}, dry.stdout


def test_a_config_given_to_the_service_names_the_components_too(tmp_path):
    config = parse_config(write_yaml(tmp_path / "config.yaml", {"components": {"aws-dev": {"kind": "aws"},
                                                                               "laptop": {"kind": "docker"}}}))
    service = SyncService(home=tmp_path / "home", config=config)
    assert service.component_names() == ["aws-dev", "laptop"]
    assert kinds.component_names() == ("aws-dev", "laptop")          # what the engine asks
    assert kinds.kind_of("laptop").name == "docker" and kinds.default_state("laptop") == "running"
