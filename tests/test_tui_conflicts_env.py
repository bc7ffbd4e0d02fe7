"""Env conflicts a person can judge (issue 11, point 4).

- each env key that differs says which side changed it and how (added / removed / changed),
  its values masked;
- `v` shows the clear values of the key under the cursor (asked of the service then), and
  hides them again on `v`, on a cursor move, on another item and under another screen; the
  clear value never reaches the app's log, a notification, the activity log or the history;
- every field starts undecided, an item is decided only when each field is, and `a` says
  how many are left (applying only the fully decided items, after asking).

The UI behaviour runs on the sample service; the last test runs end to end on moto's Lambda:
the registry side edited in function.yaml and `add`, the component side with awscli.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import textual.constants

from functions_tui.app.tui import FunctionsApp
from functions_tui.app.tui_sample import SAMPLE_ENV_VALUES, fixed_clock, sample_service
from functions_tui.components.aws import AwsComponent
from functions_tui.screens.confirm import ConfirmScreen
from functions_tui.screens.conflict_screen import ConflictScreen
from functions_tui.screens.help_screen import HelpScreen
from tests.provider_clis import aws
from tests.tui_helpers import app_for, deploy_all, row_state, run_async, service_with, wait_for_sync, wait_until

SIZE = (140, 44)
KEEP, CHANGED_ON = 4, 5   # the table's columns: field, base, registry, component, keep, changed on
#: The sample conflicts' distinctive clear values (LOG_LEVEL's "info" / "debug" are ordinary
#: words Textual's log holds anyway): none may show anywhere but the revealed cells.
SECRETS = sorted({v for k in ("API_KEY", "DB_URL") for v in SAMPLE_ENV_VALUES[k] if v})


class Recorder:
    """Every notification the app shows (message and title), for the tests to search."""

    def __init__(self, app: FunctionsApp) -> None:
        self.texts: list[str] = []
        notify = app.notify

        def recording(message, *args, **kwargs):
            self.texts.append(f"{kwargs.get('title', '')} {message}")
            return notify(message, *args, **kwargs)
        app.notify = recording


@pytest.fixture
def textual_log(tmp_path, monkeypatch) -> Path:
    """Textual's own log (events, messages, workers) written to a file the test reads."""
    path = tmp_path / "textual.log"
    monkeypatch.setattr(textual.constants, "LOG_FILE", str(path))
    return path


async def open_sample_conflicts(pilot) -> ConflictScreen:
    app = pilot.app
    await pilot.press("S")
    await wait_for_sync(pilot, after=0)
    await pilot.press("c")
    assert await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
    return app.screen


def cursor_to(screen: ConflictScreen, field: str) -> None:
    fields = [d.field for d in screen.current.diffs]
    screen.query_one("#conflict-fields").move_cursor(row=fields.index(field), animate=False)


def row_text(screen: ConflictScreen, field: str) -> list[str]:
    return [str(cell) for cell in screen.query_one("#conflict-fields").get_row(field)]


def table_text(screen: ConflictScreen) -> str:
    table = screen.query_one("#conflict-fields")
    return "\n".join(" | ".join(str(c) for c in table.get_row_at(i)) for i in range(table.row_count))


# --- the helpers: how a side changed a key, from plain values or from masked words only --------------
def test_key_changes_from_plain_values_and_from_masked_words_agree():
    from functions_tui.registry.masking import NOT_KEPT, mask_triple, masked_changes, reveal_key
    from functions_tui.registry.merge import key_changes

    cases = [("a", "a", "b"), ("a", None, "a"), (None, "x", None), ("a", "b", "c"), (None, "x", "y")]
    for base, registry, component in cases:
        assert masked_changes(*mask_triple(base, registry, component)) == key_changes(base, registry, component)
    assert key_changes("a", None, "b") == ("removed", "changed")
    same = lambda stored, value: stored == f"#{value}"   # a stand-in for the keyed hash
    assert reveal_key("K", "#a", "a", "b", same).base == "a"
    assert reveal_key("K", "#z", "a", "b", same).base is NOT_KEPT
    assert reveal_key("K", None, "a", "b", same).base is None
    shown = repr(reveal_key("K", "#pw-1234", "pw-1234", "pw-5678", same))
    assert "pw-" not in shown                                   # a stray log line shows no value


# --- which keys differ, on which side ----------------------------------------------------------------
@run_async
async def test_each_env_key_says_which_side_changed_it_and_stays_masked():
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sample_conflicts(pilot)
        assert row_text(screen, "env.API_KEY")[CHANGED_ON] == "comp changed"
        assert row_text(screen, "env.LOG_LEVEL")[CHANGED_ON] == "reg changed"
        assert row_text(screen, "env.DB_URL")[CHANGED_ON] == "both ⚡\nreg changed\ncomp removed"
        title = str(screen.query_one("#conflict-title").render())
        assert "env keys that differ: API_KEY (component), DB_URL (both), LOG_LEVEL (registry)" in title
        assert not any(secret in table_text(screen) for secret in SECRETS)
        assert row_text(screen, "env.DB_URL")[1:4] == ["set", "•••• (changed)", "unset"]


# --- choices start unset; decided only when every field is -----------------------------------------
@run_async
async def test_fields_start_undecided_and_apply_counts_what_is_left():
    service = sample_service()
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        notes = Recorder(app)
        screen = await open_sample_conflicts(pilot)
        item = screen.current
        fields = [d.field for d in item.diffs]
        assert screen.undecided(item) == fields                      # nothing chosen for the person
        assert all(row_text(screen, f)[KEEP].startswith("?") for f in fields)

        cursor_to(screen, "memory")
        await pilot.press("2")                                       # one field: only that one is set
        assert screen.decisions[(item.function, item.component)].fields == {"memory": "component"}
        assert screen.undecided(item) == [f for f in fields if f != "memory"]
        assert row_text(screen, "env.LOG_LEVEL")[KEEP] == "? (m reg)"   # a suggestion, not a choice
        assert screen.ready_decisions() == []
        assert f"4 of {len(fields)} undecided" in str(screen.query_one("#conflict-list").get_option_at_index(0).prompt)

        await pilot.press("a")                                       # refused, saying how many are left
        await pilot.pause()
        assert app.screen is screen
        left = 4 + len(screen.conflicts[1].diffs)
        assert any(f"{left} fields still undecided (in 2 items)" in n for n in notes.texts), notes.texts

        await pilot.press("m")                                       # the fields that merge by themselves
        assert screen.undecided(item) == ["env.DB_URL"]              # the conflicting key still open
        cursor_to(screen, "env.DB_URL")
        await pilot.press("1")                                       # per key
        assert screen.undecided(item) == []
        [decision] = screen.ready_decisions()
        assert decision.choice == "merge" and decision.fields == {
            "memory": "component", "env.API_KEY": "component", "env.DB_URL": "registry",
            "env.LOG_LEVEL": "registry", "timeout": "component"}

        await pilot.press("a")                                       # the other item is still open:
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = app.screen.question
        assert f"{len(screen.conflicts[1].diffs)} fields in 1 item still undecided" in question
        assert "Apply only the 1 decision fully decided?" in question
        await pilot.press("y")
        assert await wait_until(pilot, lambda: app.screen is not screen)
        await app.workers.wait_for_complete()

    resolved = [(h.function, h.component, h.action) for h in service.history_entries if h.source == "user"]
    assert resolved == [(item.function, item.component, "resolve:merge")]


@run_async
async def test_keep_registry_sets_every_field_and_undo_takes_it_back():
    app = FunctionsApp(sample_service(), clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_sample_conflicts(pilot)
        item = screen.current
        await pilot.press("r")
        assert screen.undecided(item) == []
        assert {row_text(screen, d.field)[KEEP] for d in item.diffs} == {"registry"}   # shown, not implied
        await pilot.press("u")
        assert screen.undecided(item) == [d.field for d in item.diffs]


# --- reveal ------------------------------------------------------------------------------------------------
@run_async
async def test_reveal_toggles_and_hides_on_move_and_never_leaks(textual_log):
    service = sample_service()
    app = FunctionsApp(service, clock=fixed_clock, autosync=False)
    async with app.run_test(size=SIZE) as pilot:
        notes = Recorder(app)
        screen = await open_sample_conflicts(pilot)
        base, registry, component = SAMPLE_ENV_VALUES["API_KEY"]

        cursor_to(screen, "env.API_KEY")
        await pilot.press("v")
        assert await wait_until(pilot, lambda: screen.revealed is not None)
        assert row_text(screen, "env.API_KEY")[1:4] == [base, registry, component]
        assert row_text(screen, "env.LOG_LEVEL")[2] == "•••• (changed)"   # only the field under the cursor
        assert "env.API_KEY shown in clear" in str(screen.query_one("#conflict-title").render())

        await pilot.press("v")                                          # toggled off
        assert screen.revealed is None
        assert component not in table_text(screen)

        await pilot.press("v")
        assert await wait_until(pilot, lambda: screen.revealed is not None)
        await pilot.press("down")                                       # the cursor moves: hidden
        assert await wait_until(pilot, lambda: screen.revealed is None)
        assert not any(secret in table_text(screen) for secret in SECRETS)

        cursor_to(screen, "env.DB_URL")
        await pilot.press("v")
        assert await wait_until(pilot, lambda: screen.revealed is not None)
        assert row_text(screen, "env.DB_URL")[1:4] == [*SAMPLE_ENV_VALUES["DB_URL"][:2], "unset"]
        await pilot.press("n")                                          # another item: hidden
        assert screen.revealed is None
        assert not any(secret in table_text(screen) for secret in SECRETS)

        cursor_to(screen, "env.API_KEY")
        await pilot.press("v")
        assert await wait_until(pilot, lambda: screen.revealed is not None)
        await pilot.press("question_mark")                              # another screen on top: hidden
        assert await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert screen.revealed is None
        await pilot.press("escape")
        assert await wait_until(pilot, lambda: app.screen is screen)
        assert not any(secret in table_text(screen) for secret in SECRETS)

        cursor_to(screen, "memory")                                     # not a secret: nothing to fetch
        await pilot.press("v")
        assert screen.revealed is None and any("not secret" in n for n in notes.texts)

        # decide with a reveal shown, apply: the values stay out of every record of the session
        cursor_to(screen, "env.API_KEY")
        await pilot.press("v")
        assert await wait_until(pilot, lambda: screen.revealed is not None)
        await pilot.press("c", "a", "y")
        assert await wait_until(pilot, lambda: app.screen is not screen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        activity = "\n".join(app.dashboard.activity.entries)

    logged = textual_log.read_text()
    assert "ConflictScreen" in logged                                   # the log did record the session
    history = "\n".join(repr(h) for h in service.history_entries)
    for secret in SECRETS:
        assert secret not in logged, "a revealed value reached Textual's log"
        assert not any(secret in n for n in notes.texts), "a revealed value reached a notification"
        assert secret not in activity and secret not in history and secret not in "\n".join(service.calls)


# --- end to end on moto's Lambda ----------------------------------------------------------------------------
DECLARATION = """\
name: greeter
runtime: python3.12
entry_point: main.main
memory: 128
timeout: 30
env:
  API_KEY: "k-base"
  DB_URL: "db-base"
  LOG_LEVEL: "info"
  GREETING: "hello"
targets:
  aws: {}
"""


@run_async
async def test_env_conflict_on_lambda_judged_key_by_key_revealed_and_resolved(tmp_path, home, aws_clean, textual_log):
    folder = tmp_path / "src" / "greeter"
    folder.mkdir(parents=True)
    (folder / "main.py").write_text("def main(event, context):\n    return 'hi'\n")
    declaration = folder / "function.yaml"
    declaration.write_text(DECLARATION)
    service = service_with(home, aws=AwsComponent(role_arn=aws_clean.role_arn))
    service.add(folder)
    deploy_all(service, "aws")

    # the registry: API_KEY rotated one way, LOG_LEVEL raised (function.yaml, then add)
    declaration.write_text(DECLARATION.replace('"k-base"', '"k-registry"').replace('"info"', '"debug"'))
    service.add(folder)
    # someone on the console: API_KEY rotated another way, DB_URL dropped
    aws(aws_clean, "lambda", "update-function-configuration", "--function-name", "greeter", "--environment",
        "Variables={API_KEY=k-component,LOG_LEVEL=info,GREETING=hello}")

    app = app_for(service, "aws")
    async with app.run_test(size=SIZE) as pilot:
        notes = Recorder(app)
        await wait_for_sync(pilot, after=0)
        assert row_state(app, "aws", "greeter") == "conflict"
        await pilot.press("c")
        assert await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen))
        screen = app.screen
        assert [d.field for d in screen.current.diffs] == ["env.API_KEY", "env.DB_URL", "env.LOG_LEVEL"]
        assert row_text(screen, "env.API_KEY")[CHANGED_ON] == "both ⚡\nreg changed\ncomp changed"
        assert row_text(screen, "env.DB_URL")[CHANGED_ON] == "comp removed"
        assert row_text(screen, "env.LOG_LEVEL")[CHANGED_ON] == "reg changed"
        assert "k-registry" not in table_text(screen) and "k-component" not in table_text(screen)

        cursor_to(screen, "env.API_KEY")                # the values, from the service, on request
        await pilot.press("v")
        assert await wait_until(pilot, lambda: screen.revealed is not None)
        assert row_text(screen, "env.API_KEY")[1:4] == ["(set; value not kept)", "k-registry", "k-component"]
        await pilot.press("v")
        assert screen.revealed is None and "k-component" not in table_text(screen)
        cursor_to(screen, "env.DB_URL")
        await pilot.press("v")
        assert await wait_until(pilot, lambda: screen.revealed is not None)
        assert row_text(screen, "env.DB_URL")[1:4] == ["db-base", "db-base", "unset"]   # base told by its hash
        await pilot.press("v")

        # per key: API_KEY from the console, DB_URL kept (the registry's), LOG_LEVEL the registry's
        cursor_to(screen, "env.API_KEY")
        await pilot.press("2")
        await pilot.press("a")                          # two keys still open: refused
        await pilot.pause()
        assert app.screen is screen and any("2 fields still undecided" in n for n in notes.texts)
        cursor_to(screen, "env.DB_URL")
        await pilot.press("1")
        await pilot.press("m")                          # LOG_LEVEL: changed in the registry only
        [decision] = screen.ready_decisions()
        assert decision.fields == {"env.API_KEY": "component", "env.DB_URL": "registry", "env.LOG_LEVEL": "registry"}
        seen = app.sync_count
        await pilot.press("a", "y")
        assert await wait_until(pilot, lambda: app.screen is not screen), "the conflict screen stayed open"
        await wait_for_sync(pilot, after=seen)
        assert row_state(app, "aws", "greeter") == "in_sync"
        activity = "\n".join(app.dashboard.activity.entries)

    wanted = {"API_KEY": "k-component", "DB_URL": "db-base", "LOG_LEVEL": "debug", "GREETING": "hello"}
    config = aws(aws_clean, "lambda", "get-function-configuration", "--function-name", "greeter")
    assert config["Environment"]["Variables"] == wanted
    assert dict(service.records()["greeter"].spec.env) == wanted
    assert 'API_KEY: "k-component"' in declaration.read_text() or "API_KEY: k-component" in declaration.read_text()
    history = "\n".join(repr(h) for h in service.history("greeter"))
    logged = textual_log.read_text()
    for secret in ("k-registry", "k-component", "db-base"):
        assert secret not in logged and secret not in activity and secret not in history
        assert not any(secret in n for n in notes.texts)
