"""apply_plan does not hold the registry lock across component calls (issue 10): another
process's write goes through meanwhile, and each action's outcome is recorded on the
record as it is then, never over someone else's change. MemoryComponents whose calls run a
hook (another writer, a check) while the apply is inside them; the real RegistryStore.
The same on moto with a real `functions-tui add`: test_apply_locking_aws.py."""

from __future__ import annotations

import pytest

from functions_tui.registry.apply import CHANGED_MEANWHILE, apply_plan
from functions_tui.registry.errors import LockTimeoutError
from functions_tui.registry.journal import DONE, STARTED, Journal
from functions_tui.registry.models import FunctionRecord
from functions_tui.registry.plan import build_plan
from functions_tui.registry.plan_types import Action, ActionKind, Policy, State
from functions_tui.registry.store import RegistryStore
from tests.engine_helpers import deployed, make_spec, observe_all, seed
from tests.memory_component import MemoryComponent

CW, RW, ASK = Policy.COMPONENT_WINS, Policy.REGISTRY_WINS, Policy.ASK


class Hooked(MemoryComponent):
    """Runs ``during[(operation, function)]`` inside that call, before the change is made."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.during: dict[tuple[str, str], object] = {}

    def _check(self, op, name):
        hook = self.during.get((op, name))
        if hook is not None:
            hook()
        super()._check(op, name)




def other_writer(store, name, change, *, source="import"):
    """A write by another process (its own store object, a short lock timeout), as `add` does."""
    def write():
        other = RegistryStore(store.path, lock_timeout=0.3)
        with other.transaction(source) as txn:
            record = txn.get(name)
            if change is None:
                txn.remove(name)
            else:
                change(record)
                txn.put(record, action="update")
    return write


def plan_for(store, *components, policy=CW, **kw):
    snapshot = store.load()
    return build_plan(snapshot.functions, observe_all(*components), policies={c.name: policy for c in components},
                      registry_serial=snapshot.serial, registry_id=snapshot.lineage, **kw)


def apply(store, journal, plan, *components, **kw):
    return apply_plan(plan, store, {c.name: c for c in components}, journal, **kw)


def states(store, *components, policy=CW):
    plan = build_plan(store.load().functions, observe_all(*components), policies={c.name: policy for c in components})
    return {(s.function, s.component): s.state for s in plan.statuses}


def owned(store, gcp, *records):
    """Seed records deployed on gcp and marked with this registry's identity."""
    seed(store, *records)
    gcp.registry_id = store.load().lineage
    for item in gcp.resources.values():
        gcp._own(item)


def test_the_registry_lock_is_free_during_every_component_call(store, journal):
    gcp = Hooked("gcp")
    record = deployed(make_spec("upd"), gcp)
    record.spec.timeout = 300
    owned(store, gcp, record, FunctionRecord(spec=make_spec("new")))
    gcp.put("stray", owner=store.load().lineage)
    seen = []

    def check():
        seen.append(store.holder())  # nobody holds the registry lock ...
        with RegistryStore(store.path, lock_timeout=0.2).transaction("user"):  # ... so this gets it at once
            pass

    gcp.during = {("create", "new"): check, ("update", "upd"): check, ("delete", "stray"): check}
    result = apply(store, journal, plan_for(store, gcp, policy=RW), gcp)
    assert result.failed == [] and len(result.results) == 3
    assert seen == [None, None, None]


def test_a_change_made_meanwhile_to_another_field_is_kept_and_the_push_recorded(store, journal):
    gcp = Hooked("gcp")
    record = deployed(make_spec("hello"), gcp)
    record.spec.timeout = 300                      # pending: push timeout
    owned(store, gcp, record)

    def edit(r):
        r.spec.memory = 1024
        r.spec.env["NEW"] = "v"
    gcp.during[("update", "hello")] = other_writer(store, "hello", edit)
    result = apply(store, journal, plan_for(store, gcp), gcp)
    assert [(r.action.kind, r.ok) for r in result.results] == [(ActionKind.UPDATE, True)]
    saved = store.load().functions["hello"]
    assert (saved.spec.memory, saved.spec.timeout, saved.spec.env["NEW"]) == (1024, 300, "v")  # both kept
    assert saved.components["gcp"].base["timeout"] == 300 and saved.components["gcp"].base["memory"] == 256
    assert gcp.resources["hello"].values["timeout"] == 300
    # The other change is simply pending now; nothing waits in the journal.
    plan = plan_for(store, gcp)
    assert [(s.state, sorted(d.field for d in s.diffs)) for s in plan.statuses] == [
        (State.PENDING, ["env.NEW", "memory"])]
    assert journal.entries() == []
    assert [h.action for h in store.history("hello")][:2] == ["update", "update"]


def test_a_change_made_meanwhile_to_a_pushed_field_is_not_clobbered(store, journal):
    gcp = Hooked("gcp")
    record = deployed(make_spec("hello"), gcp)
    record.spec.timeout = 300
    owned(store, gcp, record)
    base_before = store.load().functions["hello"].components["gcp"].base
    gcp.during[("update", "hello")] = other_writer(store, "hello", lambda r: setattr(r.spec, "timeout", 120))
    result = apply(store, journal, plan_for(store, gcp), gcp)
    (outcome,) = result.results
    assert not outcome.ok and not outcome.skipped
    assert CHANGED_MEANWHILE in outcome.error and "timeout" in outcome.error and "gcp" in outcome.error
    saved = store.load().functions["hello"]
    assert saved.spec.timeout == 120 and saved.components["gcp"].base == base_before  # theirs, untouched
    assert gcp.resources["hello"].values["timeout"] == 300                               # the push was made
    (left,) = Journal(journal.path).pending()                                            # and is reported
    assert (left.function, left.kind, left.status) == ("hello", "update", DONE)
    # Registry and component both moved away from the base: a person decides, under any policy.
    for policy in Policy:
        assert states(store, gcp, policy=policy)[("hello", "gcp")] is State.CONFLICT


def test_a_pull_refused_for_a_change_meanwhile_refuses_the_push_built_on_it(store, journal):
    gcp = Hooked("gcp")
    record = deployed(make_spec("fn", memory=128, timeout=60), gcp)
    record.spec.memory = 512                        # the registry changed memory: push it
    owned(store, gcp, record)
    gcp.change("fn", timeout=90)                    # the component changed timeout: pull it
    plan = plan_for(store, gcp)
    assert [(a.kind, a.fields) for a in plan.actions] == [(ActionKind.PULL, ["timeout"]),
                                                          (ActionKind.UPDATE, ["memory"])]
    gcp.during[("update", "fn")] = other_writer(store, "fn", lambda r: setattr(r.spec, "timeout", 45))
    result = apply(store, journal, plan, gcp)
    pull, update = result.results
    assert not pull.ok and CHANGED_MEANWHILE in pull.error and "timeout" in pull.error
    assert not update.ok and CHANGED_MEANWHILE in update.error
    saved = store.load().functions["fn"]
    assert (saved.spec.timeout, saved.spec.memory) == (45, 512)
    assert [(e.function, e.kind, e.status) for e in Journal(journal.path).pending()] == [("fn", "update", DONE)]


def test_a_pull_keeps_a_change_made_meanwhile_to_another_field(store, journal):
    gcp = Hooked("gcp")
    owned(store, gcp, deployed(make_spec("drift"), gcp), FunctionRecord(spec=make_spec("new")))
    gcp.change("drift", memory=1024)
    gcp.during[("create", "new")] = other_writer(store, "drift", lambda r: r.spec.labels.update(team="edge"))
    result = apply(store, journal, plan_for(store, gcp), gcp)
    assert result.failed == [] and {r.action.kind for r in result.results} == {ActionKind.PULL, ActionKind.CREATE}
    saved = store.load().functions["drift"].spec
    assert (saved.memory, saved.labels["team"]) == (1024, "edge")
    assert states(store, gcp)[("drift", "gcp")] is State.PENDING  # the label edit, to be pushed


def test_an_adopt_never_overwrites_a_function_added_meanwhile(store, journal):
    gcp = Hooked("gcp")
    owned(store, gcp, FunctionRecord(spec=make_spec("new")))
    gcp.put("stray", {"runtime": "nodejs20"}, owner=store.load().lineage)

    def add_stray():
        with RegistryStore(store.path, lock_timeout=0.3).transaction("import") as txn:
            txn.put(FunctionRecord(spec=make_spec("stray", runtime="python3.12")), action="add")
    gcp.during[("create", "new")] = add_stray
    result = apply(store, journal, plan_for(store, gcp), gcp)
    outcome = {r.action.function: r for r in result.results}
    assert outcome["new"].ok
    assert not outcome["stray"].ok and CHANGED_MEANWHILE in outcome["stray"].error
    saved = store.load().functions["stray"]
    assert saved.spec.runtime == "python3.12" and saved.components == {}


def test_a_function_removed_meanwhile_is_not_brought_back(store, journal):
    gcp = Hooked("gcp")
    owned(store, gcp, FunctionRecord(spec=make_spec("gone")), FunctionRecord(spec=make_spec("kept")))
    gcp.during[("create", "gone")] = other_writer(store, "gone", None, source="user")
    result = apply(store, journal, plan_for(store, gcp), gcp)
    outcome = {r.action.function: r for r in result.results}
    assert outcome["kept"].ok and not outcome["gone"].ok and CHANGED_MEANWHILE in outcome["gone"].error
    assert sorted(store.load().functions) == ["kept"]
    assert [e.function for e in Journal(journal.path).pending()] == ["gone"]


def test_outcomes_are_recorded_batch_by_batch_and_their_entries_cleared(store, journal):
    gcp = Hooked("gcp")
    owned(store, gcp, *(FunctionRecord(spec=make_spec(n)) for n in ("a", "b", "c")))
    serial = store.load().serial
    seen = []

    def look():
        snapshot = store.load()
        seen.append((snapshot.serial, "gcp" in snapshot.functions["a"].components,
                     [e.function for e in journal.entries()]))
    gcp.during[("create", "c")] = look
    result = apply(store, journal, plan_for(store, gcp), gcp, flush_interval=0)  # a flush after every action
    assert result.failed == []
    # When c is created, a and b are recorded and their journal entries gone; c's is open.
    assert seen == [(serial + 2, True, ["c"])]
    assert store.load().serial == serial + 3 and journal.entries() == []
    assert not journal.path.exists()  # compacted at the end of the run


def test_a_crash_after_some_batches_leaves_only_the_unrecorded_in_the_journal(store, journal):
    class Crash(BaseException):
        pass

    gcp = Hooked("gcp")
    owned(store, gcp, *(FunctionRecord(spec=make_spec(n)) for n in ("a", "b", "c")))

    def crash():
        raise Crash()
    gcp.during[("create", "c")] = crash
    with pytest.raises(Crash):
        apply(store, journal, plan_for(store, gcp), gcp, flush_interval=0)
    functions = store.load().functions
    assert "gcp" in functions["a"].components and "gcp" in functions["b"].components
    assert "gcp" not in functions["c"].components
    assert [(e.function, e.status) for e in Journal(journal.path).pending()] == [("c", STARTED)]


class FailingWrites(RegistryStore):
    """A registry whose writes after the first transaction (the apply's opening read) time out."""

    opened = 0

    def transaction(self, source, **kw):
        self.opened += 1
        if self.opened > 1:
            raise LockTimeoutError(f"registry {self.path} is locked by pid 1 on elsewhere; gave up after 10.0s")
        return super().transaction(source, **kw)


def test_outcomes_that_cannot_be_written_fail_and_stay_in_the_journal(tmp_path, journal):
    gcp = Hooked("gcp")
    store = FailingWrites(tmp_path / "registry.json")
    owned(store, gcp, FunctionRecord(spec=make_spec("a")), FunctionRecord(spec=make_spec("b")))
    store.opened = 0
    result = apply(store, journal, plan_for(store, gcp), gcp)
    assert [r.ok for r in result.results] == [False, False]
    assert all("not recorded in the registry: LockTimeoutError" in r.error for r in result.results)
    assert sorted(gcp.resources) == ["a", "b"]
    assert sorted((e.function, e.status) for e in Journal(journal.path).pending()) == [("a", DONE), ("b", DONE)]


def test_two_applies_never_overlap(tmp_path, journal):
    gcp = Hooked("gcp")
    store = RegistryStore(tmp_path / "registry.json", lock_timeout=0.3)
    owned(store, gcp, FunctionRecord(spec=make_spec("a")))
    plan = plan_for(store, gcp)
    errors = []

    def second_apply():
        with pytest.raises(LockTimeoutError) as info:
            apply(RegistryStore(store.path, lock_timeout=0.3), journal, plan, gcp)
        errors.append(str(info.value))
    gcp.during[("create", "a")] = second_apply
    assert apply(store, journal, plan, gcp).failed == []
    assert len(errors) == 1 and "another apply is running" in errors[0] and "pid" in errors[0]


def test_a_new_registrys_identity_is_on_disk_before_anything_is_marked_with_it(store, journal):
    gcp = Hooked("gcp")
    gcp.put("theirs", {"memory": 128}, owner="another-registry")
    plan = plan_for(store, gcp)
    assert plan.registry_serial is None or plan.registry_serial == 0
    plan = plan.with_actions([Action("theirs", "gcp", ActionKind.ADOPT, "adopt requested"),
                              Action("theirs", "gcp", ActionKind.CLAIM, "write this registry's identity")])
    on_disk = []
    gcp.during[("claim", "theirs")] = lambda: on_disk.append((store.load().lineage, gcp.registry_id))
    result = apply(store, journal, plan, gcp)
    assert result.failed == []
    ((lineage, marked_with),) = on_disk
    assert lineage and lineage == marked_with == store.load().lineage == gcp.resources["theirs"].owner
    assert "theirs" in store.load().functions


def test_a_stale_plan_is_refused_before_any_component_call_even_with_other_writers(store, journal):
    gcp = Hooked("gcp")
    owned(store, gcp, FunctionRecord(spec=make_spec("a")))
    plan = plan_for(store, gcp)
    other_writer(store, "a", lambda r: setattr(r.spec, "memory", 64))()
    from functions_tui.registry.errors import StaleWriteError
    with pytest.raises(StaleWriteError):
        apply(store, journal, plan, gcp)
    assert gcp.calls == [("observe", "")] and journal.entries() == []


# --- recording on the record as it is now (registry.apply._rebase) ------------------------------

def _synced(name="fn", **fields):
    gcp = MemoryComponent("gcp")
    return deployed(make_spec(name, **fields), gcp)


def test_an_outcome_on_an_unchanged_record_is_written_as_it_is():
    from functions_tui.registry.apply import _rebase

    before = _synced()
    after = FunctionRecord.from_dict(before.to_dict())
    after.spec.memory = 1024
    assert _rebase(before, after, FunctionRecord.from_dict(before.to_dict())) == (after, [])


def test_dropping_a_component_keeps_an_edit_made_meanwhile_and_ignores_a_vanished_entry():
    from functions_tui.registry.apply import _rebase

    before = _synced()
    after = FunctionRecord.from_dict(before.to_dict())
    del after.components["gcp"]
    after.spec.targets.pop("gcp")                    # a prune
    fresh = FunctionRecord.from_dict(before.to_dict())
    fresh.spec.memory = 2048                         # their edit: a field the dropped base described
    merged, clash = _rebase(before, after, fresh)
    assert clash == [] and merged.spec.memory == 2048 and merged.components == {} and merged.spec.targets == {}
    assert _rebase(before, after, None) == (None, [])  # the entry went meanwhile: nothing to write


def test_a_recorded_base_clashes_only_with_edits_to_what_it_describes():
    from functions_tui.registry.apply import _rebase

    before = _synced(env={"A": "1", "B": "2"})
    after = FunctionRecord.from_dict(before.to_dict())
    after.components["gcp"].base = {**after.components["gcp"].base, "env": {"A": "h:moved", "B": "h:same"}}
    after.components["gcp"].base["env"]["B"] = before.components["gcp"].base["env"]["B"]

    def fresh_with(**edit):
        fresh = FunctionRecord.from_dict(before.to_dict())
        for key, value in edit.items():
            setattr(fresh.spec, key, value)
        return fresh

    merged, clash = _rebase(before, after, fresh_with(env={"A": "1", "B": "changed"}))
    assert clash == [] and merged.spec.env["B"] == "changed" and merged.components["gcp"].base["env"]["A"] == "h:moved"
    assert _rebase(before, after, fresh_with(env={"A": "changed", "B": "2"}))[1] == [("spec", "env", "A")]
    assert _rebase(before, after, fresh_with(runtime="nodejs20"))[1] == []
