"""Writing pulled values back into function.yaml / functions.yaml (app.writeback): only the
value's text changes; everything else stays byte for byte. Real files in tmp_path, read back
through the real declaration reader."""

from __future__ import annotations

import copy
import os
import stat
from pathlib import Path

from functions_tui.app.declarations import load_declarations
from functions_tui.app.writeback import declaration_behind, updated_snapshot, write_back
from functions_tui.registry.models import FunctionSpec

ENV: dict[str, str] = {}   # the environment the declarations see: nothing from the machine's

COMMENTED = """\
# the hello function: greets people
name: hello          # lowercase, digits, - and _
runtime: "python3.11"
entry_point: 'main'
memory: 128          # MB, keep it small
timeout: 30

# secrets come from the environment
env:
  GREETING: "hi"     # shown on the page
  # LEVEL is read by the logger
  LEVEL: info
labels: {team: web, tier: 'gold'}
targets:
  docker: {port: 8080}
  gcp:
    region: europe-west1   # closest to users
"""


def declare(tmp_path: Path, text: str, filename: str = "function.yaml", folder: str = "fn") -> Path:
    root = tmp_path / folder
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text("def main(event, context):\n    return 'ok'\n")
    path = root / filename
    path.write_bytes(text.encode())
    return path


def read(path: Path, name: str, environ: dict[str, str] | None = None) -> FunctionSpec:
    """The function as `functions-tui add` reads it (snapshot included)."""
    return next(s for s in load_declarations(path, dict(environ or ENV)) if s.name == name)


def pull(spec: FunctionSpec, *pulls: tuple[str, list[str]], kind: str = "pull", environ=None):
    """Write ``spec``'s values back for the given (component, fields) pulls."""
    report = write_back([(spec, [(component, kind, fields) for component, fields in pulls])],
                        dict(ENV if environ is None else environ))
    return report.functions.get(spec.name), report


def only_replaced(original: str, old: str, new: str) -> str:
    assert original.count(old) == 1, old
    return original.replace(old, new)


# --- scalars ----------------------------------------------------------------------------------------

def test_memory_change_rewrites_only_its_digits(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    spec.memory = 512
    outcome, report = pull(spec, ("gcp", ["memory"]))
    assert report.warnings == []
    assert path.read_text() == only_replaced(COMMENTED, "memory: 128   ", "memory: 512   ")
    assert outcome.written == [("memory",)] and outcome.settled == {("memory",): 512}
    assert read(path, "hello").memory == 512


def test_quoted_strings_keep_their_quotes(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    spec.runtime = "python3.12"
    spec.entry_point = "handler"
    spec.env["GREETING"] = "hello there"
    spec.labels["tier"] = "silver"
    _, report = pull(spec, ("gcp", ["runtime", "entry_point", "env.GREETING", "labels.tier"]))
    assert report.warnings == []
    expected = only_replaced(COMMENTED, 'runtime: "python3.11"', 'runtime: "python3.12"')
    expected = only_replaced(expected, "entry_point: 'main'", "entry_point: 'handler'")
    expected = only_replaced(expected, 'GREETING: "hi"', 'GREETING: "hello there"')
    expected = only_replaced(expected, "tier: 'gold'", "tier: 'silver'")
    assert path.read_text() == expected
    again = read(path, "hello")
    assert (again.runtime, again.entry_point, again.env["GREETING"], again.labels["tier"]) == \
        ("python3.12", "handler", "hello there", "silver")


def test_a_plain_value_stays_plain_and_a_new_one_is_quoted_only_when_yaml_needs_it(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    spec.env["LEVEL"] = "debug"
    spec.env["WORKERS"] = "8080"       # would read as a number: quoted
    spec.env["MODE"] = "fast"          # plain is fine
    spec.env["NOTE"] = "a: b # c"      # would not parse plain: quoted
    _, report = pull(spec, ("gcp", ["env"]))
    assert report.warnings == []
    text = path.read_text()
    assert "  LEVEL: debug\n" in text
    assert "  WORKERS: '8080'\n" in text and "  MODE: fast\n" in text and "  NOTE: 'a: b # c'\n" in text
    assert read(path, "hello").env == {"GREETING": "hi", "LEVEL": "debug", "WORKERS": "8080", "MODE": "fast",
                                       "NOTE": "a: b # c"}


def test_a_dollar_is_written_escaped_so_it_reads_back_as_itself(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    spec.env["LEVEL"] = "co$t ${NOT_A_VAR}"
    _, report = pull(spec, ("gcp", ["env.LEVEL"]))
    assert report.warnings == []
    assert read(path, "hello").env["LEVEL"] == "co$t ${NOT_A_VAR}"


# --- env keys added and removed ------------------------------------------------------------------------

def test_env_key_added_into_the_existing_block(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    spec.env["API_URL"] = "https://api.example.com/v1"
    _, report = pull(spec, ("gcp", ["env.API_URL"]))
    assert report.warnings == []
    assert path.read_text() == only_replaced(
        COMMENTED, "  LEVEL: info\n", "  LEVEL: info\n  API_URL: https://api.example.com/v1\n")


def test_env_block_created_when_the_file_has_none(tmp_path):
    text = "name: hello\nruntime: python3.11   # runtime\ntargets:\n    gcp:\n        region: europe-west1\n"
    path = declare(tmp_path, text)
    spec = read(path, "hello")
    spec.env["TOKEN"] = "abc"
    _, report = pull(spec, ("gcp", ["env.TOKEN"]))
    assert report.warnings == []
    # A new block after the last field, indented like the file's own (4 here).
    assert path.read_text() == text + "env:\n    TOKEN: abc\n"
    assert read(path, "hello").env == {"TOKEN": "abc"}


def test_env_filled_in_when_declared_empty(tmp_path):
    text = "name: hello\nruntime: python3.11\nenv:   # none yet\nmemory: 64\n"
    path = declare(tmp_path, text)
    spec = read(path, "hello")
    spec.env["TOKEN"] = "abc"
    _, report = pull(spec, ("gcp", ["env"]))
    assert report.warnings == []
    assert path.read_text() == "name: hello\nruntime: python3.11\nenv:   # none yet\n  TOKEN: abc\nmemory: 64\n"


def test_env_key_removed_on_the_component_loses_its_line(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    del spec.env["GREETING"]
    outcome, report = pull(spec, ("gcp", ["env.GREETING"]))
    assert report.warnings == []
    assert path.read_text() == only_replaced(COMMENTED, '  GREETING: "hi"     # shown on the page\n', "")
    assert read(path, "hello").env == {"LEVEL": "info"}
    assert outcome.settled == {("env", "GREETING"): None}


def test_whole_env_pull_adds_changes_and_removes_keys(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    spec.env = {"LEVEL": "warn", "NEW": "1x"}
    outcome, report = pull(spec, ("gcp", ["env"]))
    assert report.warnings == []
    expected = only_replaced(COMMENTED, '  GREETING: "hi"     # shown on the page\n', "")
    expected = only_replaced(expected, "  LEVEL: info\n", "  LEVEL: warn\n  NEW: 1x\n")
    assert path.read_text() == expected
    assert read(path, "hello").env == {"LEVEL": "warn", "NEW": "1x"}


# --- functions.yaml ---------------------------------------------------------------------------------

MULTI = """\
# three functions, one file
variables: {REGION: eu-west-1}
functions:
  # the front door
  - name: auth
    runtime: python3.11
    memory: 128
    env:
      MODE: strict
    targets: {aws: {region: "${REGION}"}}

  - {name: api, runtime: python3.11, memory: 128, after: [auth], env: {MODE: open}, targets: {aws: {region: "${REGION}"}}}

  - name: worker      # background jobs
    runtime: python3.11
    memory: 128
    targets:
      aws: {region: "${REGION}"}
"""


def test_functions_yaml_changes_only_the_named_function(tmp_path):
    path = declare(tmp_path, MULTI, "functions.yaml")
    spec = read(path, "worker")
    spec.memory = 1024
    spec.env["MODE"] = "batch"
    spec.targets["aws"]["state"] = "active"   # the default: nothing to write
    _, report = pull(spec, ("aws", ["memory", "env.MODE", "state"]))
    assert report.warnings == []
    text = path.read_text()
    head, _, tail = MULTI.partition("  - name: worker")
    assert text.startswith(head)   # auth and api: byte for byte
    assert text[len(head):] == (
        "  - name: worker      # background jobs\n"
        "    runtime: python3.11\n"
        "    memory: 1024\n"
        "    targets:\n"
        "      aws: {region: \"${REGION}\"}\n"
        "    env:\n"
        "      MODE: batch\n")
    assert read(path, "worker").env == {"MODE": "batch"} and read(path, "worker").memory == 1024
    assert read(path, "auth").memory == 128 and read(path, "api").env == {"MODE": "open"}


def test_functions_yaml_flow_item_is_edited_inside_its_braces(tmp_path):
    path = declare(tmp_path, MULTI, "functions.yaml")
    spec = read(path, "api")
    spec.memory = 256
    spec.env = {"MODE": "closed", "EXTRA": "yes please"}
    spec.labels = {"team": "edge"}
    _, report = pull(spec, ("aws", ["memory", "env", "labels"]))
    assert report.warnings == []
    expected = only_replaced(
        MULTI,
        "  - {name: api, runtime: python3.11, memory: 128, after: [auth], env: {MODE: open}, ",
        "  - {name: api, runtime: python3.11, memory: 256, after: [auth], "
        "env: {MODE: closed, EXTRA: yes please}, ")
    expected = only_replaced(expected, 'targets: {aws: {region: "${REGION}"}}}\n\n  - name: worker',
                             'targets: {aws: {region: "${REGION}"}}, labels: {team: edge}}\n\n  - name: worker')
    assert path.read_text() == expected
    api = read(path, "api")
    assert (api.memory, api.env, api.labels) == (256, {"MODE": "closed", "EXTRA": "yes please"}, {"team": "edge"})


def test_flow_mapping_key_removed_and_an_unsafe_flow_edit_is_a_warning(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    del spec.labels["team"]
    _, report = pull(spec, ("gcp", ["labels.team"]))
    assert report.warnings == []
    assert path.read_text() == only_replaced(COMMENTED, "labels: {team: web, tier: 'gold'}", "labels: {tier: 'gold'}")

    text = "name: hello\nruntime: python3.11\nlabels: {\n  team: web,  # owners\n  tier: gold\n}\n"
    path = declare(tmp_path, text, folder="other")
    spec = read(path, "hello")
    del spec.labels["team"]
    outcome, report = pull(spec, ("gcp", ["labels.team"]))
    assert len(report.warnings) == 1 and "labels.team" in report.warnings[0] and str(path) in report.warnings[0]
    assert path.read_text() == text
    assert outcome.written == [] and ("labels", "team") not in outcome.settled


# --- what is not rewritten ---------------------------------------------------------------------------

def test_a_variable_reference_is_not_rewritten_and_names_the_variable_never_a_secret(tmp_path):
    text = ("name: hello\nruntime: python3.11\nmemory: ${MEM}\nenv:\n  TOKEN: ${API_TOKEN}\n  LEVEL: info\n"
            "variables: {MEM: 128, API_TOKEN: old-token}\n")
    path = declare(tmp_path, text)
    spec = read(path, "hello")
    spec.memory = 512
    spec.env["TOKEN"] = "n3w-s3cret-t0ken"
    spec.env["LEVEL"] = "debug"
    outcome, report = pull(spec, ("gcp", ["memory", "env.TOKEN", "env.LEVEL"]))
    assert path.read_text() == only_replaced(text, "LEVEL: info", "LEVEL: debug")   # only the plain value
    assert report.warnings == [
        f"hello: memory: set MEM=512 (or edit {path}:3)",
        f"hello: env.TOKEN: set API_TOKEN to the new value (a secret: not shown) (or edit {path}:5)",
    ]
    # The snapshot keeps what the file says, so the function shows its declaration behind.
    spec.declared = updated_snapshot(spec.declared, outcome)
    assert spec.declared["memory"] == 128
    behind = declaration_behind(spec, ENV)
    assert behind == [f"memory: set MEM=512 (declared as ${{MEM}} at {path}:3)",
                      f"env.TOKEN: set API_TOKEN to the registry's value (a secret: not shown) "
                      f"(declared as ${{API_TOKEN}} at {path}:5)"]
    assert "n3w-s3cret-t0ken" not in repr((report.warnings, behind, outcome.settled))
    assert "old-token" not in repr((report.warnings, behind))


def test_a_read_only_file_is_a_warning_and_stays_unchanged(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    path.chmod(0o444)
    try:
        spec.memory = 512
        spec.timeout = 90
        outcome, report = pull(spec, ("gcp", ["memory", "timeout"]))
        assert report.warnings == [f"hello: memory, timeout not written back: {path} is read-only"]
        assert path.read_text() == COMMENTED and stat.S_IMODE(path.stat().st_mode) == 0o444
        assert outcome.written == [] and outcome.settled == {}   # the snapshot keeps what the file says
        spec.declared = updated_snapshot(spec.declared, outcome)
        assert declaration_behind(spec, ENV) == [f"memory: {path} is read-only", f"timeout: {path} is read-only"]
    finally:
        path.chmod(0o644)


def test_a_file_gone_or_no_longer_declaring_the_function_is_a_warning(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    spec.memory = 512
    path.unlink()
    _, report = pull(spec, ("gcp", ["memory"]))
    assert report.warnings == [f"hello: the declaration was not updated: {path} is gone"]
    renamed = COMMENTED.replace("name: hello ", "name: howdy ")
    path.write_text(renamed)
    _, report = pull(spec, ("gcp", ["memory"]))
    assert report.warnings == [f"hello: the declaration was not updated: {path} no longer declares hello"]
    assert path.read_text() == renamed


def test_a_value_edited_in_the_file_since_it_was_read_is_not_overwritten(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    edited = COMMENTED.replace("memory: 128", "memory: 2048")
    path.write_text(edited)  # the user's edit, not yet `add`ed
    spec.memory = 512        # meanwhile a pull took 512
    outcome, report = pull(spec, ("gcp", ["memory"]))
    assert path.read_text() == edited
    assert len(report.warnings) == 1 and "was edited since it was last read" in report.warnings[0]
    assert ("memory",) not in outcome.settled


def test_state_goes_to_the_target_and_code_digest_is_never_written(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    spec.targets["docker"]["state"] = "stopped"
    spec.targets["gcp"]["state"] = "active"
    spec.code_digest = "sha256:" + "0" * 64
    outcome, report = pull(spec, ("docker", ["state", "code_digest"]), ("gcp", ["state"]))
    assert report.warnings == []
    assert path.read_text() == only_replaced(COMMENTED, "docker: {port: 8080}", "docker: {port: 8080, state: stopped}")
    assert outcome.settled == {("targets", "docker", "state"): "stopped", ("targets", "gcp", "state"): "active"}
    # A state the declaration cannot hold is a warning, not a broken file.
    spec.targets["gcp"]["state"] = "failed"
    _, report = pull(spec, ("gcp", ["state"]))
    assert len(report.warnings) == 1 and "'failed' cannot be declared" in report.warnings[0]


def test_adopt_into_a_declared_function_declares_the_new_target(tmp_path):
    text = "name: hello\nruntime: python3.11\ntargets:\n  gcp:\n    region: europe-west1\n"
    path = declare(tmp_path, text)
    spec = read(path, "hello")
    spec.targets["aws"] = {"region": "eu-west-1"}
    _, report = pull(spec, ("aws", []), kind="adopt")
    assert report.warnings == []
    assert path.read_text() == text + "  aws:\n    region: eu-west-1\n"
    assert read(path, "hello").targets["aws"] == {"region": "eu-west-1"}


# --- the file itself -----------------------------------------------------------------------------------

def test_the_write_is_atomic_and_keeps_mode_and_line_endings(tmp_path):
    crlf = COMMENTED.replace("\n", "\r\n")
    path = declare(tmp_path, crlf)
    path.chmod(0o640)
    spec = read(path, "hello")
    spec.memory = 64
    spec.env["NEW"] = "x"
    _, report = pull(spec, ("gcp", ["memory", "env.NEW"]))
    assert report.warnings == []
    expected = only_replaced(crlf, "memory: 128 ", "memory: 64 ")
    expected = only_replaced(expected, "  LEVEL: info\r\n", "  LEVEL: info\r\n  NEW: x\r\n")
    assert path.read_bytes() == expected.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".function.yaml.")]   # no temp left


def test_nothing_to_write_leaves_the_file_untouched(tmp_path):
    path = declare(tmp_path, COMMENTED)
    before = path.stat().st_mtime_ns, path.stat().st_ino
    spec = read(path, "hello")
    outcome, report = pull(spec, ("gcp", []))   # everything pulled, all equal already
    assert report.warnings == [] and outcome.written == []
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before
    assert outcome.settled[("memory",)] == 128


def test_a_record_without_a_snapshot_gets_one_from_the_file(tmp_path):
    path = declare(tmp_path, COMMENTED)
    spec = read(path, "hello")
    old = copy.deepcopy(spec)
    old.declared = {}       # registered by an older version
    old.memory = 512
    outcome, report = pull(old, ("gcp", ["memory"]))
    assert report.warnings == []
    snapshot = updated_snapshot({}, outcome)
    assert snapshot == {**spec.declared, "memory": 512}
    assert os.path.exists(path) and read(path, "hello").memory == 512


def test_a_state_for_a_target_the_file_lacks_declares_the_target(tmp_path):
    text = "name: hello\nruntime: python3.11\ntargets:\n  gcp: {region: europe-west1}\n"
    path = declare(tmp_path, text)
    spec = read(path, "hello")
    spec.targets["docker"] = {"port": 8080, "state": "stopped"}   # e.g. `deploy --to docker`, then a pull
    _, report = pull(spec, ("docker", ["state"]))
    assert report.warnings == []
    assert path.read_text() == text + "  docker:\n    port: 8080\n    state: stopped\n"
    assert read(path, "hello").targets["docker"] == {"port": 8080, "state": "stopped"}


# --- a target named by its kind ------------------------------------------------------------------

#: targets name the laptop's engine by its kind (config.yaml calls it laptop, its only docker).
KIND_NAMED = """\
name: hello
runtime: python3.11
targets:
  docker:            # the laptop's engine
    port: 8080
  aws: {}
"""


def _instances(*named: tuple[str, str]) -> None:
    """The components config.yaml would name: (instance, kind) pairs."""
    from functions_tui.registry import kinds

    kinds.use_instances([kinds.Instance(name, kinds.kinds()[kind]) for name, kind in named])


def test_a_target_the_file_names_by_its_kind_is_written_under_that_name(tmp_path):
    _instances(("laptop", "docker"), ("aws", "aws"))
    path = declare(tmp_path, KIND_NAMED)
    spec = read(path, "hello")
    assert list(spec.targets) == ["laptop", "aws"]
    spec.targets["laptop"]["state"] = "stopped"
    outcome, report = pull(spec, ("laptop", ["state"]))
    assert report.warnings == []
    assert path.read_text() == only_replaced(KIND_NAMED, "    port: 8080\n", "    port: 8080\n    state: stopped\n")
    assert outcome.written == [("targets", "laptop", "state")]
    assert outcome.settled == {("targets", "laptop", "state"): "stopped"}
    assert read(path, "hello").targets["laptop"] == {"port": 8080, "state": "stopped"}
    # Adopted there again (the file must declare the target): it does, as docker:, so no
    # second entry; and a record without a snapshot takes the state under laptop, as add would.
    again = read(path, "hello")
    declared = again.declared
    again.declared = {}
    outcome, report = pull(again, ("laptop", []), kind="adopt")
    assert report.warnings == [] and outcome.written == []
    assert path.read_text().count("docker:") == 1 and "laptop:" not in path.read_text()
    assert outcome.base["targets_state"] == declared["targets_state"] == {"laptop": "stopped", "aws": "active"}


def test_a_kind_name_that_no_longer_says_which_instance_is_not_written_under(tmp_path):
    _instances(("laptop", "docker"), ("aws", "aws"))
    path = declare(tmp_path, KIND_NAMED)
    spec = read(path, "hello")
    # config.yaml now names a second engine: docker: could be either, so the file is left alone
    _instances(("laptop", "docker"), ("builder", "docker"), ("aws", "aws"))
    spec.targets["laptop"]["state"] = "stopped"
    outcome, report = pull(spec, ("laptop", ["state"]), ("laptop", []))
    assert path.read_text() == KIND_NAMED
    assert outcome.written == []
    assert report.warnings == [
        f"hello: targets.laptop.state: not written back: {path}:4 names docker:, which is not one instance now "
        "that config.yaml names several of that kind; write laptop: there to have it kept"]
