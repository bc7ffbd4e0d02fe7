"""Command palette provider: sync a component, show the plan, resolve conflicts, jump to a function,
act on one function (deploy hello to aws, delete it from docker, …)."""

from __future__ import annotations

from functools import partial
from typing import Iterable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from functions_tui.screens.function_actions import command_text

#: Functions listed per search at most (a 10k registry must not flood the palette).
MAX_FUNCTION_HITS = 40
#: Functions whose actions (deploy / delete / sync … each) are offered per search at most.
MAX_ACTION_FUNCTIONS = 5
ACTION_WORDS = frozenset({"deploy", "delete", "adopt", "sync", "run", "stop", "edit", "to", "from", "on"})


class FunctionsCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        commands: list[tuple[str, object, str]] = [
            ("Sync all components", app.action_sync_all, "observe every component and refresh states"),
            ("Show plan", app.action_show_plan, "what a sync would change, apply on confirmation"),
            ("Resolve conflicts", app.action_show_conflicts, "keep registry / take component / merge"),
        ]
        for component in getattr(app, "components", []):
            commands.append((f"Sync {component}", partial(app.start_syncs, app.jobs_for(component)),
                             f"observe {component} now"))
            commands.append((f"Plan {component}", partial(app.action_show_plan, component),
                             f"the plan for {component} only"))
        return commands

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
        app = self.app
        needle = query.strip().lower()
        needle = needle[5:] if needle.startswith("open ") else needle
        shown = 0
        for name in sorted(getattr(app, "data").records):
            if shown >= MAX_FUNCTION_HITS:
                break
            # substring first (cheap over 10k names), fuzzy score only for those
            if needle in name.lower():
                text = f"Open {name}"
                yield Hit(max(matcher.match(text), 0.5), matcher.highlight(text),
                          partial(app.jump_to, name), text=text, help="jump to the function's detail")
                shown += 1
        for hit in self._function_action_hits(query, matcher):
            yield hit

    def _function_action_hits(self, query: str, matcher) -> Iterable[Hit]:
        """"deploy hello to aws", "delete hello from docker", "edit hello"…: the actions the
        dashboard's `x` offers, for functions whose name holds a word of the query (a
        substring test first: fuzzy scoring every action of 10k functions would lag)."""
        app = self.app
        actions_of = getattr(app, "function_actions", None)
        if actions_of is None:
            return
        # "deploy hello to aws": the words that are not verbs, links or components name the function
        skip = ACTION_WORDS | set(getattr(app, "components", ()))
        words = [w for w in query.strip().lower().split() if len(w) >= 2 and w not in skip]
        if not words:
            return
        names = []
        for name in sorted(getattr(app, "data").records):
            if any(w in name.lower() for w in words):
                names.append(name)
                if len(names) >= MAX_ACTION_FUNCTIONS:
                    break
        for name in names:
            for action in actions_of(name, None):
                text = command_text(action)
                score = matcher.match(text)
                if score > 0:
                    yield Hit(score, matcher.highlight(text),
                              partial(app.run_function_action, action.intent, name, action.components),
                              text=text, help="planned first: you confirm before anything changes")
