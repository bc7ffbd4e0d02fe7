"""Three-way classification of one (function, component) pair: R, B and C.

R is the registry's spec as a fingerprint (only when the spec targets the component), B the
base recorded at the last successful sync, C what the component shows now. The states and
their meaning are DESIGN.md's table; the per-field differences come with every state that
has them, with env values masked (never a value, only set / unset / changed).

Speed matters (10k functions × 3 components in well under a second): fingerprints are
compared as whole dicts first and field diffs are only worked out for pairs that differ.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Iterable, Mapping

from functions_tui.registry.component import ObservedFunction
from functions_tui.registry import secrets as _secrets
from functions_tui.registry.fingerprint import (FINGERPRINT_FIELDS, SECRET_FIELDS, canonical_env, hash_value,
                                               image_overrides)
from functions_tui.registry.ignore import apply_ignore, rules_for
from functions_tui.registry.masking import mask_triple
from functions_tui.registry.merge import flat_fields, side_of, state_of
from functions_tui.registry.limits import runtime_key
from functions_tui.registry.kinds import MANAGED_LABEL_KEYS, default_state, find_kind
from functions_tui.registry.models import FunctionRecord, FunctionSpec
from functions_tui.registry.plan_types import FieldDiff, PairStatus, State

# PairStatus.detail words (beyond the reason text of UNKNOWN).
GHOST = "ghost"                    # missing, but the base says it was there: deleted out of band
NOT_DEPLOYED = "not_deployed"      # missing and never seen there
STALE_BASE = "stale_base"          # in sync, but the recorded base is out of date (rebase)
NO_BASE = "no_base"                # conflict because nothing was ever recorded for this pair
MARKED = "marked"                  # unmanaged, carries our mark: may be adopted or deleted
UNMARKED = "unmarked"              # unmanaged, no mark: shown, never touched
LEGACY_OWNER = "unknown registry"  # foreign: an old name-only mark this registry cannot prove it made


def ownership(observed: ObservedFunction, registry_id: str | None,
              comp_record: Any = None) -> tuple[str, bool]:
    """Whose a marked resource is, for the registry ``registry_id``: ``(foreign, claim)``.

    ``foreign`` is "" when it is ours, else what to show as its owner (the other registry's
    id, or LEGACY_OWNER). ``claim`` is True for an old name-only mark this registry can prove
    it made (it has a base for the function there, from the same resource): it is ours, and
    its mark should be migrated (a CLAIM action). ``registry_id`` None turns ownership checks
    off (engine tests of other things); the service always passes its registry's lineage.
    """
    if registry_id is None or not observed.marked:
        return "", False
    owner = observed.owner
    if owner == registry_id:
        return "", False
    if owner:
        return owner, False
    if (registry_id and comp_record is not None and comp_record.base is not None
            and (not comp_record.resource_id or not observed.resource_id
                 or comp_record.resource_id == observed.resource_id)):
        return "", True
    return LEGACY_OWNER, False


# --- fast fingerprints ------------------------------------------------------------------------
# Same results as registry.fingerprint.normalize / ObservedFunction.fingerprint (a property
# test holds them equal), about twice as fast: env value hashes are memoized (the registry's
# value and each component's copy of it are the same string, so most lookups hit), and the
# managed-label check is one set lookup. build_plan spends most of its time here.
# The hashes are keyed (HMAC under the active registry's secret, registry.secrets): the memo
# is emptied whenever another registry's keys become active.

_MANAGED_LABELS = MANAGED_LABEL_KEYS
_HASHES: dict[Any, str] = {}
_HASHES_MAX = 200_000
#: hash -> the plain value it was made from (memo misses only): lets a pair whose base or
#: component still holds a hash from before keyed hashes be compared with R (_settle_legacy).
_PLAINS: dict[str, str] = {}
_hasher: Any = None   # the active keys' hash (registry.secrets.RegistryKeys.hash)


def _keys_changed(keys: Any) -> None:
    global _hasher
    _HASHES.clear()
    _PLAINS.clear()
    _hasher = keys.hash


_secrets.on_activate(_keys_changed)


def forget_env_hashes() -> None:
    """Empty the env-hash memo (benchmarks measure cold runs; tests start clean)."""
    _HASHES.clear()
    _PLAINS.clear()


def _hash(value: Any) -> str:
    """hash_value(value), memoized. Only plain str values are memo keys: a key such as 1
    would also answer for True or 1.0, whose hashes differ ("1" / "True" / "1.0")."""
    if value.__class__ is not str:
        digest = hash_value(value)
        if value.__class__ is _secrets.EnvRef and value.resolved:
            _PLAINS[digest] = value.plain()
        return digest
    digest = _HASHES.get(value)
    if digest is None:
        if len(_HASHES) >= _HASHES_MAX:
            _HASHES.clear()
            _PLAINS.clear()
        hasher = _hasher
        if hasher is None:  # no keys activated since this module was imported
            _keys_changed(_secrets.active())  # (an in-memory key when no registry is open)
            hasher = _hasher
        # hash_value inlined (str(value) is value here): the cold plan does this once per secret.
        digest = _HASHES[value] = hasher(value)
        _PLAINS[digest] = value
    return digest


def _env_hashes(env: Mapping[Any, Any]) -> dict[str, str]:
    # A plain loop: a comprehension that raises on the first memo miss costs more than it saves.
    get = _HASHES.get
    out = {}
    for k, v in env.items():
        digest = get(v) if v.__class__ is str else None
        out[str(k)] = digest if digest is not None else _hash(v)
    return out


def _as_int(value: Any) -> int | None:
    return value if value.__class__ is int else (int(value) if value is not None and value != "" else None)


def fast_normalize(values: Mapping[str, Any], env_hashed: bool = False) -> dict[str, Any]:
    """registry.fingerprint.normalize, faster (``env_hashed``: env already holds hashes).

    Equal as a dict to normalize's result; only the key order inside env/labels may differ
    (dict equality ignores it). Store bases made by normalize, compare with this.
    """
    get = values.get
    env = get("env")
    labels = get("labels")
    memory = get("memory")
    timeout = get("timeout")
    return {
        "runtime": get("runtime") or None,
        "entry_point": get("entry_point") or None,
        "memory": _as_int(memory),
        "timeout": _as_int(timeout),
        "env": (canonical_env(env) if env_hashed else _env_hashes(env)) if env else {},
        "labels": {str(k): str(v) for k, v in labels.items() if k not in _MANAGED_LABELS} if labels else {},
        "code_digest": get("code_digest") or None,
        "state": get("state") or None,
    }


def spec_raw(spec: FunctionSpec) -> tuple:
    """The spec's values in the shape a component reports them (env in plain text), for
    :func:`raw_equal`: ((runtime, entry_point, memory, timeout, code_digest), env, labels)."""
    labels = spec.labels
    if labels and not _MANAGED_LABELS.isdisjoint(labels):
        labels = {k: v for k, v in labels.items() if k not in _MANAGED_LABELS}
    return ((spec.runtime, spec.entry_point, spec.memory, spec.timeout, spec.code_digest), spec.env, labels)


_RAW_HEAD = itemgetter("runtime", "entry_point", "memory", "timeout", "code_digest")


def raw_equal(observed: ObservedFunction, raw: tuple, state: Any, registry: Mapping[str, Any]) -> bool:
    """True only if C = R, checked on raw values without building C (no hashing, C-level
    tuple and dict compares): the fast path for the common case. Sound, not complete: equal
    raw values give equal fingerprints, while a False (a missing key, "" against None, 256
    against "256") only sends the pair down the full comparison."""
    if not observed.marked:
        return False
    values = observed.values
    try:
        if values["state"] != state or _RAW_HEAD(values) != raw[0]:
            return False
        env = values["env"]
        labels = values["labels"]
    except KeyError:
        return False
    if (env or {}) != (registry["env"] if observed.env_hashed else raw[1]):
        return False
    wanted = raw[2]
    if not labels:
        return not wanted
    if len(labels) == len(wanted) + 1 and _mark_key(observed.component) in labels \
            and wanted.items() <= labels.items():
        # The usual shape, checked in C: the wanted labels plus our mark (a managed label),
        # so nothing else is left once managed labels are dropped.
        return True
    return {k: v for k, v in labels.items() if k not in _MANAGED_LABELS} == wanted


def _mark_key(component: str) -> str | None:
    kind = find_kind(component)
    return kind.mark_key if kind is not None else None


def observed_fingerprint(observed: ObservedFunction) -> dict[str, Any]:
    """C: ``observed.fingerprint()``, computed the fast way."""
    return fast_normalize(observed.values, getattr(observed, "env_hashed", False))


def target_state(target: Mapping[str, Any], component: str) -> str | None:
    """R's ``state`` for one target: FunctionSpec.desired_state, normalized."""
    return str(target.get("state", default_state(component))) or None


def registry_fingerprint(spec: FunctionSpec, state: str | None) -> dict[str, Any]:
    """R for one component whose (normalized) run state is ``state``: the shared fields
    normalized the fast way. Other components are ``{**R, "state": theirs}``."""
    env = spec.env
    labels = spec.labels
    return {
        "runtime": spec.runtime or None,
        "entry_point": spec.entry_point or None,
        "memory": _as_int(spec.memory),
        "timeout": _as_int(spec.timeout),
        "env": _env_hashes(env) if env else {},
        "labels": {str(k): str(v) for k, v in labels.items() if k not in _MANAGED_LABELS} if labels else {},
        "code_digest": spec.code_digest or None,
        "state": state,
    }


def registry_fingerprints(spec: FunctionSpec, components: Iterable[str]) -> dict[str, dict[str, Any]]:
    """R for every component ``spec`` targets: ``spec_fingerprint(spec, c)`` per component,
    normalizing the shared fields once (only ``state`` differs between components).

    Components that want the same run state as the first one share its dict: read R, never
    change it. A target running a prebuilt image gets its own (fingerprint.image_overrides)."""
    targets = spec.targets
    out: dict[str, dict[str, Any]] = {}
    first = None
    for component in components:
        target = targets.get(component)
        if target is None:
            continue
        state = target_state(target, component)
        if first is None:
            out[component] = first = registry_fingerprint(spec, state)
        else:
            out[component] = first if state == first["state"] else {**first, "state": state}
        if "image" in target:
            overrides = image_overrides(target)
            if overrides:
                out[component] = {**out[component], **overrides}
    return out


def top_level(field_name: str) -> str:
    """``env.API_KEY`` -> ``env``: the fingerprint field a (keyed) diff belongs to."""
    return field_name.split(".", 1)[0]


def field_diffs(registry: Mapping[str, Any] | None, base: Mapping[str, Any] | None,
                component: Mapping[str, Any] | None) -> list[FieldDiff]:
    """Fields where R and C differ (env/labels key by key), B shown alongside, each with its
    three-way merge side (registry.merge). Fields where R = C are left out even when B
    differs: nothing to decide there. Secret fields come masked."""
    has_base = base is not None
    diffs: list[FieldDiff] = []
    for flat, b, r, c in flat_fields(registry or {}, base, component or {}, FINGERPRINT_FIELDS):
        side = side_of(r, b, c, has_base)
        secret = top_level(flat) in SECRET_FIELDS
        if secret:
            b, r, c = mask_triple(b, r, c)
        diffs.append(FieldDiff(flat, base=b, registry=r, component=c, secret=secret, side=side))
    return diffs


def classify_fingerprints(function: str, component: str, *, registry: dict | None,
                          base: dict | None, observed: ObservedFunction | None,
                          current: dict | None, rules: tuple[str, ...] = (),
                          observation_complete: bool = True, available: bool = True,
                          reason: str = "", foreign: str = "") -> PairStatus:
    """The core of :func:`classify` on ready fingerprints (R, B, C); build_plan calls this.

    ``registry`` is None when the spec does not target the component (or there is no
    record); ``current`` is ``observed.fingerprint()`` (passed in so it is computed once);
    ``foreign`` names the owner when the resource's mark is another registry's (see
    :func:`foreign_owner`).
    """
    if not available:
        return PairStatus(function, component, State.UNKNOWN, detail=reason or f"{component} is unavailable")
    if observed is None:
        if registry is None:
            # Neither side wants or has it: nothing to do, so it is trivially in sync.
            return PairStatus(function, component, State.IN_SYNC, detail="absent")
        if not observation_complete:
            return PairStatus(function, component, State.UNKNOWN,
                              detail=reason or f"{component} listing was incomplete; absence proves nothing")
        return PairStatus(function, component, State.MISSING, detail=GHOST if base is not None else NOT_DEPLOYED)
    if not observed.marked:
        # Not ours, even when the registry wants a function of that name there: never compared,
        # updated or deleted; a person renames one of them.
        return PairStatus(function, component, State.UNMANAGED, detail=UNMARKED)
    if foreign:
        # Another registry deployed it (or an old mark this registry cannot prove is its own).
        return PairStatus(function, component, State.FOREIGN, detail=foreign, wanted=registry is not None)
    if registry is None:
        return PairStatus(function, component, State.UNMANAGED, detail=MARKED)

    if registry != current or base != current:
        base, current = _settle_legacy(registry, base, current, observed)
        base, current = _settle_runtime_spelling(registry, base, current)
    if rules:
        registry, base, current = apply_ignore(registry, rules), apply_ignore(base, rules), apply_ignore(current, rules)
    if registry == current:
        return PairStatus(function, component, State.IN_SYNC, detail="" if base == current else STALE_BASE)
    diffs = field_diffs(registry, base, current)
    state = State(state_of(d.side for d in diffs))
    return PairStatus(function, component, state, detail=NO_BASE if base is None else "", diffs=diffs)


def _settle_runtime_spelling(registry: dict | None, base: dict | None,
                              current: dict | None) -> tuple[dict | None, dict | None]:
    """B and C with a runtime that is R's in another spelling (``python312`` reported by
    Cloud Functions for a declared ``python3.12``; registry.limits.runtime_key) spelled as R,
    and C's spelled as B's when those two agree: the spelling is the provider's, the runtime
    is the same, so it is no change to push, pull or ask about."""
    def runtime(fingerprint: dict | None) -> Any:
        return fingerprint.get("runtime") if fingerprint.__class__ is dict else None

    def respelled(fingerprint: dict | None, as_: Any) -> dict | None:
        value = runtime(fingerprint)
        if value is None or as_ is None or value == as_ or runtime_key(str(value)) != runtime_key(str(as_)):
            return fingerprint
        return {**fingerprint, "runtime": as_}

    wanted = runtime(registry)
    base, current = respelled(base, wanted), respelled(current, wanted)
    return base, respelled(current, runtime(base))


def _has_legacy(env: Any) -> bool:
    if env.__class__ is not dict:
        return False
    for v in env.values():
        if v.__class__ is str and v.startswith(_secrets.LEGACY_KEYED):
            return True
    return False


def _settle_legacy(registry: dict | None, base: dict | None, current: dict | None,
                   observed: ObservedFunction | None) -> tuple[dict | None, dict | None]:
    """B and C with each hash kept from before keyed hashes (``l:``: a base recorded then, a
    docker label deployed then) replaced by the keyed hash of the value it stands for, where
    that value is at hand: R's (from the memo) or the component's plain one. So an upgrade
    turns no pair into drift; a hash no value matches stays as it is (it differs from both)."""
    benv = base.get("env") if base.__class__ is dict else None
    cenv = current.get("env") if current.__class__ is dict else None
    if not (_has_legacy(benv) or _has_legacy(cenv)):
        return base, current
    renv = registry.get("env") if registry.__class__ is dict else None
    cplain = None
    if observed is not None and not getattr(observed, "env_hashed", False):
        cplain = observed.values.get("env") or None
    keys = _secrets.active()

    def settle(env: dict) -> dict:
        out = dict(env)
        for k, v in env.items():
            if not (v.__class__ is str and v.startswith(_secrets.LEGACY_KEYED)):
                continue
            candidates = []
            if renv and renv.get(k) in _PLAINS:
                candidates.append(_PLAINS[renv[k]])
            if cplain and k in cplain:
                candidates.append(str(cplain[k]))
            for plain in candidates:
                if keys.legacy_keyed(_secrets.legacy_hash(plain)) == v:
                    out[k] = _hash(plain)
                    break
        return out

    if _has_legacy(benv):
        base = {**base, "env": settle(benv)}
    if _has_legacy(cenv):
        current = {**current, "env": settle(cenv)}
    return base, current


def classify(record: FunctionRecord | None, observed: ObservedFunction | None, component: str,
             observation_complete: bool = True, available: bool = True, *, reason: str = "",
             global_ignore: Iterable[str] = (), registry_id: str | None = None) -> PairStatus:
    """Classify one (function, component) pair. Total: every input gives exactly one state.

    ``record`` None means the registry does not know the function; ``observed`` None that
    the component's listing does not show it. ``observation_complete`` False (partial or
    failed listing) makes an absent item UNKNOWN; a present one is still classified.
    """
    name = record.name if record is not None else (observed.name if observed is not None else "")
    registry = base = comp_record = None
    rules: tuple[str, ...] = tuple(global_ignore)
    if record is not None:
        registry = registry_fingerprints(record.spec, (component,)).get(component)
        comp_record = record.components.get(component)
        base = comp_record.base if comp_record is not None else None
        rules = rules_for(record.spec.ignore, global_ignore)
    current = observed_fingerprint(observed) if observed is not None else None
    foreign = ownership(observed, registry_id, comp_record)[0] if observed is not None else ""
    return classify_fingerprints(name, component, registry=registry, base=base, observed=observed,
                                 current=current, rules=rules, observation_complete=observation_complete,
                                 available=available, reason=reason, foreign=foreign)


def classify_all(records, observations, components=None, **kw):
    """Every pair's status with the plan's guards: see registry.plan.classify_all."""
    from functions_tui.registry.plan import classify_all as _classify_all  # plan builds on this module

    return _classify_all(records, observations, components, **kw)
