"""apply_plan against MemoryComponents and the real RegistryStore (a tmp file): what each
action does to the registry and the component, one write per plan, history, failures that
skip their dependents, the journal (including a crash mid-apply), and decisions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from functions_tui.registry.apply import DecisionError, apply_plan, resolve_decision
from functions_tui.registry.component import ApplyError
from functions_tui.registry.journal import DONE, STARTED, Journal, JournalError
from functions_tui.registry.models import FunctionRecord
from functions_tui.registry.plan import build_plan
from functions_tui.registry.plan_types import ActionKind, Policy, State
from functions_tui.registry.store import StaleWriteError
from tests.engine_helpers import deployed, make_spec, observe_all, seed
from tests.memory_component import MemoryComponent

CW, RW, ASK = Policy.COMPONENT_WINS, Policy.REGISTRY_WINS, Policy.ASK


@dataclass
class Decision:  # the shape of app.service.Decision
    function: str
    component: str
    choice: str
    fields: dict | None = None


def plan_and_apply(store, journal, *components, policy=CW, decisions=(), **kw):
    snapshot = store.load()
    plan = build_plan(snapshot.functions, observe_all(*components),
                      policies={c.name: policy for c in components}, registry_serial=snapshot.serial, **kw)
    result = apply_plan(plan, store, {c.name: c for c in components}, journal, decisions)
    return plan, result


def replan(store, *components, policy=CW):
    return build_plan(store.load().functions, observe_all(*components), policies={c.name: policy for c in components})


def states(plan) -> dict:
    return {(s.function, s.component): s.state for s in plan.statuses}


def test_create_deploys_and_records_the_base(store, journal):
    gcp = MemoryComponent("gcp")
    seed(store, FunctionRecord(spec=make_spec("hello")))
    plan, result = plan_and_apply(store, journal, gcp)
    assert [(r.action.kind, r.ok) for r in result.results] == [(ActionKind.CREATE, True)]
    record = store.load().functions["hello"]
    assert record.components["gcp"].resource_id == gcp.resources["hello"].resource_id
    assert record.components["gcp"].base == gcp.resources["hello"].fingerprint()
    assert set(states(replan(store, gcp)).values()) == {State.IN_SYNC}


def test_pull_copies_the_components_values_into_the_spec(store, journal):
    gcp = MemoryComponent("gcp")
    seed(store, deployed(make_spec("hello"), gcp))
    gcp.change("hello", memory=1024, env={"LOG_LEVEL": "debug", "API_KEY": "s3cret", "NEW": "v"},
               labels={"team": "edge", "functions-tui_function": "hello"})
    plan, result = plan_and_apply(store, journal, gcp)
    assert [a.kind for a in plan.actions] == [ActionKind.PULL] and result.failed == []
    spec = store.load().functions["hello"].spec
    assert (spec.memory, spec.env, spec.labels) == (1024, {"LOG_LEVEL": "debug", "API_KEY": "s3cret", "NEW": "v"},
                                                    {"team": "edge"})
    assert gcp.calls == [("observe", "")]  # a pull never touches the component
    assert set(states(replan(store, gcp)).values()) == {State.IN_SYNC}


def test_pull_leaves_ignored_keys_alone(store, journal):
    gcp = MemoryComponent("gcp")
    seed(store, deployed(make_spec("hello", ignore=["env.API_KEY"]), gcp))
    gcp.change("hello", env={"LOG_LEVEL": "debug", "API_KEY": "rotated"})
    plan_and_apply(store, journal, gcp)
    assert store.load().functions["hello"].spec.env == {"LOG_LEVEL": "debug", "API_KEY": "s3cret"}


def test_update_pushes_the_registry_and_rebases(store, journal):
    gcp = MemoryComponent("gcp")
    record = deployed(make_spec("hello"), gcp)
    record.spec.timeout = 300
    seed(store, record)
    plan, result = plan_and_apply(store, journal, gcp)
    assert [(a.kind, a.fields) for a in plan.actions] == [(ActionKind.UPDATE, ["timeout"])]
    assert gcp.resources["hello"].values["timeout"] == 300
    assert store.load().functions["hello"].components["gcp"].base["timeout"] == 300


def test_adopt_creates_a_registry_entry_from_the_resource(store, journal):
    gcp = MemoryComponent("gcp")
    gcp.put("stray", {"runtime": "nodejs20", "memory": 128, "env": {"K": "v"}, "labels": {"owner": "me"}})
    plan_and_apply(store, journal, gcp)
    record = store.load().functions["stray"]
    assert (record.spec.runtime, record.spec.memory, record.spec.env, record.spec.labels) == (
        "nodejs20", 128, {"K": "v"}, {"owner": "me"})
    assert "gcp" in record.spec.targets and record.components["gcp"].base is not None
    assert set(states(replan(store, gcp)).values()) == {State.IN_SYNC}


def test_prune_drops_only_the_ghost_component_and_keeps_the_function(store, journal):
    gcp, aws = MemoryComponent("gcp"), MemoryComponent("aws")
    seed(store, deployed(make_spec("only-gcp"), gcp), deployed(make_spec("both", components=("gcp", "aws")), gcp, aws),
         deployed(make_spec("keep"), gcp))
    gcp.remove("only-gcp")
    gcp.remove("both")
    plan, result = plan_and_apply(store, journal, gcp, aws)
    assert sorted(a.function for a in plan.actions) == ["both", "only-gcp"]
    functions = store.load().functions
    # A prune never removes a function: only that component's entry, base and target.
    assert functions["only-gcp"].spec.targets == {} and functions["only-gcp"].components == {}
    assert list(functions["both"].spec.targets) == ["aws"] and "gcp" not in functions["both"].components
    assert set(states(replan(store, gcp, aws)).values()) == {State.IN_SYNC}


def test_delete_removes_a_marked_stray_under_registry_wins(store, journal):
    gcp = MemoryComponent("gcp", {"theirs": {}}, unmarked=["theirs"])
    seed(store, deployed(make_spec("keep"), gcp))
    gcp.put("stray")
    plan, result = plan_and_apply(store, journal, gcp, policy=RW)
    assert [(r.action.kind, r.action.function, r.ok) for r in result.results] == [(ActionKind.DELETE, "stray", True)]
    assert sorted(gcp.resources) == ["keep", "theirs"]


def test_the_whole_plan_is_one_registry_write_with_history(store, journal):
    gcp = MemoryComponent("gcp")
    seed(store, deployed(make_spec("drift"), gcp), FunctionRecord(spec=make_spec("new")))
    gcp.change("drift", memory=2048)
    gcp.put("stray")
    serial = store.load().serial
    plan, result = plan_and_apply(store, journal, gcp)
    assert len(result.results) == 3 and result.failed == []
    assert store.load().serial == serial + 1
    history = store.history()
    recent = {(h.function, h.action, h.source) for h in history[:3]}
    assert recent == {("drift", "pull", "sync"), ("new", "create", "sync"), ("stray", "adopt", "sync")}


def test_nothing_to_do_writes_nothing(store, journal):
    gcp = MemoryComponent("gcp")
    serial = seed(store, deployed(make_spec("hello"), gcp))
    plan, result = plan_and_apply(store, journal, gcp)
    assert result.results == [] and store.load().serial == serial


def test_a_plan_on_a_stale_read_touches_nothing(store, journal):
    gcp = MemoryComponent("gcp")
    seed(store, FunctionRecord(spec=make_spec("hello")))
    snapshot = store.load()
    plan = build_plan(snapshot.functions, observe_all(gcp), policies={"gcp": CW}, registry_serial=snapshot.serial)
    seed(store, FunctionRecord(spec=make_spec("someone-else")))
    with pytest.raises(StaleWriteError):
        apply_plan(plan, store, {"gcp": gcp}, journal)
    assert gcp.calls == [("observe", "")] and journal.entries() == []


def test_questions_are_not_applied(store, journal):
    gcp = MemoryComponent("gcp")
    seed(store, deployed(make_spec("hello"), gcp))
    gcp.change("hello", memory=64)
    plan, result = plan_and_apply(store, journal, gcp, policy=ASK)
    assert [a.kind for a in plan.actions] == [ActionKind.ASK] and result.results == []
    assert store.load().functions["hello"].spec.memory == 256


# --- failures -----------------------------------------------------------------------------------

def test_a_failed_action_skips_its_dependents_and_the_rest_runs(store, journal):
    gcp = MemoryComponent("gcp", fail_apply={"db": "quota exceeded for region europe-west1"})
    seed(store, FunctionRecord(spec=make_spec("db")), FunctionRecord(spec=make_spec("api", after=["db"])),
         FunctionRecord(spec=make_spec("web", after=["api"])), FunctionRecord(spec=make_spec("solo")))
    plan, result = plan_and_apply(store, journal, gcp)
    outcome = {r.action.function: (r.ok, r.skipped, r.error) for r in result.results}
    assert outcome["db"] == (False, False, "quota exceeded for region europe-west1")
    assert outcome["api"][:2] == (False, True) and "db" in outcome["api"][2]
    assert outcome["web"][:2] == (False, True) and "api" in outcome["web"][2]
    assert outcome["solo"] == (True, False, "")
    assert [r.action.function for r in result.failed] == ["db"]
    assert sorted(gcp.resources) == ["solo"]
    functions = store.load().functions
    assert "gcp" in functions["solo"].components and "gcp" not in functions["db"].components
    assert journal.entries() == []  # a clean failure is not "in flight"


def test_a_missing_adapter_fails_that_action_only(store, journal):
    gcp = MemoryComponent("gcp")
    seed(store, FunctionRecord(spec=make_spec("hello")))
    plan = build_plan(store.load().functions, observe_all(gcp), policies={"gcp": CW})
    result = apply_plan(plan, store, {}, journal)
    assert "no adapter for gcp" in result.failed[0].error


# --- the journal ----------------------------------------------------------------------------------

class SimulatedCrash(BaseException):
    """Stands for the process dying mid-call (kill -9, power loss): not an Exception."""


class CrashingComponent(MemoryComponent):
    def __init__(self, *args, crash_on: str, journal: Journal, **kw):
        super().__init__(*args, **kw)
        self.crash_on = crash_on
        self.journal = journal
        self.seen_in_journal: list[list[str]] = []

    def create(self, spec):
        # The entry must be on disk before the change is sent.
        self.seen_in_journal.append([e.function for e in self.journal.pending(include_live=True)])
        if spec.name == self.crash_on:
            raise SimulatedCrash()
        return super().create(spec)


def test_each_component_change_is_journaled_before_it_is_sent_and_cleared_after(store, journal):
    gcp = CrashingComponent("gcp", crash_on="", journal=journal)
    seed(store, FunctionRecord(spec=make_spec("a")), FunctionRecord(spec=make_spec("b")))
    plan_and_apply(store, journal, gcp)
    assert gcp.seen_in_journal == [["a"], ["a", "b"]]  # b's call also sees a's entry (done, awaiting the write)
    assert journal.entries() == [] and journal.pending() == []


def test_a_crash_mid_apply_leaves_the_operation_in_the_journal(store, journal):
    gcp = CrashingComponent("gcp", crash_on="b", journal=journal)
    serial = seed(store, FunctionRecord(spec=make_spec("a")), FunctionRecord(spec=make_spec("b")))
    with pytest.raises(SimulatedCrash):
        plan_and_apply(store, journal, gcp)
    assert store.load().serial == serial  # the registry write never happened
    pending = {e.function: e for e in Journal(journal.path).pending()}  # as the next start reads it
    assert pending["b"].status == STARTED and pending["b"].kind == "create"
    assert pending["a"].status == DONE  # made on gcp, never recorded in the registry
    assert "interrupted" in pending["b"].describe() and "gcp" in pending["b"].describe()
    assert "never recorded" in pending["a"].describe()
    # The next sync sees what really happened: a is on gcp (in sync, base to record), b is not.
    plan = replan(store, MemoryComponent("gcp", {"a": gcp.resources["a"]}))
    assert [(a.function, a.kind) for a in plan.actions] == [("a", ActionKind.REBASE), ("b", ActionKind.CREATE)]
    assert journal.acknowledge() == 2 and journal.pending() == []


def test_a_live_apply_is_not_reported_as_interrupted(journal):
    from functions_tui.registry.journal import mark_live, mark_over
    mark_live("run1")
    entry = journal.begin("a", "gcp", "create", run="run1")
    assert journal.pending() == [] and journal.pending(include_live=True) == [entry]
    mark_over("run1")
    assert [e.id for e in journal.pending()] == [entry.id]


def test_entries_of_a_dead_process_are_interrupted(journal, tmp_path):
    import json
    journal.begin("a", "gcp", "update")
    (line,) = journal.path.read_text().splitlines()  # one JSON line per event
    data = json.loads(line)
    data["pid"] = 2 ** 22 + 12345  # no such process
    journal.path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    assert [e.function for e in journal.pending()] == ["a"]


def test_an_unreadable_journal_stops_the_apply_before_any_change(store, journal):
    gcp = MemoryComponent("gcp")
    seed(store, FunctionRecord(spec=make_spec("hello")))
    journal.path.write_text("{not json")
    serial = store.load().serial
    with pytest.raises(JournalError, match="move the file away"):
        plan_and_apply(store, journal, gcp)
    assert "hello" not in gcp.resources and gcp.calls == [("observe", "")]
    assert store.load().serial == serial


def test_journal_writes_leave_no_temporary_files(journal):
    entry = journal.begin("a", "gcp", "create", run="r")
    journal.finish(entry, made=True)
    journal.clear_run("r")
    assert [p.name for p in journal.path.parent.iterdir() if p.name.startswith(".journal-")] == []
    assert journal.entries() == []


def test_journal_sits_next_to_the_registry(store):
    assert Journal.for_store(store).path == store.path.parent / "journal.json"


# --- decisions ----------------------------------------------------------------------------------

def _conflicted(store):
    gcp = MemoryComponent("gcp")
    record = deployed(make_spec("hello"), gcp)
    record.spec.memory = 512
    record.spec.env = {"LOG_LEVEL": "warn", "API_KEY": "s3cret"}
    seed(store, record)
    gcp.change("hello", memory=1024, env={"LOG_LEVEL": "debug", "API_KEY": "s3cret"})
    return gcp


@pytest.mark.parametrize("choice, memory, log_level", [
    ("registry", (512, 512), ("warn", "warn")),
    ("component", (1024, 1024), ("debug", "debug")),
])
def test_a_decision_resolves_a_conflict(store, journal, choice, memory, log_level):
    gcp = _conflicted(store)
    plan, result = plan_and_apply(store, journal, gcp, policy=ASK, decisions=[Decision("hello", "gcp", choice)])
    assert result.failed == [] and result.results
    spec = store.load().functions["hello"].spec
    assert (spec.memory, gcp.resources["hello"].values["memory"]) == memory
    assert (spec.env["LOG_LEVEL"], gcp.resources["hello"].values["env"]["LOG_LEVEL"]) == log_level
    assert set(states(replan(store, gcp)).values()) == {State.IN_SYNC}


def test_merge_takes_each_field_from_the_chosen_side(store, journal):
    gcp = _conflicted(store)
    decision = Decision("hello", "gcp", "merge", {"memory": "component", "env.LOG_LEVEL": "registry"})
    plan, result = plan_and_apply(store, journal, gcp, policy=ASK, decisions=[decision])
    assert [r.action.kind for r in result.results] == [ActionKind.PULL, ActionKind.UPDATE]
    spec = store.load().functions["hello"].spec
    assert (spec.memory, spec.env["LOG_LEVEL"]) == (1024, "warn")
    assert gcp.resources["hello"].values["memory"] == 1024
    assert gcp.resources["hello"].values["env"]["LOG_LEVEL"] == "warn"
    assert set(states(replan(store, gcp)).values()) == {State.IN_SYNC}


def test_skip_and_bad_decisions(store):
    gcp = _conflicted(store)
    plan = build_plan(store.load().functions, observe_all(gcp), policies={"gcp": ASK})
    assert resolve_decision(plan, Decision("hello", "gcp", "skip")) == []
    with pytest.raises(DecisionError, match="choose registry or component for env.LOG_LEVEL"):
        resolve_decision(plan, Decision("hello", "gcp", "merge", {"memory": "component"}))
    with pytest.raises(DecisionError, match="unknown choice"):
        resolve_decision(plan, Decision("hello", "gcp", "both"))
    with pytest.raises(DecisionError, match="no nope on gcp"):
        resolve_decision(plan, Decision("nope", "gcp", "registry"))


def test_decisions_for_ghosts_and_strays(store, journal):
    gcp = MemoryComponent("gcp")
    seed(store, deployed(make_spec("ghost"), gcp), deployed(make_spec("keep"), gcp))
    gcp.remove("ghost")
    gcp.put("stray")
    decisions = [Decision("ghost", "gcp", "registry"), Decision("stray", "gcp", "registry")]
    plan, result = plan_and_apply(store, journal, gcp, policy=ASK, decisions=decisions)
    assert {(r.action.function, r.action.kind) for r in result.results} == {
        ("ghost", ActionKind.CREATE), ("stray", ActionKind.DELETE)}
    assert sorted(gcp.resources) == ["ghost", "keep"]
    with pytest.raises(DecisionError, match="nothing to merge"):
        resolve_decision(plan, Decision("ghost", "gcp", "merge"))


def test_pull_of_a_hashed_env_listing_reads_the_values_from_the_adapter(store, journal):
    class HashedDocker(MemoryComponent):
        def observe(self):
            observation = super().observe()
            from functions_tui.registry.fingerprint import hash_value
            for item in observation.items.values():
                item.values["env"] = {k: hash_value(v) for k, v in item.values["env"].items()}
                item.env_hashed = True
            return observation

        def read_env(self, name):
            return dict(self.resources[name].values["env"])

    docker = HashedDocker("docker")
    seed(store, deployed(make_spec("hello", components=("docker",)), docker))
    docker.change("hello", env={"LOG_LEVEL": "trace", "API_KEY": "s3cret"})
    plan, result = plan_and_apply(store, journal, docker)
    assert [a.kind for a in plan.actions] == [ActionKind.PULL] and result.failed == []
    assert store.load().functions["hello"].spec.env["LOG_LEVEL"] == "trace"


def test_apply_error_message_is_reported_verbatim(store, journal):
    gcp = MemoryComponent("gcp")
    seed(store, deployed(make_spec("hello"), gcp))
    rec = store.load().functions["hello"]
    rec.spec.memory = 4096
    seed(store, rec)
    gcp.fail_apply["hello"] = "memory 4096 exceeds the limit 2048"
    plan, result = plan_and_apply(store, journal, gcp)
    assert result.failed[0].error == "memory 4096 exceeds the limit 2048"
    assert isinstance(ApplyError("x"), Exception)
