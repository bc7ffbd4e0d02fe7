"""No secret at rest in clear (registry.secrets): env values encrypted in the registry file,
``${VAR}`` kept as references, history without values, keyed hashes, the key outside the
registry file, and the upgrade from registries written with unsalted hashes.

In-process, with the real store and engine and in-memory components; tests/test_secrets_aws.py
runs the real CLI against moto."""

from __future__ import annotations

import copy
import hashlib
import os
import stat
import sys
import types
from pathlib import Path

import orjson
import pytest

from functions_tui.app.service import SyncService
from functions_tui.registry import secrets
from functions_tui.registry.classify import classify, forget_env_hashes
from functions_tui.registry.component import ApplyError, ObservedFunction
from functions_tui.registry.fingerprint import hash_matches, hash_value, spec_fingerprint
from functions_tui.registry.history import changes
from functions_tui.registry.models import ComponentRecord, FunctionRecord, FunctionSpec
from functions_tui.registry.plan import build_plan
from functions_tui.registry.plan_types import ActionKind, Policy, State
from functions_tui.registry.secrets import EnvRef, MissingKeyError, RegistryKeys, WrongKeyError, legacy_hash
from functions_tui.registry.store import RegistryStore
from tests.engine_helpers import deployed, make_spec
from tests.memory_component import MemoryComponent

SECRET = "correct-horse-battery-staple"
REF_SECRET = "ref-value-from-the-environment"


@pytest.fixture(autouse=True)
def _fresh_keys(monkeypatch):
    monkeypatch.delenv("FUNCTIONS_TUI_KEYRING", raising=False)
    monkeypatch.delenv("SECRETS_TEST_TOKEN", raising=False)
    secrets.forget_keys()
    forget_env_hashes()
    yield
    secrets.forget_keys()


def all_bytes(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_nothing_in_clear(folder: Path, *values: str) -> None:
    """No file under ``folder`` holds any of ``values``, nor their old unsalted hashes."""
    files = all_bytes(folder)
    assert files
    for path, data in files.items():
        for value in values:
            assert value.encode() not in data, f"{value!r} in clear in {path}"
            assert legacy_hash(value).encode() not in data, f"unsalted hash of {value!r} in {path}"


def spec_with_env(name: str = "hello", **env) -> FunctionSpec:
    return make_spec(name, env=dict(env) or {"API_KEY": SECRET, "LOG_LEVEL": "info"})


def put(store: RegistryStore, *records: FunctionRecord, source: str = "user") -> None:
    with store.transaction(source) as txn:
        for record in records:
            txn.put(record)


# --- the key ------------------------------------------------------------------------------------

def test_the_key_is_made_on_first_use_0600_in_a_0700_folder_and_named_by_the_registry(tmp_path):
    home = tmp_path / "home"
    store = RegistryStore(home / "registry.json")
    assert not (home / "registry.key").exists()  # nothing made before it is needed
    put(store, FunctionRecord(spec=spec_with_env()))
    key = home / "registry.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    meta = orjson.loads(store.path.read_bytes())["meta"]["1"]
    assert meta["key"] == store.keys.key_id == orjson.loads(key.read_bytes())["id"]
    assert SECRET.encode() not in store.path.read_bytes()


def test_a_widened_key_file_is_tightened_again(tmp_path):
    store = RegistryStore(tmp_path / "registry.json")
    put(store, FunctionRecord(spec=spec_with_env()))
    key = tmp_path / "registry.key"
    os.chmod(key, 0o644)
    secrets.forget_keys()
    assert RegistryStore(store.path).load().functions["hello"].spec.env["API_KEY"] == SECRET
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_hashes_are_keyed_and_differ_between_two_registries(tmp_path):
    one = RegistryStore(tmp_path / "one" / "registry.json")
    two = RegistryStore(tmp_path / "two" / "registry.json")
    for store in (one, two):
        put(store, FunctionRecord(spec=spec_with_env(), components={"gcp": ComponentRecord(
            "gcp", base=None)}))
    a, b = one.keys.hash(SECRET), two.keys.hash(SECRET)
    assert a.startswith("k:") and b.startswith("k:") and a != b
    assert a != "k:" + hashlib.sha256(SECRET.encode()).hexdigest()[:16]
    assert one.keys.hash(SECRET) == a  # stable
    # The fingerprint follows the registry being worked with.
    one.load()
    fp_one = spec_fingerprint(spec_with_env(), "gcp")["env"]["API_KEY"]
    two.load()
    fp_two = spec_fingerprint(spec_with_env(), "gcp")["env"]["API_KEY"]
    assert (fp_one, fp_two) == (a, b)


def test_the_keyed_hash_is_hmac_sha256_under_the_key_files_secret(tmp_path):
    import base64
    import hmac

    store = RegistryStore(tmp_path / "registry.json")
    material = orjson.loads(_key_bytes(store))
    secret = base64.urlsafe_b64decode(material["hmac_key"] + "=" * (-len(material["hmac_key"]) % 4))
    expected = "k:" + hmac.new(secret, SECRET.encode(), hashlib.sha256).hexdigest()[:16]
    assert store.keys.hash(SECRET) == hash_value(SECRET) == expected


def _key_bytes(store: RegistryStore) -> bytes:
    store.keys.key_id  # made on first use
    return store.keys.path.read_bytes()


def test_a_registry_without_its_key_is_one_clear_error_naming_the_key_file(tmp_path):
    store = RegistryStore(tmp_path / "a" / "registry.json")
    put(store, FunctionRecord(spec=spec_with_env()))
    copied = tmp_path / "b" / "registry.json"
    copied.parent.mkdir()
    copied.write_bytes(store.path.read_bytes())
    secrets.forget_keys()
    elsewhere = RegistryStore(copied)
    def in_transaction():
        with elsewhere.transaction("user") as txn:
            txn.get("hello")

    def plan():
        build_plan(elsewhere.load().functions, {"gcp": MemoryComponent("gcp").observe()})

    for read in (lambda: elsewhere.load().functions["hello"], elsewhere.history, in_transaction, plan):
        with pytest.raises(MissingKeyError) as caught:
            read()
        message = str(caught.value)
        assert "\n" not in message and str(copied.parent / "registry.key") in message and "missing" in message
    assert not (copied.parent / "registry.key").exists()  # never a new key for a keyed registry
    with pytest.raises(MissingKeyError):
        hash_value("anything")  # hashing for this registry makes no new key either
    assert not (copied.parent / "registry.key").exists()

    # Beside another registry's key: the ids differ, said as clearly.
    other = RegistryStore(tmp_path / "c" / "registry.json")
    put(other, FunctionRecord(spec=spec_with_env("other")))
    (copied.parent / "registry.key").write_bytes((tmp_path / "c" / "registry.key").read_bytes())
    secrets.forget_keys()
    with pytest.raises(WrongKeyError, match="another key") as caught:
        RegistryStore(copied).load()
    assert "\n" not in str(caught.value) and str(copied.parent / "registry.key") in str(caught.value)


def test_a_value_encrypted_with_another_key_is_an_error_not_garbage(tmp_path):
    store = RegistryStore(tmp_path / "a" / "registry.json")
    put(store, FunctionRecord(spec=spec_with_env()))
    token = orjson.loads(store.path.read_bytes())["functions"]["1"]["spec"]["env"]["API_KEY"]
    other = RegistryKeys(tmp_path / "b" / "registry.json")
    assert other.key_id != store.keys.key_id  # a key of its own, made here
    with pytest.raises(WrongKeyError, match="cannot be decrypted") as caught:
        other.decrypt(token)
    assert "\n" not in str(caught.value)


def test_the_os_keyring_holds_the_key_when_asked_for(tmp_path, monkeypatch):
    stored: dict[tuple[str, str], str] = {}

    class Ring:
        priority = 5

    fake = types.ModuleType("keyring")
    fake.get_keyring = lambda: Ring()
    fake.get_password = lambda service, name: stored.get((service, name))
    fake.set_password = lambda service, name, value: stored.__setitem__((service, name), value)
    backends = types.ModuleType("keyring.backends")
    fail = types.ModuleType("keyring.backends.fail")
    fail.Keyring = type("Keyring", (), {})
    backends.fail = fail
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.setitem(sys.modules, "keyring.backends", backends)
    monkeypatch.setitem(sys.modules, "keyring.backends.fail", fail)
    monkeypatch.setenv("FUNCTIONS_TUI_KEYRING", "1")
    store = RegistryStore(tmp_path / "registry.json")
    put(store, FunctionRecord(spec=spec_with_env()))
    assert not (tmp_path / "registry.key").exists() and store.keys.in_keyring
    assert [name for _, name in stored] == [f"registry:{os.path.realpath(store.path)}"]
    secrets.forget_keys()
    assert RegistryStore(store.path).load().functions["hello"].spec.env["API_KEY"] == SECRET
    assert_nothing_in_clear(tmp_path, SECRET)


# --- env values at rest -------------------------------------------------------------------------------

def test_env_values_are_encrypted_deterministically_and_read_back_plain(tmp_path):
    store = RegistryStore(tmp_path / "registry.json")
    record = FunctionRecord(spec=spec_with_env())
    put(store, record)
    env = orjson.loads(store.path.read_bytes())["functions"]["1"]["spec"]["env"]
    assert all(v.startswith("enc:1:") for v in env.values())
    assert store.load().functions["hello"].spec.env == {"API_KEY": SECRET, "LOG_LEVEL": "info"}
    with store.transaction("user") as txn:
        assert txn.get("hello").spec.env["API_KEY"] == SECRET
        txn.put(txn.get("hello"))  # unchanged: the same ciphertext, so no entry and no write
        assert not txn.changed
    assert orjson.loads(store.path.read_bytes())["functions"]["1"]["spec"]["env"] == env
    assert store.load().functions.raw("hello")["spec"]["env"]["API_KEY"] == SECRET
    assert_nothing_in_clear(tmp_path, SECRET)


def test_a_reference_stays_a_reference_and_is_resolved_when_read(tmp_path, monkeypatch):
    store = RegistryStore(tmp_path / "registry.json")
    monkeypatch.setenv("SECRETS_TEST_TOKEN", REF_SECRET)
    spec = make_spec("hello", env={"TOKEN": EnvRef(REF_SECRET, "${SECRETS_TEST_TOKEN}", key="TOKEN"),
                                   "DSN": EnvRef("db-" + REF_SECRET, "db-${SECRETS_TEST_TOKEN}", key="DSN")})
    put(store, FunctionRecord(spec=spec))
    env = orjson.loads(store.path.read_bytes())["functions"]["1"]["spec"]["env"]
    assert env["TOKEN"] == f"ref:1:{store.keys.hash(REF_SECRET)}:${{SECRETS_TEST_TOKEN}}"
    assert env["DSN"].startswith("ref:1:k:") and ":enc:1:" in env["DSN"]  # literal text: encrypted too
    assert_nothing_in_clear(tmp_path, REF_SECRET)

    monkeypatch.setenv("SECRETS_TEST_TOKEN", "rotated")
    secrets.forget_keys()
    store = RegistryStore(store.path)
    read = store.load().functions["hello"].spec.env
    assert read == {"TOKEN": "rotated", "DSN": "db-rotated"} and type(read["TOKEN"]) is EnvRef
    # Registry wants the new value now: R differs from a base made with the old one.
    assert spec_fingerprint(store.load().functions["hello"].spec, "gcp")["env"]["TOKEN"] == store.keys.hash("rotated")


def test_a_pulled_value_replaces_the_reference_and_is_encrypted(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRETS_TEST_TOKEN", REF_SECRET)
    store = RegistryStore(tmp_path / "registry.json")
    put(store, FunctionRecord(spec=make_spec("hello", env={"TOKEN": EnvRef(REF_SECRET, "${SECRETS_TEST_TOKEN}")})))
    with store.transaction("sync") as txn:
        record = txn.get("hello")
        record.spec.env["TOKEN"] = "pulled-" + SECRET  # what apply's pull does
        txn.put(record, action="pull")
    stored = orjson.loads(store.path.read_bytes())["functions"]["1"]["spec"]["env"]["TOKEN"]
    assert stored.startswith("enc:1:")
    assert store.load().functions["hello"].spec.env["TOKEN"] == "pulled-" + SECRET
    assert_nothing_in_clear(tmp_path, REF_SECRET, "pulled-" + SECRET)


def test_a_reference_not_set_here_compares_by_its_last_hash_and_is_not_deployed(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRETS_TEST_TOKEN", REF_SECRET)
    gcp = MemoryComponent("gcp")
    store = RegistryStore(tmp_path / "registry.json")
    spec = make_spec("hello", env={"TOKEN": EnvRef(REF_SECRET, "${SECRETS_TEST_TOKEN}", key="TOKEN")})
    put(store, deployed(spec, gcp))
    monkeypatch.delenv("SECRETS_TEST_TOKEN")
    secrets.forget_keys()
    store = RegistryStore(store.path)
    record = store.load().functions["hello"]
    token = record.spec.env["TOKEN"]
    assert type(token) is EnvRef and not token.resolved
    status = classify(record, gcp.observe().items["hello"], "gcp")
    assert status.state is State.IN_SYNC  # its last value is still what gcp has
    with pytest.raises(ApplyError, match=r"env.TOKEN is declared as a reference to \$SECRETS_TEST_TOKEN") as caught:
        str(token)
    assert REF_SECRET not in str(caught.value)
    with pytest.raises(ApplyError):
        f"{token}"
    assert copy.deepcopy(token).digest == token.digest
    put(store, record)  # written back unchanged: the reference and its hash
    assert store.load().functions["hello"].spec.env["TOKEN"].digest == store.keys.hash(REF_SECRET)


def test_a_reference_falls_back_on_the_declarations_variables(tmp_path, monkeypatch):
    decl = tmp_path / "functions.yaml"
    decl.write_text("variables: {SECRETS_TEST_TOKEN: from-variables, PORTS: 8080}\nfunctions: []\n")
    keys = RegistryKeys(tmp_path / "registry.json")
    stored = keys.encode_value(EnvRef("x", "${SECRETS_TEST_TOKEN}"))
    assert keys.decode_value(stored, f"{decl}:3") == "from-variables"
    monkeypatch.setenv("SECRETS_TEST_TOKEN", "from-env")
    assert keys.decode_value(stored, f"{decl}:3") == "from-env"  # the environment wins
    with_default = keys.encode_value(EnvRef("x", "${NOT_SET_ANYWHERE_42:-fallback}"))
    assert keys.decode_value(with_default, f"{decl}:3") == "fallback"
    assert "fallback" not in with_default


# --- history ------------------------------------------------------------------------------------------

def test_history_records_that_a_value_changed_never_the_value(tmp_path):
    from functions_tui.screens.detail_screen import _change_text

    store = RegistryStore(tmp_path / "registry.json")
    put(store, FunctionRecord(spec=spec_with_env()))
    with store.transaction("sync") as txn:
        record = txn.get("hello")
        record.spec.env["API_KEY"] = "second-" + SECRET
        txn.put(record, action="pull")
    with store.transaction("user") as txn:
        record = txn.get("hello")
        record.spec.memory = 512
        txn.put(record)
    with store.transaction("user") as txn:
        txn.remove("hello")
    deleted, memory, pulled, created = store.history("hello")
    assert _change_text(pulled.before, pulled.after) == "env changed"
    assert changes(pulled.before, pulled.after) == ["env.API_KEY changed"]
    assert changes(memory.before, memory.after) == ["memory: 256 → 512"]
    assert changes(deleted.before, deleted.after) == ["removed"] and changes(None, created.after) == ["created"]
    assert _change_text(memory.before, memory.after) == "memory: 256 → 512"  # env unchanged there
    assert pulled.before["spec"]["env"]["API_KEY"] != pulled.after["spec"]["env"]["API_KEY"]
    assert pulled.after["spec"]["env"]["API_KEY"] == memory.before["spec"]["env"]["API_KEY"]
    for entry in (deleted, memory, pulled, created):
        for side in (entry.before, entry.after):
            if side:
                assert all(v.startswith("~") for v in side["spec"]["env"].values())
    assert_nothing_in_clear(tmp_path, SECRET, "second-" + SECRET)
    table = orjson.loads(store.path.read_bytes())["history"]
    assert b"enc:1:" not in orjson.dumps(table)  # not even encrypted


# --- comparing, and the upgrade from unsalted hashes -------------------------------------------------

def test_hash_matches_reads_old_unsalted_hashes_and_their_keyed_form():
    keys = secrets.active()
    assert hash_matches(hash_value("v"), "v") and not hash_matches(hash_value("v"), "w")
    assert hash_matches(legacy_hash("v"), "v") and not hash_matches(legacy_hash("v"), "w")
    assert hash_matches(keys.legacy_keyed(legacy_hash("v")), "v")
    assert hash_matches(None, None) and not hash_matches(hash_value("v"), None)


def _docker_with_hashed_env(name: str = "docker") -> MemoryComponent:
    """Docker's listing shows env only as the hashes in its spec label (env_hashed)."""

    class HashedDocker(MemoryComponent):
        legacy = False

        def observe(self):
            observation = super().observe()
            for item in observation.items.values():
                hashing = legacy_hash if self.legacy else hash_value
                item.values["env"] = {k: hashing(v) for k, v in item.values["env"].items()}
                item.env_hashed = True
            return observation

        def read_env(self, fname):
            return dict(self.resources[fname].values["env"])

    return HashedDocker(name)


def to_schema_2(home: Path, plain: dict[str, dict[str, str]]) -> None:
    """Rewrite ``home``'s registry the way functions-tui before schema 3 wrote it: env values
    in clear, unsalted ``h:`` hashes in bases and snapshots, values in history, no key."""
    path = home / "registry.json"
    tables = orjson.loads(path.read_bytes())
    meta = tables["meta"]["1"]
    meta["schema"] = 2
    meta.pop("key", None)
    keys = secrets.keys_for(path)
    for doc in tables["functions"].values():
        name = doc["spec"]["name"]
        values = plain[name]
        doc["spec"]["env"] = dict(values)
        by_hash = {keys.hash(v): legacy_hash(v) for v in values.values()}
        if doc["spec"].get("declared", {}).get("env"):
            doc["spec"]["declared"]["env"] = {k: by_hash.get(v, v) for k, v in doc["spec"]["declared"]["env"].items()}
        for comp in doc["components"].values():
            if type(comp["base"]) is dict:
                comp["base"]["env"] = {k: by_hash.get(v, v) for k, v in comp["base"]["env"].items()}
    # What old history held: a value in an undo, a deleted record in full.
    tables["history"]["90"] = {"function": "hello", "action": "pull", "source": "sync", "component": "gcp",
                               "at": "2025-01-01T00:00:00+00:00", "actor": "old",
                               "undo": [[["spec", "env", "API_KEY"], "older-" + SECRET],
                                        [["components", "gcp", "base", "env", "API_KEY"], legacy_hash("older-" + SECRET)]]}
    tables["history"]["91"] = {"function": "gone", "action": "delete", "source": "user", "component": "",
                               "at": "2025-01-01T00:00:00+00:00", "actor": "old",
                               "before": {"spec": {"name": "gone", "runtime": "go", "env": {"API_KEY": "gone-" + SECRET}},
                                          "components": {}}}
    tables["history"] = dict(sorted(tables["history"].items(), key=lambda kv: int(kv[0])))
    data = orjson.dumps(tables)
    path.write_bytes(data)
    (home / "registry.key").unlink()
    for leftover in (home / "generations").glob("*"):
        leftover.unlink()
    (home / "generations").mkdir(exist_ok=True)
    (home / "generations" / f"serial-{meta['serial'] - 1}.json").write_bytes(data)  # an old generation
    (home / "registry.json.bak").write_bytes(data)
    secrets.forget_keys()
    forget_env_hashes()


def test_a_registry_with_unsalted_hashes_upgrades_without_drift_and_keeps_no_value(tmp_path):
    gcp = MemoryComponent("gcp")
    docker = _docker_with_hashed_env()
    components = {"gcp": gcp, "docker": docker, "aws": MemoryComponent("aws", available=False)}
    home = tmp_path / "home"
    svc = SyncService(home, components=components)
    values = {"API_KEY": SECRET, "LOG_LEVEL": "info"}
    with svc.store.transaction("user") as txn:
        txn.put(FunctionRecord(spec=make_spec("hello", components=("gcp", "docker"), env=dict(values))))
        txn.put(FunctionRecord(spec=make_spec("pending", components=("gcp", "docker"), env=dict(values))))
    assert not svc.apply(svc.plan(["gcp", "docker"])).failed
    assert {s.state for s in svc.status(["gcp", "docker"])} == {State.IN_SYNC}
    # Before the upgrade, docker's labels were unsalted hashes (deployed by the old version),
    # and "pending" had a registry edit not yet pushed.
    docker.legacy = True
    to_schema_2(home, {"hello": values, "pending": values})
    tables = orjson.loads((home / "registry.json").read_bytes())
    pending_doc = next(d for d in tables["functions"].values() if d["spec"]["name"] == "pending")
    pending_doc["spec"]["env"]["API_KEY"] = "edited-" + SECRET
    (home / "registry.json").write_bytes(orjson.dumps(tables))

    upgraded = SyncService(home, components=components)
    plan = upgraded.plan(["gcp", "docker"])
    states = {(s.function, s.component): s.state for s in plan.statuses}
    assert states == {("hello", "gcp"): State.IN_SYNC, ("hello", "docker"): State.IN_SYNC,
                      ("pending", "gcp"): State.PENDING, ("pending", "docker"): State.PENDING}
    # Nothing is pulled or asked; only bases re-recorded with keyed hashes (and the pending push).
    assert {a.kind for a in plan.actions} <= {ActionKind.REBASE, ActionKind.UPDATE}
    assert [a.function for a in plan.actions if a.kind is ActionKind.UPDATE] == ["pending", "pending"]
    result = upgraded.apply(plan)
    assert not result.failed
    assert {s.state for s in upgraded.status(["gcp", "docker"])} == {State.IN_SYNC}

    after = orjson.loads((home / "registry.json").read_bytes())
    assert after["meta"]["1"]["schema"] == 3 and after["meta"]["1"]["key"] == upgraded.store.keys.key_id
    assert b'"h:' not in (home / "registry.json").read_bytes()
    assert_nothing_in_clear(home, SECRET, "older-" + SECRET, "gone-" + SECRET, "edited-" + SECRET)
    assert upgraded.records()["hello"].spec.env == values
    # An old docker label (unsalted) still compares once the registry changed: pending, not a conflict.
    docker.legacy = True
    docker.resources["hello"].values["env"] = dict(values)
    with upgraded.store.transaction("user") as txn:
        record = txn.get("hello")
        record.spec.memory = 1024
        txn.put(record)
    states = {(s.function, s.component): s.state for s in upgraded.status(["gcp", "docker"])}
    assert states[("hello", "docker")] is State.PENDING and states[("hello", "gcp")] is State.PENDING


def test_an_old_docker_label_compares_with_the_registry_value(tmp_path):
    """A base and a label from before keyed hashes: in sync while the value is the same, and
    after the registry's value changed, pending (the old label is B), never a conflict."""
    store = RegistryStore(tmp_path / "registry.json")
    store.load()
    keys = store.keys
    spec = make_spec("hello", components=("docker",), env={"API_KEY": SECRET})
    old_label = {"API_KEY": legacy_hash(SECRET)}
    base = spec_fingerprint(spec, "docker")
    base["env"] = {"API_KEY": keys.legacy_keyed(legacy_hash(SECRET))}  # as the upgrade made it
    observed = ObservedFunction("hello", "docker", {**copy.deepcopy(base), "env": old_label, "labels": {
        "functions-tui.function": "hello", **spec.labels}}, env_hashed=True)
    record = FunctionRecord(spec=spec, components={"docker": ComponentRecord("docker", base=base)})
    status = classify(record, observed, "docker")
    assert (status.state, status.detail) == (State.IN_SYNC, "")
    assert observed.fingerprint()["env"] == base["env"]  # a base recorded from it stays comparable
    plan = build_plan({"hello": record}, {"docker": _observation(observed)}, policies={"docker": Policy.ASK})
    assert plan.actions == [] and [s.state for s in plan.statuses] == [State.IN_SYNC]
    spec.env["API_KEY"] = "new-" + SECRET
    assert classify(record, observed, "docker").state is State.PENDING
    observed.values["env"] = {"API_KEY": legacy_hash("console-" + SECRET)}
    assert classify(record, observed, "docker").state is State.CONFLICT  # changed on both sides


def _observation(observed: ObservedFunction):
    from functions_tui.registry.component import Observation

    return Observation(observed.component, items={observed.name: observed}, complete=True)


def test_writeback_reads_an_old_snapshot_hash_as_the_value_it_stands_for(tmp_path):
    from functions_tui.app.writeback import _same

    keys = RegistryStore(tmp_path / "registry.json").keys
    assert _same(("env", "A"), legacy_hash("v"), "v") and _same(("env", "A"), keys.legacy_keyed(legacy_hash("v")), "v")
    assert not _same(("env", "A"), legacy_hash("v"), "w") and _same(("env", "A"), None, None)
    assert _same(("memory",), 128, 128)
