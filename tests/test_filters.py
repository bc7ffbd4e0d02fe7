"""The filter language (registry/filters.py): qualifiers are TinyDB queries answered by the
registry file itself (RegistryStore.names), plain words match names; a bad qualifier is an
error that names it and says what it takes."""

from __future__ import annotations

import pytest

from functions_tui.registry import filters
from functions_tui.registry.models import FunctionRecord, FunctionSpec
from functions_tui.registry.store import RegistryStore


@pytest.fixture
def store(tmp_path):
    store = RegistryStore(tmp_path / "registry.json")
    specs = [
        FunctionSpec(name="orders-api", runtime="python3.12", memory=512, timeout=60,
                     labels={"team": "payments"}, env={"API_KEY": "s3cr3t"}, targets={"aws": {}, "docker": {}}),
        FunctionSpec(name="payments", runtime="python3.12", memory=256, timeout=30,
                     labels={"team": "payments", "tier": "gold"}, targets={"gcp": {"region": "us-central1"}}),
        FunctionSpec(name="thumbnailer", runtime="nodejs20", entry_point="index.handler", memory=1024,
                     timeout=300, labels={"team": "media"}, targets={"docker": {}}),
    ]
    with store.transaction("import") as txn:
        for spec in specs:
            txn.put(FunctionRecord(spec=spec), action="add")
    return store


@pytest.mark.parametrize("text, expected", [
    ("runtime:python3.12", ["orders-api", "payments"]),
    ("entry:index.handler", ["thumbnailer"]),
    ("memory:>256", ["orders-api", "thumbnailer"]),
    ("memory:>=256 memory:<=512", ["orders-api", "payments"]),
    ("memory:256", ["payments"]),
    ("timeout:<60", ["payments"]),
    ("label:team=payments", ["orders-api", "payments"]),
    ("label:tier", ["payments"]),
    ("label:team=payments label:tier=gold", ["payments"]),
    ("env:API_KEY", ["orders-api"]),
    ("env:s3cr3t", []),                       # a value is never matched: only that the key is set
    ("target:docker", ["orders-api", "thumbnailer"]),
    ("target:aws runtime:nodejs20", []),
])
def test_each_qualifier_is_a_query_the_registry_file_answers(store, text, expected):
    parsed = filters.parse(text)
    assert parsed.free == "" and parsed.query is not None
    assert store.names(parsed.query) == expected


def test_plain_words_stay_free_text_and_a_colon_in_a_name_is_a_word():
    parsed = filters.parse("In Sync  memory:>1 ns:thing")
    assert parsed.free == "in sync ns:thing"
    assert filters.name_matches("my-ns:thing", "ns:thing") and not filters.name_matches("other", "ns:thing")
    assert filters.parse("").empty and filters.parse("   ").empty


@pytest.mark.parametrize("text, says", [
    ("memory:lots", "memory takes a whole number"),
    ("timeout:>=", "timeout takes a whole number"),
    ("runtime:", "give a value after the colon (runtime:python3.12)"),
    ("label:team=", "give a label name, and a value after '='"),
    ("label:=x", "give a label name"),
])
def test_a_qualifier_that_cannot_be_read_names_itself_and_what_it_takes(text, says):
    with pytest.raises(filters.FilterError) as err:
        filters.parse(text)
    assert repr(text.split()[0]) in str(err.value) and says in str(err.value)


def test_names_builds_no_record_and_follows_the_file(store):
    query = filters.parse("label:team=media").query
    assert store.names(query) == ["thumbnailer"]
    with store.transaction("user") as txn:
        txn.put(FunctionRecord(spec=FunctionSpec(name="resizer", runtime="nodejs20", labels={"team": "media"})),
                action="add")
    assert sorted(store.names(query)) == ["resizer", "thumbnailer"]
