"""The full-screen app: dashboard, background sync workers, plan / conflict / detail screens.

Threading model (dolphie's): every SyncService call runs in a thread worker; a worker
reports back with ``post_message``; a sync job reschedules itself with ``set_timer`` only
after it finishes, so two runs of one job never overlap. The event loop only swaps in
prebuilt rows, so the UI never waits on the network or on building 10k rows.
"""

from __future__ import annotations

import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from app.tui_bridge import (Clock, DashboardData, DashboardView, SyncJob, SyncOutcome, build_view,
                            clock_text, component_names, load_dashboard, merged_copy,
                            run_sync, sync_jobs, system_clock)
from registry.gc_pause import gc_paused
from screens.dashboard import Dashboard
from screens.filter_bar import FilterBar
from screens.sync_status import SyncStatus
from screens.function_list import FunctionList
from screens.palette import FunctionsCommands
from screens.read_only import MUTATING_ACTIONS

#: Longest the garbage collector stays paused after the registry is loaded, waiting for the first paint.
STARTUP_GC_PAUSE_S = 3.0

CSS_FILE = Path(__file__).resolve().parent.parent / "screens" / "app.tcss"


class FunctionsApp(App):
    """functions-tui: what is deployed where, what drifted, and fixing it by keyboard."""

    TITLE = "functions-tui"
    CSS_PATH = CSS_FILE
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    COMMANDS = App.COMMANDS | {FunctionsCommands}
    BINDINGS = [
        Binding("s", "sync_focused", "Sync"),
        Binding("S", "sync_all", "Sync all"),
        Binding("p", "show_plan", "Plan"),
        Binding("c", "show_conflicts", "Conflicts"),
        Binding("slash", "filter", "Filter"),
        Binding("question_mark", "help", "Help"),
        Binding("t", "next_theme", "Theme", show=False),
        Binding("tab", "focus_next", "Next panel", show=False),
        Binding("q", "quit", "Quit"),
        # A terminal user's reflex: ctrl+c quits like q (Textual's default only says "press ctrl+q").
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
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

    class SyncFailed(Message):
        def __init__(self, job: SyncJob, error: str) -> None:
            super().__init__()
            self.job, self.error = job, error

    class FirstPaint(Message):
        """The dashboard shows the registry for the first time (the bench waits for it)."""

    def __init__(self, service: Any = None, *, read_only: bool = False, clock: Clock | None = None,
                 autosync: bool = True, jobs: list[SyncJob] | None = None) -> None:
        super().__init__()
        if service is None:
            from app.service import SyncService  # lazy: keeps SDKs out of --help
            service = SyncService(read_only=read_only)
        self.service = service
        self.read_only = read_only or bool(getattr(service, "read_only", False))
        self.clock: Clock = clock or system_clock
        self.autosync = autosync
        self.components = component_names(service)
        self.jobs = jobs if jobs is not None else sync_jobs(service)
        self.data = DashboardData(components=self.components)
        self._data_lock = threading.Lock()   # serialises merges made by concurrent sync workers
        self.syncing: set[str] = set()
        self._rerun: set[str] = set()
        self._waiting: set[str] = set()          # jobs waiting for an `after` job to finish
        self.failed_jobs: set[str] = set()
        self._sync_timers: dict[str, Timer] = {}
        self._round_total = 0
        self._round_done = 0
        self.loaded = False
        self.first_paint_at: float | None = None   # perf_counter() of the first full paint (bench)
        self.filter_text = ""
        self.sync_count = 0
        self._prefetched: Any = None
        self._prefetch_done = threading.Event()
        self._first_paint_done = threading.Event()
        self._start_prefetch()

    # --- layout -----------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        yield Dashboard(self.components)
        yield Footer()

    @property
    def dashboard(self) -> Dashboard:
        return self.query_one(Dashboard)

    def on_mount(self) -> None:
        if self.read_only:
            self.sub_title = "read-only"
        self.dashboard.registry_panel.function_list.focus()
        self._update_status()
        self.run_worker(self._load_thread, thread=True, name="load", group="load", exit_on_error=False)

    # --- the central read-only switch -------------------------------------------------
    def action_allowed(self, action: str) -> bool | None:
        """None (shown dim, disabled) for a mutating action in read-only mode."""
        if self.read_only and action in MUTATING_ACTIONS:
            return None
        return True

    #: App bindings that only make sense on the dashboard (hidden on other screens).
    DASHBOARD_ACTIONS = frozenset({"sync_focused", "sync_all", "show_plan", "show_conflicts", "filter",
                                   "next_theme", "focus_next", "quit"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.DASHBOARD_ACTIONS and len(self.screen_stack) > 1:
            return False
        return self.action_allowed(action)

    # --- loading ----------------------------------------------------------------------
    def _start_prefetch(self) -> None:
        """Read the registry on a thread from the moment the app exists, overlapping Textual's
        own start-up (about half of a 10k first paint); the load worker collects it."""
        def prefetch() -> None:
            with gc_paused():
                try:
                    data = load_dashboard(self.service, self.clock)
                    self._prefetched = (data, build_view(data))
                except BaseException as exc:  # handed to the load worker, which reports it
                    self._prefetched = exc
                finally:
                    self._prefetch_done.set()
                if not isinstance(self._prefetched, BaseException):
                    # Collector still paused until the first paint (bounded, in case there is
                    # none): a collection over the just-loaded registry in the middle of
                    # Textual's start-up delayed the paint by up to 0.3 s.
                    self._first_paint_done.wait(timeout=STARTUP_GC_PAUSE_S)
        threading.Thread(target=prefetch, name="functions-tui-load", daemon=True).start()

    def _load_thread(self) -> None:
        self._prefetch_done.wait()
        if isinstance(self._prefetched, BaseException):
            raise self._prefetched
        data, view = self._prefetched
        with self._data_lock:
            self.data = data
        self.post_message(self.DataLoaded(data, view))

    def on_functions_app_data_loaded(self, message: DataLoaded) -> None:
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
        if self.autosync:
            self.start_syncs(self.jobs)

    def on_functions_app_first_paint(self, message: FirstPaint) -> None:
        self.first_paint_at = time.perf_counter()
        self._first_paint_done.set()

    def _panel_status(self, comp: str) -> dict[str, Any]:
        det = self.data.detections.get(comp)
        available = bool(getattr(det, "available", True)) if det is not None else True
        return {
            "available": available,
            "reason": getattr(det, "reason", "") if not available else self.data.unknown.get(comp, ""),
            "last_sync": clock_text(self.data.last_sync.get(comp)),
            "version": str(getattr(det, "version", "") or ""),
            "syncing": any(comp in j.components for j in self.jobs if j.name in self.syncing),
        }

    def _show(self, view: DashboardView) -> None:
        dash = self.dashboard
        dash.registry_panel.show(view.rows["registry"], view.counts["registry"])
        for comp in self.components:
            dash.component_panel(comp).show(view.rows.get(comp, []), view.counts.get(comp, {}),
                                            **self._panel_status(comp))

    # --- background sync workers -------------------------------------------------------
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
        if job.name in self.syncing:
            self._rerun.add(job.name)
            return
        if any(dep in self.syncing for dep in job.after):
            self._waiting.add(job.name)
            return
        timer = self._sync_timers.pop(job.name, None)
        if timer is not None:
            timer.stop()
        self.syncing.add(job.name)
        self._round_total += 1
        self._mark_syncing(job, True)
        self.run_worker(partial(self._sync_thread, job), thread=True, name=f"sync:{job.name}",
                        group="sync", exit_on_error=False)

    def _sync_thread(self, job: SyncJob) -> None:
        try:
            outcome = run_sync(self.service, job, self.clock)
        except Exception as exc:  # reported as a notification, never a crash
            self.post_message(self.SyncFailed(job, f"{type(exc).__name__}: {exc}"))
            return
        with gc_paused():
            with self._data_lock:
                data = merged_copy(self.data, outcome)
                self.data = data
            view = build_view(data)
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

    def on_functions_app_sync_failed(self, message: SyncFailed) -> None:
        if not self._alive():
            return
        self.log_activity(f"sync {message.job.name} failed: {message.error}", "error")
        self.notify(message.error, title=f"sync {message.job.name} failed", severity="error")
        self._sync_ended(message.job, ok=False)

    def _alive(self) -> bool:
        """The dashboard exists (False while the app is shutting down)."""
        if not self.is_running or self._closing or self._closed:
            return False
        try:
            self.query_one(SyncStatus)
        except Exception:
            return False
        return True

    def _sync_ended(self, job: SyncJob, ok: bool = True) -> None:
        self.syncing.discard(job.name)
        if not self._alive():
            return
        (self.failed_jobs.discard if ok else self.failed_jobs.add)(job.name)
        self._round_done += 1
        self._mark_syncing(job, False)
        for waiting in [j for j in self.jobs if j.name in self._waiting and job.name in j.after]:
            if any(dep in self.syncing for dep in waiting.after):
                continue
            self._waiting.discard(waiting.name)
            if ok:
                self.start_sync(waiting)
            else:
                self.log_activity(f"sync {waiting.name} skipped: it runs after {job.name}, which failed",
                                  "warning")
        if job.name in self._rerun:
            self._rerun.discard(job.name)
            self.start_sync(job)
        elif self.autosync and job.interval > 0:
            # the next run is scheduled only now, so runs of one job never overlap
            self._sync_timers[job.name] = self.set_timer(job.interval, partial(self.start_sync, job),
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
            if not status["syncing"] and panel.has_class("-syncing"):
                panel.show_status(**status)

    def _update_status(self) -> None:
        running = sorted(self.syncing)
        self.query_one(SyncStatus).show(running, self._round_done, max(self._round_total, 1),
                                        self.read_only, self.filter_text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place worker errors land: a notification, never a crash."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{type(error).__name__}: {error}", title=f"{event.worker.name} failed",
                        severity="error")
            self.log_activity(f"{event.worker.name} failed: {error}", "error")
            if event.worker.name.startswith("sync:"):
                job = next((j for j in self.jobs if f"sync:{j.name}" == event.worker.name), None)
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
        from screens.plan_screen import PlanScreen
        component = component or self.dashboard.focused_component()
        self.push_screen(PlanScreen(self.service, [component] if component else None, clock=self.clock),
                         self._after_change)

    def action_show_conflicts(self) -> None:
        from screens.conflict_screen import ConflictScreen
        conflicts = self.data.conflicts()
        if not conflicts:
            self.notify("no conflicts to resolve — press S to sync all first if unsure", title="conflicts")
            return
        self.push_screen(ConflictScreen(self.service, conflicts), self._after_change)

    def action_show_detail(self, name: str) -> None:
        from screens.detail_screen import DetailScreen
        self.push_screen(DetailScreen(self.service, name, self.data))

    def action_help(self) -> None:
        from screens.help_screen import HelpScreen
        self.push_screen(HelpScreen())

    def action_filter(self) -> None:
        bar = self.query_one(FilterBar)
        bar.add_class("-active")
        bar.focus()

    def action_next_theme(self) -> None:
        themes = [t for t in self.THEMES if t in self.available_themes]
        current = themes.index(self.theme) if self.theme in themes else -1
        self.theme = themes[(current + 1) % len(themes)]
        self.notify(f"theme: {self.theme}", timeout=2)

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

    # --- list events ------------------------------------------------------------------
    @on(FunctionList.Selected)
    def _open_detail(self, event: FunctionList.Selected) -> None:
        if event.key:
            self.action_show_detail(event.key)

    @on(FilterBar.Changed)
    def _filter_changed(self, event: FilterBar.Changed) -> None:
        self.set_filter(event.value)

    @on(FilterBar.Closed)
    def _filter_closed(self, event: FilterBar.Closed) -> None:
        bar = self.query_one(FilterBar)
        if not event.keep:
            bar.value = ""
            self.set_filter("")
        bar.remove_class("-active")
        self.dashboard.registry_panel.function_list.focus()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        for lst in self.dashboard.lists():
            lst.set_filter(text)
        self._update_status()


def main(read_only: bool = False, service: Any = None) -> int:
    """Run the app (blocking); 0 on a normal quit."""
    app = FunctionsApp(service, read_only=read_only)
    app.run()
    return 0 if app.return_code in (None, 0) else int(app.return_code)
