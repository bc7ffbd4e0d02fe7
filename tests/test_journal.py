"""The operations journal (registry.journal): one JSON line per event, appended and fsynced;
reading folds the lines; finished entries' lines are dropped by compaction; a torn last line
(a crash mid-append) is ignored and cut off; the old one-object format still reads; files
are 0600; appends from several processes and a compaction never lose an event."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from functions_tui.registry import journal as journal_module
from functions_tui.registry.journal import DONE, STARTED, Journal, JournalError, mark_live, mark_over


@pytest.fixture
def journal(tmp_path):
    return Journal(tmp_path / "journal.json")


def lines(journal) -> list[dict]:
    return [json.loads(line) for line in journal.path.read_text().splitlines()]


def test_each_event_is_one_appended_line(journal):
    a = journal.begin("a", "aws", "create", run="r1")
    first = journal.path.read_bytes()
    b = journal.begin("b", "aws", "update", run="r1", resource_id="arn:b")
    journal.finish(a, made=True)
    journal.finish(b, made=False)
    data = journal.path.read_bytes()
    assert data.startswith(first)  # appended: what was written stays as it was
    assert [(e["event"], e.get("function") or e["id"]) for e in lines(journal)] == [
        ("begin", "a"), ("begin", "b"), ("finish", a.id), ("finish", b.id)]
    assert lines(journal)[2]["made"] is True and lines(journal)[3]["made"] is False


def test_reading_folds_the_lines(journal):
    a = journal.begin("a", "aws", "create", run="r1")
    b = journal.begin("b", "aws", "update", run="r1")
    c = journal.begin("c", "gcp", "delete", run="r2")
    d = journal.begin("d", "gcp", "create", run="r2")
    journal.finish(a, made=True)       # done: made, not recorded yet
    journal.finish(b, made=False)      # failed cleanly: gone
    journal.finish(c, made=True)
    journal.clear([c.id])              # recorded: gone
    assert a.status == DONE
    assert [(e.function, e.status) for e in journal.entries()] == [("a", DONE), ("d", STARTED)]
    journal.clear_run("r1")
    assert [e.function for e in journal.entries()] == ["d"]
    assert d.id == journal.entries()[0].id


def test_appending_never_reads_the_journal(journal, monkeypatch):
    """So an event costs the same however long the journal has grown."""
    for i in range(50):
        journal.finish(journal.begin(f"f{i}", "aws", "create", run="old"), made=True)

    def no_reading(*args, **kwargs):
        raise AssertionError("an append read the journal")

    monkeypatch.setattr(journal_module, "_fold", no_reading)
    size = journal.path.stat().st_size
    entry = journal.begin("new", "aws", "create", run="r")
    journal.finish(entry, made=True)
    journal.clear([entry.id])
    assert journal.path.stat().st_size > size


def test_a_torn_last_line_is_ignored_then_cut_off(journal):
    a = journal.begin("a", "aws", "create", run="r")
    whole = journal.path.read_bytes()
    b_line = whole.replace(a.id.encode(), b"bbbbbbbbbbbb")
    with open(journal.path, "ab") as fh:
        fh.write(b_line[: len(b_line) // 2])  # the crash came mid-append
    assert [e.function for e in journal.entries()] == ["a"]
    assert [e.function for e in Journal(journal.path).pending(include_live=True)] == ["a"]
    journal.finish(a, made=True)  # the next append first cuts the torn line off
    assert journal.path.read_bytes().count(b"\n") == 2
    assert [(e.function, e.status) for e in journal.entries()] == [("a", DONE)]


@pytest.mark.parametrize("tail", [b'{"ev', b'{"event":"begin","id":"x', b"\x00" * 40])
def test_torn_tails_a_crash_can_leave_read_as_nothing(journal, tail):
    journal.path.write_bytes(tail)
    assert journal.entries() == []
    journal.begin("a", "aws", "create")
    assert [e.function for e in journal.entries()] == ["a"]


@pytest.mark.parametrize("damage", [b"{not json", b'{"event":"begin","id":"x"}\nnot a line\n'
                                    b'{"event":"clear","ids":[]}\n', b'{"event":"explode"}\n'])
def test_damage_is_an_error_that_names_the_file(journal, damage):
    journal.path.write_bytes(damage)
    with pytest.raises(JournalError, match="move the file away") as info:
        journal.entries()
    assert str(journal.path) in str(info.value)
    with pytest.raises(JournalError):
        journal.compact()


def test_compaction_keeps_only_open_entries(journal):
    mark_live("live")
    try:
        keep = journal.begin("keep", "aws", "update", run="live")          # another run still going
        done = journal.begin("done", "aws", "create", run="crashed")
        journal.finish(done, made=True)                                    # made, never recorded
        for i in range(20):
            e = journal.begin(f"ok{i}", "aws", "create", run="finished")
            journal.finish(e, made=True)
        journal.clear_run("finished")                                      # recorded: compacted away
        assert [(e["event"], e["function"], e["status"]) for e in lines(journal)] == [
            ("begin", "keep", STARTED), ("begin", "done", DONE)]
        assert journal.compact() == 2
        later = journal.begin("later", "gcp", "create", run="live")
        assert [e.id for e in journal.entries()] == [keep.id, done.id, later.id]
    finally:
        mark_over("live")
    assert journal.acknowledge() == 3
    assert not journal.path.exists()  # nothing open: no file


def test_the_old_one_object_format_is_read_and_rewritten(journal):
    journal.path.write_text(json.dumps({"version": 1, "entries": [
        {"id": "abc", "run": "r", "function": "a", "component": "aws", "kind": "update",
         "resource_id": "", "status": "done", "started_at": "2026-01-01T00:00:00+00:00",
         "pid": 2 ** 22 + 7, "host": "elsewhere", "user": "me"}]}, indent=1))
    assert [(e.id, e.status) for e in journal.pending()] == [("abc", DONE)]
    assert journal.compact() == 1
    assert [e["id"] for e in lines(journal)] == ["abc"]  # one line per event now
    journal.begin("b", "aws", "create")
    assert [e.function for e in journal.entries()] == ["a", "b"]


def test_files_are_private(journal):
    old = os.umask(0o022)
    try:
        entry = journal.begin("a", "aws", "create", run="r")
        for path in (journal.path, journal.lock_path):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        journal.begin("b", "aws", "create", run="other")
        journal.finish(entry, made=True)
        journal.clear_run("r")  # compacted: a new file
        assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_appends_from_several_processes_and_compactions_lose_nothing(journal):
    code = (
        "import sys\n"
        "from functions_tui.registry.journal import Journal\n"
        "j = Journal(sys.argv[1])\n"
        "for i in range(150):\n"
        "    e = j.begin(f'{sys.argv[2]}-{i}', 'aws', 'create', run=sys.argv[2])\n"
        "    j.finish(e, made=i % 2 == 0)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(journal.path), f"p{n}"]) for n in range(3)]
    compactions = 0
    while any(p.poll() is None for p in procs):
        journal.compact()
        compactions += 1
    assert all(p.wait() == 0 for p in procs)
    entries = journal.entries()
    # Every begin survived; the failed half went with their finish lines; the made half is done.
    assert sorted(e.function for e in entries) == sorted(f"p{n}-{i}" for n in range(3) for i in range(0, 150, 2))
    assert {e.status for e in entries} == {DONE}
    assert compactions > 0


def test_temp_files_a_killed_rewrite_left_are_removed_by_the_next_rewrite(journal):
    stale = journal.path.parent / ".journal-abc123.tmp"
    stale.write_text("half a rewrite")
    first = journal.begin("fn", "aws", "create", run="r1")
    journal.begin("other", "aws", "create", run="r2")
    journal.finish(first, made=True)
    journal.clear_run("r1")                  # a rewrite: drops r1's lines
    assert not stale.exists()
    assert [e.function for e in journal.pending()] == ["other"]
