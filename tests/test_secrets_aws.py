"""No secret at rest in clear, end to end: the real ``functions-tui`` command (a subprocess, as
a user or cron runs it) against AWS Lambda on moto's server, out-of-band changes made with plain
boto3. After add, deploy, a pull of a value changed in the console, history, info and a
restore, no file under the config dir holds an env value (nor its old unsalted hash)."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import orjson

from functions_tui.registry import secrets
from functions_tui.registry.secrets import legacy_hash
from tests.cli_helpers import cli_env, make_function, one_line_error, run_cli, write_yaml

LITERAL = "literal-s3cret-written-in-function-yaml"
FROM_ENV = "token-from-the-environment-xyz"
CONSOLE = "changed-in-the-console-9f8e7d"


def every_file(home: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def assert_no_secret_under(home: Path, *values: str) -> None:
    files = every_file(home)
    assert home / "registry.json" in files and home / "registry.key" in files
    for path, data in files.items():
        for value in values:
            assert value.encode() not in data, f"{value!r} in clear in {path}"
            assert legacy_hash(value).encode() not in data, f"the unsalted hash of {value!r} in {path}"
            assert legacy_hash(value)[2:].encode() not in data, f"the unsalted hash of {value!r} in {path}"


def setup_home(tmp_path: Path, aws, name: str = "home") -> tuple[Path, dict]:
    home = tmp_path / name
    env = cli_env(home, VAULT_TOKEN=FROM_ENV, **aws.handle.env())
    write_yaml(home / "config.yaml", {"aws": {"role": aws.role_arn}})
    return home, env


def declare(tmp_path: Path, folder: str = "src") -> Path:
    return make_function(tmp_path / folder, "vault", memory=128, targets={"aws": {}},
                         env={"API_KEY": LITERAL, "TOKEN": "${VAULT_TOKEN}", "LEVEL": "info"})


def ok(result) -> None:
    assert result.returncode == 0, result.stdout + result.stderr


def lambda_env(aws, name: str = "vault") -> dict:
    return aws.client("lambda").get_function_configuration(FunctionName=name)["Environment"]["Variables"]


def test_no_env_value_is_ever_at_rest_in_the_config_dir(tmp_path, aws_clean):
    aws = aws_clean
    home, env = setup_home(tmp_path, aws)
    declaration = declare(tmp_path)
    ok(run_cli("add", str(declaration.parent), env=env))
    ok(run_cli("--sync", "aws", env=env))
    assert lambda_env(aws) == {"API_KEY": LITERAL, "TOKEN": FROM_ENV, "LEVEL": "info"}

    stored = orjson.loads((home / "registry.json").read_bytes())
    spec_env = next(iter(stored["functions"].values()))["spec"]["env"]
    assert spec_env["TOKEN"].startswith("ref:1:k:") and spec_env["TOKEN"].endswith(":${VAULT_TOKEN}")
    assert spec_env["API_KEY"].startswith("enc:1:")

    # Changed in the console: pulled (component-wins), and shown masked, never in clear.
    aws.client("lambda").update_function_configuration(
        FunctionName="vault", Environment={"Variables": {"API_KEY": CONSOLE, "TOKEN": FROM_ENV, "LEVEL": "info"}})
    dry = run_cli("--sync", "aws", "--dry-run", "--json", env=env)
    assert dry.returncode == 2, dry.stderr
    doc = json.loads(dry.stdout)
    diffs = {d["field"]: d for s in doc["statuses"] for d in s["diffs"]}
    assert diffs["env.API_KEY"]["component"] == "•••• (changed)" and CONSOLE not in dry.stdout
    pulled = run_cli("--sync", "aws", "--json", env=env)
    ok(pulled)
    assert [(a["function"], a["kind"]) for a in json.loads(pulled.stdout)["actions"]] == [("vault", "pull")]
    assert CONSOLE in declaration.read_text()  # the declaration stays true (outside the config dir)
    ok(run_cli("--sync", "aws", env=env))  # in sync again

    history = run_cli("history", "vault", env=env)
    ok(history)
    assert "pull" in history.stdout
    info = run_cli("info", "vault", env=env)
    ok(info)
    for out in (history.stdout, info.stdout, pulled.stdout):
        assert LITERAL not in out and CONSOLE not in out and FROM_ENV not in out

    restore = run_cli("restore", "--yes", env=env)
    if restore.returncode != 0 and "unrecognized arguments" in restore.stderr:
        restore = run_cli("restore", env=env)
    ok(restore)
    restored = run_cli("info", "vault", env=env)
    ok(restored)

    assert_no_secret_under(home, LITERAL, FROM_ENV, CONSOLE)
    assert stat.S_IMODE((home / "registry.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    # What a restore put back still reads, and deploys the values it holds.
    dry = run_cli("--sync", "aws", "--dry-run", "--json", env=env)
    assert dry.returncode in (0, 2), dry.stderr

    # A copy of the registry without its key: one line naming the key file, for every command.
    elsewhere = tmp_path / "copy"
    elsewhere.mkdir(mode=0o700)
    shutil.copy2(home / "registry.json", elsewhere / "registry.json")
    shutil.copy2(home / "config.yaml", elsewhere / "config.yaml")
    copy_env = dict(env, FUNCTIONS_TUI_HOME=str(elsewhere))
    for args in (("status",), ("--sync", "aws", "--dry-run"), ("history",), ("info", "vault")):
        result = run_cli(*args, env=copy_env)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        line = one_line_error(result.stderr)
        assert str(elsewhere / "registry.key") in line and "missing" in line, line
    assert not (elsewhere / "registry.key").exists()
    shutil.copy2(home / "registry.key", elsewhere / "registry.key")
    ok(run_cli("info", "vault", env=copy_env))  # with its key it reads


def test_two_registries_hash_the_same_value_differently(tmp_path, aws_clean):
    homes = []
    for name in ("one", "two"):
        home, env = setup_home(tmp_path, aws_clean, name)
        declaration = declare(tmp_path, f"src-{name}")
        ok(run_cli("add", str(declaration.parent), env=env))
        homes.append(home)
    snapshots = []
    for home in homes:
        doc = next(iter(orjson.loads((home / "registry.json").read_bytes())["functions"].values()))
        snapshots.append(doc["spec"]["declared"]["env"])
    for key in ("API_KEY", "TOKEN", "LEVEL"):
        one, two = snapshots[0][key], snapshots[1][key]
        assert one.startswith("k:") and two.startswith("k:") and one != two
    assert (homes[0] / "registry.key").read_bytes() != (homes[1] / "registry.key").read_bytes()


def test_a_registry_with_unsalted_hashes_upgrades_with_no_drift(tmp_path, aws_clean):
    """A registry as functions-tui wrote it before keyed hashes (schema 2: env values in clear,
    ``h:`` sha256 hashes in bases and snapshots, no key file): the first run after the upgrade
    plans no drift, and is saved with no value in clear when first read, old copies included."""
    aws = aws_clean
    home, env = setup_home(tmp_path, aws)
    declaration = declare(tmp_path)
    ok(run_cli("add", str(declaration.parent), env=env))
    ok(run_cli("--sync", "aws", env=env))
    plain = {"API_KEY": LITERAL, "TOKEN": FROM_ENV, "LEVEL": "info"}
    path = home / "registry.json"
    tables = orjson.loads(path.read_bytes())
    keys = secrets.RegistryKeys(path)
    to_legacy = {keys.hash(v): legacy_hash(v) for v in plain.values()}
    meta = tables["meta"]["1"]
    meta["schema"] = 2
    del meta["key"]
    for doc in tables["functions"].values():
        doc["spec"]["env"] = dict(plain)
        doc["spec"]["declared"]["env"] = {k: to_legacy[v] for k, v in doc["spec"]["declared"]["env"].items()}
        for comp in doc["components"].values():
            if type(comp["base"]) is dict:
                comp["base"]["env"] = {k: to_legacy[v] for k, v in comp["base"]["env"].items()}
    old = orjson.dumps(tables)
    assert b'"h:' in old and LITERAL.encode() in old
    path.write_bytes(old)
    (home / "registry.key").unlink()
    shutil.rmtree(home / "generations", ignore_errors=True)
    (home / "registry.json.bak").write_bytes(old)  # the old version's one backup

    dry = run_cli("--sync", "aws", "--dry-run", "--json", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    doc = json.loads(dry.stdout)
    assert [(s["function"], s["state"]) for s in doc["statuses"]] == [("vault", "in_sync")]
    assert {a["kind"] for a in doc["actions"]} <= {"rebase"}
    # The one write a read makes: a registry holding secrets in clear is saved encrypted the
    # first time it is read (its old backup too), values and serial unchanged otherwise.
    new = orjson.loads(path.read_bytes())
    assert new["meta"]["1"]["schema"] == 3 and new["meta"]["1"]["serial"] == meta["serial"] + 1
    assert_no_secret_under(home, LITERAL, FROM_ENV)

    ok(run_cli("--sync", "aws", env=env))
    new = orjson.loads(path.read_bytes())
    assert new["meta"]["1"]["schema"] == 3 and new["meta"]["1"]["key"]
    assert b'"h:' not in path.read_bytes()
    assert_no_secret_under(home, LITERAL, FROM_ENV)
    again = run_cli("--sync", "aws", "--dry-run", "--json", env=env)
    assert again.returncode == 0 and json.loads(again.stdout)["actions"] == [], again.stdout + again.stderr
    assert lambda_env(aws) == plain


def test_a_reference_whose_variable_is_not_set_here_is_compared_never_deployed(tmp_path, aws_clean):
    aws = aws_clean
    home, env = setup_home(tmp_path, aws)
    declaration = declare(tmp_path)
    ok(run_cli("add", str(declaration.parent), env=env))
    ok(run_cli("--sync", "aws", env=env))
    unset = {k: v for k, v in env.items() if k != "VAULT_TOKEN"}
    dry = run_cli("--sync", "aws", "--dry-run", "--json", env=unset)
    assert dry.returncode == 0, dry.stdout + dry.stderr  # compared by the hash of its last value
    assert json.loads(dry.stdout)["actions"] == []

    aws.client("lambda").update_function_configuration(
        FunctionName="vault", Environment={"Variables": {"API_KEY": LITERAL, "TOKEN": CONSOLE, "LEVEL": "info"}})
    push = run_cli("sync", "aws", "--push", env=unset)  # the registry's TOKEN wins: it must be resolved
    assert push.returncode == 1, push.stdout + push.stderr
    assert "env.TOKEN is declared as a reference to $VAULT_TOKEN, which is not set here" in push.stdout + push.stderr
    assert lambda_env(aws)["TOKEN"] == CONSOLE  # nothing half-deployed
    ok(run_cli("sync", "aws", "--push", env=env))  # with the variable set it deploys its value
    assert lambda_env(aws)["TOKEN"] == FROM_ENV
    assert_no_secret_under(home, LITERAL, FROM_ENV, CONSOLE)
