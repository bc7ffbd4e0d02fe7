"""``functions-tui --sandbox``: the product working with no cloud account.

Starts every registered kind's local backend, as its ``Kind.sandbox`` declares it (moto for
AWS Lambda, the project's Cloud Functions emulator, Docker when a daemon answers or a private
``dockerd`` can be started), seeds a few functions into a throw-away registry and deploys
them, then changes things out of band (app/sandbox_seed.py, the sample data), so the first
screen already shows drift, a ghost and an unmanaged function. The environment variables the
app reads are exported for this process only; everything is stopped and removed on exit.

This module names no kind: it asks the registered kinds for their backends. The sandbox's
components are one instance per kind that has a backend (a kind without one is absent); an
optional backend that cannot start (Docker) leaves its kind shown as unavailable, with why.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

from functions_tui.app.sandbox_seed import say as _say
from functions_tui.registry.kinds import Kind, RunningBackend


class SandboxEvents(Protocol):
    """What the sandbox tells whoever waits on it (the app's panels, or stderr)."""

    def progress(self, component: str, text: str) -> None: ...
    def environment_ready(self) -> None: ...          # backends up, registry seeded
    def component_ready(self, component: str) -> None: ...  # deployed and drifted: sync it


def sandbox_kinds() -> list[Kind]:
    """The kinds with a local backend, in the order they start: the required ones first (in
    display order), then the optional ones. A required backend that fails stops the sandbox
    before an optional one (a private dockerd) was started for nothing; and the optional ones,
    outside this process (Docker's image builds are the slowest step), are seeded last, so the
    others are usable first."""
    from functions_tui.components import load_kinds
    from functions_tui.registry import kinds

    load_kinds()
    with_backend = [k for k in kinds.kinds().values() if k.sandbox is not None]
    return [k for k in with_backend if not k.sandbox.optional] + [k for k in with_backend if k.sandbox.optional]


def missing_requirements() -> str:
    """Why the sandbox cannot start here ('' when it can): a required backend's module that
    is an optional extra of the package (moto) is not installed."""
    from importlib.util import find_spec

    for kind in sandbox_kinds():
        if kind.sandbox.optional:
            continue   # it says why itself, and the sandbox goes on without it
        for module in kind.sandbox.requires:
            try:
                spec = find_spec(module)
            except ImportError:
                spec = None
            if spec is None:
                return f"--sandbox needs {module} ({kind.title}'s local backend), which is not installed"
    return ""


class _StderrEvents:
    """The headless commands' view of the start: a line on stderr per step."""

    def __init__(self, kinds: list[Kind]) -> None:
        self._labels = [k.sandbox.label for k in kinds]
        self._said: set[str] = set()

    def progress(self, component: str, text: str) -> None:
        """One line for the backends' start, one for the deploys (whatever each calls its step)."""
        from functions_tui.app.sandbox_seed import SEED_FUNCTIONS

        step = "starting" if text.startswith("starting") else "deploying"
        if step in self._said:
            return
        self._said.add(step)
        if step == "starting":
            _say(f"starting local backends: {', '.join(self._labels)}")
        else:
            _say(f"deploying {len(SEED_FUNCTIONS)} functions")

    def environment_ready(self) -> None:
        pass

    def component_ready(self, component: str) -> None:
        pass


class Sandbox:
    """Context manager: ``with Sandbox() as sb: sb.export_env(); ...``.

    ``leave_out``: kinds whose (optional) backend is not started; they are shown unavailable."""

    def __init__(self, root: str | Path | None = None, *, leave_out: Iterable[str] = (), seed: bool = True,
                 start_on_enter: bool = True) -> None:
        self.start_on_enter = start_on_enter
        self._own_root = root is None
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="functions-tui-sandbox-"))
        self.home = self.root / "home"
        self.kinds = sandbox_kinds()
        self.leave_out = frozenset(leave_out)
        for name in self.leave_out:
            kind = next((k for k in self.kinds if k.name == name), None)
            if kind is None or not kind.sandbox.optional:
                raise ValueError(f"only an optional sandbox backend can be left out, not {name!r} "
                                 f"(optional: {', '.join(k.name for k in self.kinds if k.sandbox.optional)})")
        self.seed_enabled = seed
        #: What the app reads (None: unset), from every backend's environment.
        self.env: dict[str, str | None] = {}
        #: kind name (its default instance's, the sandbox's component) -> its backend, in start order
        self.backends: dict[str, RunningBackend] = {}
        self._saved_env: dict[str, str | None] = {}
        self._instances_set = False
        self._stderr = _StderrEvents(self.kinds)   # one, so each step is said once

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "Sandbox":
        self._catch_termination()
        if not self.start_on_enter:
            return self   # the app calls prepare() itself, once it is on screen
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Start the backends and seed them, all before returning (the headless commands)."""
        self.start_backends()
        if self.seed_enabled:
            with self._env_applied():
                self.seed()

    def start_backends(self, events: "SandboxEvents | None" = None) -> None:
        events = events or self._stderr
        self.env = {"FUNCTIONS_TUI_HOME": str(self.home)}
        for kind in self.kinds:
            left_out = f"{kind.name} left out of this sandbox" if kind.name in self.leave_out else ""
            if not left_out:
                events.progress(kind.name, f"starting {kind.sandbox.label}…")
            backend = self._start(kind, left_out)
            self.backends[kind.name] = backend
            if backend.reason and not left_out:
                _say(f"{kind.sandbox.label} is not part of this sandbox: {backend.reason}")
            self.env.update(backend.env)

    def _start(self, kind: Kind, left_out: str) -> RunningBackend:
        """The kind's backend, started by the callable its declaration names, in a folder of
        its own under the sandbox's root (beside, never in, the registry's and the seeds')."""
        module, _, name = kind.sandbox.start.partition(":")
        start = getattr(importlib.import_module(module), name)
        folder = self.root / "backends" / kind.name
        return start(folder, left_out) if left_out else start(folder)

    def prepare(self, events: "SandboxEvents") -> None:
        """The app's start (it is already on screen): backends, then the registry, then each
        component deployed and given its drift, telling ``events`` as each step ends so the
        panels show progress and fill in one by one (Docker's image builds take the longest)."""
        self.start_backends(events)
        self.export_env()
        if self.seed_enabled:
            self.seed(events)
        else:
            events.environment_ready()
            for component in self.backends:
                events.component_ready(component)

    def _catch_termination(self) -> None:
        """SIGTERM / SIGHUP (a closed terminal) unwind like Ctrl-C, so stop() still runs and
        no private dockerd is left behind."""
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return

        def unwind(signum, frame):
            raise SystemExit(128 + signum)

        self._saved_handlers = {}
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._saved_handlers[sig] = signal.signal(sig, unwind)

    def _restore_handlers(self) -> None:
        import signal

        for sig, handler in getattr(self, "_saved_handlers", {}).items():
            signal.signal(sig, handler)
        self._saved_handlers = {}

    def stop(self) -> None:
        labels = {k.name: k.sandbox.label for k in self.kinds}
        running = [labels[name] for name, backend in reversed(self.backends.items()) if not backend.reason]
        if running:
            # quitting waits on these (a private dockerd takes a second or two): say so
            _say(f"stopping {', '.join(running)}…")
        self._clear_borrowed()
        # The last started first: the optional backends (a private dockerd) outside this process.
        for name in reversed(list(self.backends)):
            backend = self.backends.pop(name)
            try:
                backend.stop()
            except Exception as exc:
                _say(f"stopping {labels.get(name, name)}: {exc}")
        self._restore_env()
        self._restore_handlers()
        if self._instances_set:
            from functions_tui.registry import kinds

            kinds.use_instances(None)
            self._instances_set = False
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _clear_borrowed(self) -> None:
        """On a place the sandbox found running (the user's Docker), remove what this sandbox's
        registry deployed there, through the kind's own adapter: only resources marked as ours."""
        borrowed = [name for name, backend in self.backends.items() if backend.borrowed and not backend.reason]
        if not borrowed or not self.seed_enabled:
            return
        try:
            from functions_tui.app.service import SyncService

            self.export_env()   # (stop() undoes it)
            service = SyncService(self.home)
            owner = service.registry_id()
            if not owner:
                return   # no registry: nothing was deployed
            for name in borrowed:
                adapter = service.adapter(name)
                for item in list(adapter.observe().items.values()):
                    if item.marked and item.owner == owner:
                        adapter.delete(item.name, item.resource_id)
        except Exception as exc:
            _say(f"could not clean the sandbox's functions from {', '.join(borrowed)}: {exc}")

    # --- the environment the app reads ---------------------------------------------------------
    def export_home(self) -> None:
        """Only the registry folder, before the backends exist (the app starts them), and the
        sandbox's components (the app is built before its config.yaml exists); undone by stop()."""
        from functions_tui.registry import kinds
        from functions_tui.registry.kinds import Instance

        self._saved_env.setdefault("FUNCTIONS_TUI_HOME", os.environ.get("FUNCTIONS_TUI_HOME"))
        os.environ["FUNCTIONS_TUI_HOME"] = str(self.home)
        kinds.use_instances([Instance(k.name, k) for k in self._display_order()])
        self._instances_set = True

    def export_env(self) -> dict[str, str]:
        """Point this process (and the app it starts) at the sandbox; undone by stop()."""
        for key, value in self.env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        return {k: v for k, v in self.env.items() if v is not None}

    def _restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}

    @contextmanager
    def _env_applied(self) -> Iterator[None]:
        self.export_env()
        try:
            yield
        finally:
            self._restore_env()

    def _display_order(self) -> list[Kind]:
        from functions_tui.registry import kinds

        return [k for k in kinds.kinds().values() if k in self.kinds]

    # --- seeding ---------------------------------------------------------------------------------
    def config_text(self) -> str:
        """The sandbox's config.yaml: one component per kind with a backend, named as the kind
        (its default instance, which the backends' environment points at), with the settings
        its backend gives (the role moto made); everything else the defaults."""
        import yaml

        components = {k.name: {"kind": k.name, **self.backends[k.name].settings}
                      for k in self._display_order() if k.name in self.backends}
        return ("# functions-tui --sandbox: one component per kind with a local backend (app/sandbox.py);\n"
                "# `functions-tui config --show` prints the effective values.\n"
                + yaml.safe_dump({"components": components}, sort_keys=False))

    def seed(self, events: "SandboxEvents | None" = None) -> None:
        """Register the seed functions, then deploy and drift the components (the required
        backends' together first, then each optional one), so each is usable as soon as it is done."""
        from functions_tui.app import sandbox_seed as sample
        from functions_tui.app.paths import ensure_config_dir
        from functions_tui.app.service import SyncService

        events = events or self._stderr
        ensure_config_dir(self.home)
        (self.home / "config.yaml").write_text(self.config_text())
        service = SyncService(self.home)
        running = [name for name, backend in self.backends.items() if not backend.reason]
        folder = sample.write_declarations(self.root / "functions", running)
        service.add(folder)
        detections = service.detections(refresh=True)
        events.environment_ready()
        ready = [name for name in running if detections[name].available]
        optional = {k.name for k in self.kinds if k.sandbox.optional}
        first = [name for name in ready if name not in optional]
        for component in ready:
            events.progress(component, sample.deploying(component))
        self._deploy(service, first)
        for component in first:
            sample.make_drift(component, sample.Drift(service, self.backends[component], folder))
        for component in first:
            events.component_ready(component)
        for component in [name for name in ready if name in optional]:
            events.progress(component, sample.deploy_step(component))
            self._deploy(service, [component])
            sample.make_drift(component, sample.Drift(service, self.backends[component], folder))
        for component in self.backends:
            if component not in first:   # the optional ones, and any that is unavailable
                events.component_ready(component)
        _say("ready: drift, a merge, a conflict, a ghost, an unmanaged and a foreign function are waiting for you")

    @staticmethod
    def _deploy(service: Any, components: list[str]) -> None:
        if not components:
            return
        result = service.apply(service.plan(components, policy="registry-wins"))
        for failed in result.failed:
            _say(f"seeding {failed.action.function} on {failed.action.component} failed: {failed.error}")
