"""The full-screen app: dashboard, background sync workers, plan / conflict / detail screens.

Threading model (dolphie's): every SyncService call runs in a Textual thread worker; a
worker reports back with ``post_message``, and one that fails lands in
``on_worker_state_changed``; a sync job reschedules itself with ``set_timer`` only after it
finishes, so two runs of one job never overlap. The event loop only swaps in prebuilt rows, so
the UI never waits on the network or on building 10k rows. The workers' threads can be
abandoned when their work only reads (app/abandonable_executor.py): quitting never waits
for a sync or the registry's load; every other worker (apply, resolve…) is waited for.
"""

from __future__ import annotations

import asyncio
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Header
from textual.worker import Worker, WorkerState

from functions_tui.app.abandonable_executor import AbandonableExecutor, abandonable
from functions_tui.app.sync_scheduler import SyncScheduler
from functions_tui.registry.kinds import states_of
from functions_tui.app.tui_bridge import (Clock, DashboardData, DashboardView, SyncJob, SyncOutcome, build_view,
                            component_names, load_dashboard, merged_copy,
                            run_sync, sync_jobs, system_clock)
from functions_tui.registry.gc_pause import freeze_long_lived, gc_paused
from functions_tui.screens.dashboard import Dashboard
from functions_tui.screens.filter_bar import FilterBar
from functions_tui.screens.time_text import clock_text
from functions_tui.screens.sync_status import SyncStatus
from functions_tui.screens.function_list import FunctionList
from functions_tui.screens.panel_grid import WIDE
from functions_tui.screens.palette import FunctionsCommands
from functions_tui.screens.read_only import MUTATING_ACTIONS
from functions_tui.screens.states import HEADER_ICON
from functions_tui.screens.keys_footer import KeysFooter

#: Starts what the app needs (the sandbox's backends) while the app is on screen; reports
#: through an object with progress(component, text), environment_ready(), component_ready(c).
Preparer = Callable[[Any], None]

#: Longest the garbage collector stays paused after the registry is loaded, waiting for the first paint.
STARTUP_GC_PAUSE_S = 3.0

CSS_FILE = Path(__file__).resolve().parent.parent / "screens" / "app.tcss"


class FunctionsApp(App):
    """functions-tui: what is deployed where, what drifted, and fixing it by keyboard."""

    TITLE = "functions-tui"
    CSS_PATH = CSS_FILE
    # -narrow where the panel grid puts the registry in a cell of its own (screens/panel_grid.py)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (WIDE, "-wide")]
    COMMANDS = App.COMMANDS | {FunctionsCommands}
    # The dashboard's own keys are bound on the Dashboard widget (screens/dashboard.py), so
    # they are active only while it is on screen; these work on every screen.
    BINDINGS = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("t", "next_theme", "Theme", show=False, id="app.theme"),
        # A terminal user's reflex: ctrl+c quits like q (Textual's default only says "press ctrl+q").
        Binding("ctrl+c", "quit_app", "Quit", show=False, priority=True, id="app.quit.ctrl_c"),
        Binding("ctrl+q", "quit_app", "Quit", show=False, priority=True, id="app.quit"),
    ]
    THEMES = ("textual-dark", "nord", "gruvbox", "tokyo-night", "textual-light")

    # --- messages from workers ---------------------------------------------------------
    class DataLoaded(Message):
        def __init__(self, data: DashboardData, view: DashboardView) -> None:
            super().__init__()
            self.data, self.view = data, view

    class SyncFinished(Message):
        def __init__(self, outcome: SyncOutcome, data: DashboardData, view: DashboardView) -> None:
            super().__init__()
            self.outcome, self.data, self.view = outcome, data, view

    class FirstPaint(Message):
        """The dashboard shows the registry for the first time (the bench waits for it)."""

    def __init__(self, service: Any = None, *, read_only: bool = False, clock: Clock | None = None,
                 autosync: bool = True, jobs: list[SyncJob] | None = None,
                 preparer: Preparer | None = None) -> None:
        super().__init__()
        # With a preparer (the sandbox), the backends start after the app is on screen: the
        # service is made, and the registry read, once it says the environment is ready.
        self.preparer = preparer
        self._ready_components: set[str] | None = set() if preparer is not None else None
        self._preparing: dict[str, str] = {}   # component -> the step it is on, until ready
        if service is None and preparer is None:
            service = make_service(read_only)
        self.service = service
        self.read_only = read_only or bool(getattr(service, "read_only", False))
        self.clock: Clock = clock or system_clock
        self.autosync = autosync
        self.components = component_names(service)
        # When each sync job runs (never overlapping, ``after``, intervals): app/sync_scheduler.py
        self.scheduler = SyncScheduler(jobs if jobs is not None else sync_jobs(service), autosync=autosync)
        self.data = DashboardData(components=self.components)
        self._data_lock = threading.Lock()   # serialises merges made by concurrent sync workers
        self._latest: tuple[DashboardData, DashboardView] | None = None   # the newest merge and its view
        self._sync_timers: dict[str, Timer] = {}
        self._round_total = 0
        self._round_done = 0
        self.loaded = False
        self.first_paint_at: float | None = None   # perf_counter() of the first full paint (bench)
        self.filter_text = ""
        self.filter_error = ""   # why the text in the filter bar is not the filter in use
        self._kept_filter: Any = None   # registry.filters.Filter of filter_text
        self._filter_names: tuple[str, Any, frozenset[str]] | None = None   # (text, records, names)
        self.sync_count = 0
        self._running_syncs: dict[str, SyncJob] = {}   # worker name -> its job
        self._first_paint_done = threading.Event()

    # --- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Dashboard(self.components)
        yield KeysFooter()

    @property
    def dashboard(self) -> Dashboard:
        return self.query_one(Dashboard)

    def on_mount(self) -> None:
        if self.read_only:
            self.sub_title = "read-only"
        self._restore_theme()
        # one header icon on every screen, including the ones pushed later
        self.screen_change_signal.subscribe(self, self._set_header_icon)
        self._set_header_icon(self.screen)
        self.dashboard.registry_panel.function_list.focus()
        self._update_status()
        if self.service is not None:
            self._apply_keymap()
        registry_list = self.dashboard.registry_panel.function_list
        self._empty_registry_text = registry_list.empty_text
        registry_list.empty_text = ("the sandbox is starting its backends…" if self.preparer is not None
                                    else "reading the registry…")
        if self.preparer is not None:
            self.run_worker(self._prepare_thread, thread=True, name="prepare", group="load",
                            exit_on_error=False)

    # --- keys remapped by binding id (config.yaml ``keymap:``, like posting's) ------------------
    def _apply_keymap(self) -> None:
        config = getattr(self.service, "config", None)
        try:
            keymap = dict(getattr(config, "keymap", None) or {})
        except Exception:   # a service whose config cannot be read: the default keys
            return
        known = known_binding_ids()
        unknown = sorted(set(keymap) - known)
        if unknown:
            where = getattr(config, "path", None) or "config.yaml"
            self.notify(f"{where}: keymap: no key has the id {', '.join(unknown)} (ids: {', '.join(sorted(known))})",
                        title="keymap", severity="warning", timeout=20)
        remap = {bid: keys for bid, keys in keymap.items() if bid in known}
        if remap:
            self.set_keymap(remap)

    # --- a preparer (the sandbox) starting the backends while the app is on screen ------------
    class Preparing(Message):
        """A step of the start, shown in that component's panel."""

        def __init__(self, component: str, text: str) -> None:
            super().__init__()
            self.component, self.text = component, text

    class EnvironmentReady(Message):
        """Backends answer and the registry exists: read it."""

    class ComponentReady(Message):
        """A component is fully set up: sync it."""

        def __init__(self, component: str) -> None:
            super().__init__()
            self.component = component

    def _prepare_thread(self) -> None:
        app = self

        class Events:   # the preparer's calls, turned into messages for the event loop
            def progress(self, component: str, text: str) -> None:
                app.post_message(app.Preparing(component, text))

            def environment_ready(self) -> None:
                app.post_message(app.EnvironmentReady())

            def component_ready(self, component: str) -> None:
                app.post_message(app.ComponentReady(component))

        self.preparer(Events())

    def on_functions_app_preparing(self, message: Preparing) -> None:
        if not self._alive():
            return
        self.log_activity(f"{message.component}: {message.text}")
        self._preparing[message.component] = message.text
        try:
            self.dashboard.component_panel(message.component).show_progress(message.text)
        except Exception:   # a component this layout has no panel for
            pass

    def on_functions_app_environment_ready(self, message: EnvironmentReady) -> None:
        if self.service is None:
            self.service = make_service(self.read_only)
            self.jobs = sync_jobs(self.service)
            self._apply_keymap()
        self._start_load()

    def on_functions_app_component_ready(self, message: ComponentReady) -> None:
        assert self._ready_components is not None
        self._ready_components.add(message.component)
        self._preparing.pop(message.component, None)
        if self.loaded and self.autosync:
            self.start_syncs([j for j in self.jobs if message.component in j.components and self._is_ready(j)])

    def _is_ready(self, job: SyncJob) -> bool:
        """Every component of ``job`` is set up (always, without a preparer)."""
        return self._ready_components is None or set(job.components) <= self._ready_components

    # --- the central read-only switch -------------------------------------------------
    def action_allowed(self, action: str) -> bool | None:
        """None (shown dim, disabled) for a mutating action in read-only mode."""
        if self.read_only and action in MUTATING_ACTIONS:
            return None
        return True

    def on_key(self, event: events.Key) -> None:
        """Say why a key did nothing when read-only disabled it.

        Textual runs no action whose check_action is falsy (None shows it dim) and lets the key
        fall through to here, so the binding is still the one the footer shows for the key."""
        if not self.read_only:
            return
        active = self.screen.active_bindings.get(event.key)
        if active is None or active.enabled:
            return
        action = active.binding.action.split("(", 1)[0].rsplit(".", 1)[-1]
        if action in MUTATING_ACTIONS:
            what = (active.binding.description or action.replace("_", " ")).lower()
            from functions_tui.app.service import read_only_refusal

            self.notify(read_only_refusal(what), severity="warning", timeout=4)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "clear_filter" and not self.filter_text:
            return False   # hidden, and esc falls through to whatever else wants it
        if self.service is None and action not in ("help", "quit", "quit_app", "next_theme", "focus_next", "filter"):
            return None   # the sandbox is still starting: nothing to sync or show yet
        return self.action_allowed(action)

    # --- loading ----------------------------------------------------------------------
    #: Freeze the heap (registry.gc_pause.freeze_long_lived) after the first paint and after each
    #: sync, so the collector never rescans the registry while a key waits (a full collection:
    #: ~0.2 s at 10k functions). Set by ``main`` for the process the app owns; off where many
    #: apps share a process (tests), whose dead apps' cycles a freeze would keep forever.
    freeze_heap = False

    def on_load(self) -> None:
        """The event loop exists, the terminal is not set up yet: thread workers get an
        executor whose threads can be abandoned, and the registry is read from now on,
        overlapping Textual's own start-up (about half of a 10k first paint)."""
        asyncio.get_running_loop().set_default_executor(AbandonableExecutor())
        if self.preparer is None:
            self._start_load()

    def _start_load(self) -> None:
        self.run_worker(self._load_thread, thread=True, name="load", group="load", exit_on_error=False)

    def _load_thread(self) -> None:
        abandonable()   # it only reads
        with gc_paused():
            data = load_dashboard(self.service, self.clock)
            view = build_view(data)
            with self._data_lock:
                self.data, self._latest = data, (data, view)
            self.post_message(self.DataLoaded(data, view))
            # Collector still paused until the first paint (bounded, in case there is none): a
            # collection over the just-loaded registry in the middle of Textual's start-up
            # delayed the paint by up to 0.3 s.
            self._first_paint_done.wait(timeout=STARTUP_GC_PAUSE_S)

    def on_functions_app_data_loaded(self, message: DataLoaded) -> None:
        self.dashboard.registry_panel.function_list.empty_text = self._empty_registry_text
        self._show(message.view)
        self.loaded = True
        missing = [c for c, d in message.data.detections.items() if not getattr(d, "available", True)]
        self.log_activity(f"registry: {len(message.data.records)} functions")
        for operation in message.data.interrupted:
            self.log_activity(f"interrupted earlier: {operation}", "warning")
        if message.data.interrupted:
            self.notify("\n".join(message.data.interrupted[:5]), severity="warning", timeout=15,
                        title=f"{len(message.data.interrupted)} cloud operation(s) were interrupted")
        for comp in missing:
            det = message.data.detections[comp]
            fix = f" — fix: {det.fix}" if getattr(det, "fix", "") else ""
            self.log_activity(f"{comp} unavailable: {det.reason}{fix}", "warning")
        self.call_after_refresh(self.post_message, self.FirstPaint())

    def on_functions_app_first_paint(self, message: FirstPaint) -> None:
        self.first_paint_at = time.perf_counter()
        if self.freeze_heap:
            freeze_long_lived()   # the registry and the imports stay: no collection rescans them
        self._first_paint_done.set()
        if self.autosync:
            # Started once the rows are on screen, not with them: the first paint and the
            # first sync competed for the GIL and each took ~1.5x as long.
            jobs = [j for j in self.jobs if self._is_ready(j)]
            self.scheduler.mark_background(j.name for j in jobs)
            self.start_syncs(jobs)

    def _panel_status(self, comp: str) -> dict[str, Any]:
        det = self.data.detections.get(comp)
        available = bool(getattr(det, "available", True)) if det is not None else True
        return {
            "available": available,
            "reason": getattr(det, "reason", "") if not available else self.data.unknown.get(comp, ""),
            "last_sync": clock_text(self.data.last_sync.get(comp)),
            "version": str(getattr(det, "version", "") or ""),
            "syncing": any(comp in j.components for j in self.jobs if j.name in self.syncing),
            "checked": self._checked_text(comp, det),
            "unmarked": self.data.unmarked.get(comp, 0),
        }

    def _checked_text(self, comp: str, det: Any) -> str:
        """When ``comp``'s availability was last checked, as HH:MM:SS: the detection's own
        time when it carries one, else when this app first saw that detection (the service
        hands out the same object until it detects again, so a new object means a new check)."""
        if det is None:
            return ""
        stamp = getattr(det, "checked_at", None) or (getattr(det, "details", None) or {}).get("checked_at")
        if stamp:
            return clock_text(stamp)
        seen = getattr(self, "_detections_seen", None)
        if seen is None:
            seen = self._detections_seen = {}
        if seen.get(comp, (None, ""))[0] is not det:
            seen[comp] = (det, clock_text(self.clock()))
        return seen[comp][1]

    def _show(self, view: DashboardView) -> None:
        dash = self.dashboard
        dash.registry_panel.show(view.rows["registry"], view.counts["registry"])
        for comp in self.components:
            dash.component_panel(comp).show(view.rows.get(comp, []), view.counts.get(comp, {}),
                                            **self._panel_status(comp))
        for comp, step in self._preparing.items():   # still starting: that says more than "not synced"
            dash.component_panel(comp).show_progress(step)
        if self._kept_filter is not None and self._kept_filter.query is not None:
            self._apply_filter()

    # --- background sync workers -------------------------------------------------------
    @property
    def jobs(self) -> list[SyncJob]:
        return self.scheduler.jobs

    @jobs.setter
    def jobs(self, jobs: list[SyncJob]) -> None:
        self.scheduler.jobs = list(jobs)

    @property
    def syncing(self) -> set[str]:
        """The jobs running now."""
        return self.scheduler.running

    @property
    def failed_jobs(self) -> set[str]:
        return self.scheduler.failed

    def start_syncs(self, jobs: list[SyncJob]) -> None:
        if not any(j.name in self.syncing for j in self.jobs):
            self._round_total, self._round_done = 0, 0
        for job in jobs:
            self.start_sync(job)

    def start_sync(self, job: SyncJob) -> None:
        """Run ``job`` now, unless it is running (then once more right after it ends), or
        unless a job it comes ``after`` is running (then right after that one succeeds)."""
        if not self._alive():
            return   # a timer firing while the app shuts down
        if not self.scheduler.request(job):
            return   # it runs again right after its current run, or after the job it follows
        timer = self._sync_timers.pop(job.name, None)
        if timer is not None:
            timer.stop()
        self._round_total += 1
        self._mark_syncing(job, True)
        requested = self.scheduler.requested_by_person(job)   # a person asked: detect what was down again
        self._running_syncs[f"sync {job.name}"] = job
        self.run_worker(partial(self._sync_thread, job, requested), thread=True, name=f"sync {job.name}",
                        group="sync", exit_on_error=False)

    def _start_background(self, job: SyncJob) -> None:
        self.scheduler.mark_background([job.name])
        self.start_sync(job)

    def _sync_thread(self, job: SyncJob, requested: bool = True) -> None:
        """A failure raises: the worker's error lands in on_worker_state_changed."""
        abandonable()   # a sync observes and plans: quitting need not wait for it
        outcome = run_sync(self.service, job, self.clock, requested=requested)
        with gc_paused():
            with self._data_lock:   # merged and built in order: each view is the one before plus one job
                previous = self._latest if self._latest is not None and self._latest[0] is self.data else None
                data = merged_copy(self.data, outcome)
                view = build_view(data, previous, outcome.job.components)
                self.data, self._latest = data, (data, view)
            if self.freeze_heap and len(self.screen_stack) == 1:   # only the dashboard: what is alive stays
                freeze_long_lived()   # full collections rescanned all of it mid-keystroke
        self.post_message(self.SyncFinished(outcome, data, view))

    def on_functions_app_sync_finished(self, message: SyncFinished) -> None:
        outcome = message.outcome
        if not self._alive():
            return
        if message.data is self.data:  # an older result than the latest merge is not shown
            self._show(message.view)
        self.sync_count += 1
        counts = {}
        for comp in outcome.job.components:
            for state, n in message.view.counts.get(comp, {}).items():
                counts[state] = counts.get(state, 0) + n
        summary = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(counts.items())) or "nothing"
        unavailable = [c for c in outcome.job.components
                       if not getattr(self.data.detections.get(c), "available", True)]
        unknown = "; ".join(f"{c}: {r}" for c, r in outcome.plan.unknown.items() if c not in unavailable)
        level = "warning" if unknown or counts.get("conflict") or counts.get("drifted") else "ok"
        if unavailable and len(unavailable) == len(outcome.job.components):
            # the reason and the fix were logged once at start; say it briefly
            self.log_activity(f"sync {outcome.job.name}: skipped, {', '.join(unavailable)} unavailable", "info")
        else:
            self.log_activity(f"sync {outcome.job.name}: {summary}" + (f" (unknown — {unknown})" if unknown else ""),
                              level)
        for warning in outcome.plan.warnings:
            self.log_activity(f"sync {outcome.job.name}: {warning}", "warning")
        self._sync_ended(outcome.job)

    def _alive(self) -> bool:
        """The dashboard exists (False once the app is asked to exit: exit() sets the code)."""
        if not self.is_running or self.return_code is not None:
            return False
        try:
            self.query_one(SyncStatus)
        except Exception:
            return False
        return True

    def _sync_ended(self, job: SyncJob, ok: bool = True) -> None:
        self._running_syncs.pop(f"sync {job.name}", None)
        if not self._alive():
            self.scheduler.abandon(job)
            return
        then = self.scheduler.ended(job, ok)
        self._round_done += 1
        self._mark_syncing(job, False)
        for name, why in then.skipped:
            self.log_activity(f"sync {name} skipped: {why}", "warning")
        for next_job in then.start:
            self.start_sync(next_job)
        if then.next_run_in is not None:
            # the next run is scheduled only now, so runs of one job never overlap
            self._sync_timers[job.name] = self.set_timer(then.next_run_in, partial(self._start_background, job),
                                                    name=f"next-sync:{job.name}")

    def _mark_syncing(self, job: SyncJob, running: bool) -> None:
        for comp in job.components:
            try:
                panel = self.dashboard.component_panel(comp)
            except Exception:
                continue
            if running:
                panel.set_class(True, "-syncing")
                panel.query_one(".panel-status").update("⟳ syncing…")
        if not running:
            self._refresh_status_lines()
        self._update_status()

    def _refresh_status_lines(self) -> None:
        for comp in self.components:
            panel = self.dashboard.component_panel(comp)
            status = self._panel_status(comp)
            if not status["syncing"] and panel.has_class("-syncing") and comp not in self._preparing:
                panel.show_status(**status)

    def _update_status(self) -> None:
        running = sorted(self.syncing)
        self.query_one(SyncStatus).show(running, self._round_done, max(self._round_total, 1),
                                        self.read_only, self.filter_text, self.filter_error)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors land: a notification, never a crash."""
        if event.state is not WorkerState.ERROR:
            return
        if self._alive():
            error = event.worker.error
            self.notify(f"{type(error).__name__}: {error}", title=f"{event.worker.name} failed",
                        severity="error")
            self.log_activity(f"{event.worker.name} failed: {type(error).__name__}: {error}", "error")
        job = self._running_syncs.get(event.worker.name)
        if job is not None:
            self._sync_ended(job, ok=False)

    def log_activity(self, message: str, level: str = "info") -> None:
        self.dashboard.activity.record(clock_text(self.clock()), message, level)

    # --- actions ------------------------------------------------------------------------
    def jobs_for(self, component: str | None) -> list[SyncJob]:
        if component is None:
            return list(self.jobs)
        return [j for j in self.jobs if component in j.components] or [SyncJob(component, (component,))]

    def action_sync_focused(self) -> None:
        component = self.dashboard.focused_component()
        jobs = self.jobs_for(component)
        self.log_activity(f"sync {component or 'all'} requested")
        self.start_syncs(jobs)

    def action_sync_all(self) -> None:
        self.log_activity("sync all requested")
        self.start_syncs(list(self.jobs))

    def action_show_plan(self, component: str | None = None) -> None:
        from functions_tui.screens.plan_screen import PlanScreen
        component = component or self.dashboard.focused_component()
        self.push_screen(PlanScreen(self.service, [component] if component else None, clock=self.clock),
                         self._after_change)

    def action_show_conflicts(self) -> None:
        from functions_tui.screens.conflict_screen import ConflictScreen
        conflicts = self.data.conflicts()
        if not conflicts:
            self.notify("no conflicts to resolve — press S to sync all first if unsure", title="conflicts")
            return
        self.push_screen(ConflictScreen(self.service, conflicts), self._after_change)

    def action_show_detail(self, name: str) -> None:
        from functions_tui.screens.detail_screen import DetailScreen
        self.push_screen(DetailScreen(self.service, name, self.data))

    #: Workers that change the registry or a component (their names: the plan screen's and
    #: the conflict screen's methods, and the per-function actions'): quitting waits for them.
    WRITING_WORKERS = ("apply", "resolve", "run:", "stop:", "add:")

    def action_quit(self) -> None:
        """Quit; first say what is still being written, and let it finish (an apply stopped
        halfway would leave a component changed and the registry not knowing it)."""
        writing = [w for w in self.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                   and (w.name or "").startswith(self.WRITING_WORKERS)]
        if not writing:
            self.exit()
            return
        names = ", ".join(sorted({w.name for w in writing}))
        self.notify(f"quitting once {names} has finished (it is changing things; stopping it halfway "
                    "would leave them half-changed)", title="quitting…", timeout=60)
        self.run_worker(self._quit_after(writing), name="quit", group="quit", exclusive=True)

    async def _quit_after(self, writing: list[Worker]) -> None:
        for worker in writing:   # waited here, not in the key's handler: the screen stays live
            try:
                await worker.wait()
            except Exception:   # its failure was reported where it happened
                pass
        self.exit()

    def action_quit_app(self) -> None:
        self.action_quit()

    def action_help(self) -> None:
        """Help for the screen on top: its keys (read from its bindings), and on the dashboard
        the legend of state symbols too."""
        from functions_tui.screens.help_screen import HelpScreen
        on_dashboard = len(self.screen_stack) == 1
        name = "dashboard" if on_dashboard else type(self.screen).__name__.removesuffix("Screen").lower()
        self.push_screen(HelpScreen(self.screen, legend=on_dashboard, title=f"help: {name}"))

    def action_filter(self) -> None:
        bar = self.query_one(FilterBar)
        bar.add_class("-active")
        bar.focus()

    def action_next_theme(self) -> None:
        themes = [t for t in self.THEMES if t in self.available_themes]
        current = themes.index(self.theme) if self.theme in themes else -1
        self.theme = themes[(current + 1) % len(themes)]
        self.notify(f"theme: {self.theme}", timeout=2)
        home = self._ui_state_home()
        if home is not None:
            from functions_tui.app import ui_state
            if not ui_state.save({"theme": self.theme}, home):
                self.log_activity("could not save the theme (see the log)", "warning")

    def _set_header_icon(self, screen: Any) -> None:
        for header in screen.query(Header):
            header.icon = HEADER_ICON

    def _ui_state_home(self) -> Path | None:
        """Where ui.json lives: the service's config dir. None for a service without one
        (the sample service of screenshots and snapshots, which must not read a user's theme)."""
        home = getattr(self.service, "home", None)
        return Path(home) if home else None

    def _restore_theme(self) -> None:
        home = self._ui_state_home()
        if home is None:
            return
        from functions_tui.app import ui_state
        theme = ui_state.load(home).get("theme")
        if isinstance(theme, str) and theme in self.available_themes:
            self.theme = theme
        elif theme is not None:
            self.log(f"ignoring saved theme {theme!r}: not an available theme")

    def jump_to(self, name: str) -> None:
        """Palette: put the registry cursor on ``name`` and open its detail."""
        lst = self.dashboard.registry_panel.function_list
        if not lst.move_to(name):
            self.set_filter("")
            lst.move_to(name)
        lst.focus()
        self.action_show_detail(name)

    def _after_change(self, changed: Any) -> None:
        """A plan was applied or conflicts resolved: sync what it touched to show the result."""
        if changed:
            comps = set(changed) if isinstance(changed, (set, list, tuple)) else set(self.components)
            self.start_syncs([j for j in self.jobs if comps & set(j.components)])

    # --- per-function actions -----------------------------------------------------------
    # x opens the actions of the row under the cursor; d / D / e / r are direct keys. Each
    # action is planned for that one function in a worker and shown in the PlanScreen, so it
    # goes through the same confirm-then-apply path as a sync (run / stop: a ConfirmScreen).
    class FunctionPlanned(Message):
        def __init__(self, intent: str, function: str, components: tuple[str, ...], plan: Any) -> None:
            super().__init__()
            self.intent, self.function, self.components, self.plan = intent, function, components, plan

    class FunctionActionFailed(Message):
        def __init__(self, what: str, error: str) -> None:
            super().__init__()
            self.what, self.error = what, error

    class FunctionActionDone(Message):
        """Run / stop or re-reading an edited declaration finished (tests wait on it)."""

        def __init__(self, what: str, components: tuple[str, ...]) -> None:
            super().__init__()
            self.what, self.components = what, components

    def cursor_function(self) -> tuple[str, str | None] | None:
        """(function under the cursor of the focused list, its panel's component or None for
        the registry panel); None when no list has focus or it is empty."""
        focused = self.screen.focused if len(self.screen_stack) == 1 else None
        if not isinstance(focused, FunctionList) or focused.current_key is None:
            return None
        return focused.current_key, self.dashboard.focused_component()

    def function_actions(self, name: str, component: str | None) -> list[Any]:
        """What can be done to ``name`` from ``component``'s panel (None: the registry's)."""
        from functions_tui.screens.function_actions import actions_for

        comps = [component] if component else list(self.components)
        record = self.data.records.get(name)
        spec = getattr(record, "spec", None)
        # Where run/stop apply: components whose kind has run states (Docker's instances).
        run_states = {c: spec.desired_state(c) for c in comps
                      if spec is not None and c in spec.targets and "running" in states_of(c)}
        return actions_for(name, {c: self.data.state_of(name, c) for c in comps}, in_registry=record is not None,
                           declared_in=getattr(spec, "declared_in", "") or "", run_states=run_states)

    def action_function_actions(self) -> None:
        from functions_tui.screens.function_actions import FunctionActionsScreen

        target = self.cursor_function()
        if target is None:
            self.notify("put the cursor on a function first", title="actions")
            return
        name, component = target
        self.push_screen(FunctionActionsScreen(name, component or "registry", self.function_actions(name, component),
                                               read_only=self.read_only), self._function_chosen)

    def _function_chosen(self, action: Any) -> None:
        if action is not None:
            self.run_function_action(action.intent, action.function, action.components)

    def _direct(self, key: str, what: str) -> None:
        """A direct key: the action the row under the cursor offers under ``key`` (the menu
        shows the same letter next to it), else why not."""
        target = self.cursor_function()
        if target is None:
            self.notify("put the cursor on a function first", title="actions")
            return
        name, component = target
        for action in self.function_actions(name, component):
            if action.key == key:
                self.run_function_action(action.intent, action.function, action.components)
                return
        self.notify(f"{what} does not apply to {name} here (x lists what does)", title=name)

    def action_function_deploy(self) -> None:
        self._direct("d", "deploy")

    def action_function_delete(self) -> None:
        self._direct("D", "delete")

    def action_function_edit(self) -> None:
        self._direct("e", "edit")

    def action_function_run_stop(self) -> None:
        self._direct("r", "run / stop")

    def run_function_action(self, intent: str, name: str, components: tuple[str, ...] | list[str] = ()) -> None:
        """Take one action on ``name`` (menu, direct key or palette): planned and confirmed."""
        components = tuple(components)
        if self.read_only and intent != "sync":   # the plan of a sync can be looked at, not applied
            from functions_tui.app.service import read_only_refusal

            self.notify(read_only_refusal(intent), title=name, severity="warning")
            return
        if intent == "edit":
            self._edit_declaration(name)
            return
        if intent in ("run", "stop"):
            from functions_tui.screens.confirm import ConfirmScreen

            # The instances it applies to are the service's to say (its kinds with run states).
            self.push_screen(ConfirmScreen(f"{intent.capitalize()} the container of {name}?"),
                             partial(self._run_stop_confirmed, name, intent))
            return
        where = ", ".join(components)
        self.log_activity(f"{intent} {name} ({where}): planning")
        self.run_worker(partial(self._plan_function_thread, intent, name, components), thread=True,
                        name=f"plan:{intent}:{name}", group="function-action", exit_on_error=False)

    def _plan_function_thread(self, intent: str, name: str, components: tuple[str, ...]) -> None:
        try:
            plan = self.service.plan_function(name, components, intent)
        except Exception as exc:  # a refusal the user can act on: shown, never a crash
            self.post_message(self.FunctionActionFailed(f"{intent} {name}", str(exc) or type(exc).__name__))
            return
        self.post_message(self.FunctionPlanned(intent, name, components, plan))

    def on_functions_app_function_planned(self, message: FunctionPlanned) -> None:
        from functions_tui.screens.function_actions import OneFunctionService
        from functions_tui.screens.plan_screen import PlanScreen

        if not self._alive():
            return
        service = OneFunctionService(self.service, message.function, message.intent)
        # a delete the person asked for by name starts selected; a sync's destructive rows do not
        self.push_screen(PlanScreen(service, list(message.components), plan=message.plan, clock=self.clock,
                                    select_destructive=message.intent == "delete"),
                         self._after_change)

    def on_functions_app_function_action_failed(self, message: FunctionActionFailed) -> None:
        if not self._alive():
            return
        self.log_activity(f"{message.what}: {message.error}", "error")
        self.notify(message.error, title=message.what, severity="error")

    def on_functions_app_function_action_done(self, message: FunctionActionDone) -> None:
        if not self._alive():
            return
        self.log_activity(message.what, "ok")
        self._after_change(message.components or True)

    def _run_stop_confirmed(self, name: str, intent: str, yes: bool | None) -> None:
        if yes:
            self.log_activity(f"{intent} {name}")
            self.run_worker(partial(self._run_stop_thread, name, intent), thread=True,
                            name=f"{intent}:{name}", group="function-action", exit_on_error=False)

    def _run_stop_thread(self, name: str, intent: str) -> None:
        try:
            result = self.service.set_run_state(name, "running" if intent == "run" else "stopped")
        except Exception as exc:
            self.post_message(self.FunctionActionFailed(f"{intent} {name}", str(exc) or type(exc).__name__))
            return
        failed = getattr(result, "failed", [])
        if failed:
            self.post_message(self.FunctionActionFailed(f"{intent} {name}", "; ".join(r.error for r in failed)))
        else:
            where = tuple(dict.fromkeys(r.action.component for r in result.results))
            self.post_message(self.FunctionActionDone(f"{intent} {name} ({', '.join(where)}): done", where))

    def _edit_declaration(self, name: str) -> None:
        """Open ``name``'s function.yaml in $VISUAL / $EDITOR, then read it again through the
        service (``add``), so the edit is registered and the next sync shows it."""
        import os
        import shlex
        import subprocess

        from textual.app import SuspendNotSupported

        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.notify("$VISUAL and $EDITOR are unset: set one (e.g. export EDITOR=nano) and start again",
                        title="edit", severity="warning")
            return
        from functions_tui.screens.function_actions import declaration_path

        record = self.data.records.get(name)
        path = declaration_path(getattr(getattr(record, "spec", None), "declared_in", "") or "")
        if not path or not Path(path).is_file():
            self.notify(f"{name} has no declaration file here{f' ({path} is gone)' if path else ''}",
                        title="edit", severity="warning")
            return
        command = [*shlex.split(editor), path]
        try:
            if self.is_headless:   # no terminal to hand over (tests): the editor runs as it is
                code = subprocess.call(command, stdin=subprocess.DEVNULL)
            else:
                with self.suspend():
                    code = subprocess.call(command)
        except (OSError, SuspendNotSupported) as exc:
            self.notify(f"{type(exc).__name__}: {exc}", title=f"could not run {editor}", severity="error")
            return
        if code != 0:
            self.notify(f"{editor} exited with {code}: {path} was not read again", title="edit", severity="warning")
            return
        self.log_activity(f"edited {path}: reading it again")
        self.run_worker(partial(self._readd_thread, name, path), thread=True, name=f"add:{name}",
                        group="function-action", exit_on_error=False)

    def _readd_thread(self, name: str, path: str) -> None:
        try:
            specs = self.service.add(path)
        except Exception as exc:  # e.g. a YAML error in the edit: say where, change nothing
            self.post_message(self.FunctionActionFailed(f"re-reading {path}", str(exc) or type(exc).__name__))
            return
        comps = {c for spec in specs for c in spec.targets}
        self.post_message(self.FunctionActionDone(f"{path} read again: {', '.join(s.name for s in specs)}",
                                                  tuple(sorted(comps))))

    # --- list events ------------------------------------------------------------------
    @on(FunctionList.Selected)
    def _open_detail(self, event: FunctionList.Selected) -> None:
        if event.key:
            self.action_show_detail(event.key)

    @on(FilterBar.Changed)
    def _filter_changed(self, event: FilterBar.Changed) -> None:
        # Keystrokes that queued up while a filter ran are coalesced: the latest text is
        # applied once, after every Changed already in the queue (no timer involved).
        pending = getattr(self, "_pending_filter", None)
        self._pending_filter = event.value
        if pending is None:
            self.call_later(self._apply_pending_filter)

    def _apply_pending_filter(self) -> None:
        text, self._pending_filter = getattr(self, "_pending_filter", None), None
        if text is not None:
            self.set_filter(text)

    @on(FilterBar.Closed)
    def _filter_closed(self, event: FilterBar.Closed) -> None:
        bar = self.query_one(FilterBar)
        if not event.keep:
            bar.value = ""
            self.set_filter("")
        bar.remove_class("-active")
        self.dashboard.registry_panel.function_list.focus()

    def set_filter(self, text: str) -> None:
        """Filter every panel: plain words match rows, ``field:value`` qualifiers are TinyDB
        queries over the registry (registry.filters). A qualifier not readable yet (``memory:``
        half typed) keeps the last filter and says why in the status line."""
        from functions_tui.registry import filters

        self._pending_filter = None   # this text wins over keystrokes not applied yet
        try:
            parsed = filters.parse(text)
        except filters.FilterError as exc:
            self.filter_error = str(exc)
            self._update_status()
            return
        self.filter_text, self.filter_error, self._kept_filter = text, "", parsed
        self._apply_filter()
        self.dashboard.show_filtering(text)
        self._update_status()
        self.refresh_bindings()   # esc "Clear filter" shows in the footer only while one is on

    def _apply_filter(self) -> None:
        """The kept filter on every panel; its qualifiers asked of the registry again (after a
        sync the registry may hold other functions)."""
        parsed = self._kept_filter
        if parsed is None:
            return
        names = None
        if parsed.query is not None and self.service is not None:
            # Asked again only when the registry changed (its mapping is the same object while
            # the file is): a sync that changed nothing there does not repeat the query
            # (~55 ms over 50k functions, on the event loop).
            records = self.data.records
            cached = self._filter_names
            if cached is not None and cached[0] == parsed.text and cached[1] is records:
                names = cached[2]
            else:
                names = self.service.matching_names(parsed.query)
                self._filter_names = (parsed.text, records, names)
        for lst in self.dashboard.lists():
            lst.set_filter(parsed.free, names)

    def action_clear_filter(self) -> None:
        """esc on the dashboard: drop a kept filter (the filter bar's own esc clears while typing)."""
        if not self.filter_text:
            return
        self.query_one(FilterBar).value = ""
        self.set_filter("")
        self.notify("filter cleared", timeout=2)


def known_binding_ids() -> set[str]:
    """Every binding id of the app and its screens and widgets (what ``keymap:`` may name)."""
    from functions_tui.screens.confirm import ConfirmScreen
    from functions_tui.screens.conflict_screen import ConflictScreen
    from functions_tui.screens.detail_screen import DetailScreen
    from functions_tui.screens.function_actions import FunctionActionsScreen
    from functions_tui.screens.help_screen import HelpScreen
    from functions_tui.screens.plan_screen import PlanScreen

    owners = (FunctionsApp, Dashboard, FunctionList, PlanScreen, ConflictScreen, DetailScreen, HelpScreen, ConfirmScreen,
              FunctionActionsScreen)
    return {b.id for owner in owners for b in owner.BINDINGS if isinstance(b, Binding) and b.id}


def make_service(read_only: bool) -> Any:
    from functions_tui.app.service import SyncService  # lazy: keeps SDKs out of --help
    return SyncService(read_only=read_only)


def main(read_only: bool = False, service: Any = None, preparer: Preparer | None = None) -> int:
    """Run the app (blocking); 0 on a normal quit."""
    app = FunctionsApp(service, read_only=read_only, preparer=preparer)
    app.freeze_heap = True   # this process runs this one app: its heap is the app's
    app.run()
    code = 0 if app.return_code in (None, 0) else int(app.return_code)
    if service is None and preparer is None:   # nothing left for a caller to clean up
        from functions_tui.app.process_exit import exit_now

        exit_now(code)   # not waiting for background syncs (they only read) nor freeing 50k records
    return code

