"""When the app's sync jobs run: the rules, kept apart from the App so they can be tested alone.

The App asks, and then does what it is told: it starts a job's thread, arms its timer, or logs
a skipped job. Nothing here touches a thread, a timer or a widget.

- a job never overlaps itself: asked while it runs, it runs once more right after;
- a job runs ``after`` others: asked while one of those runs, it waits for it, and runs
  once every one it follows has ended, or is skipped if the one that ended failed;
- a job with an interval runs again that long after it *ended* (dolphie's self-rescheduling
  workers), so runs never pile up on a slow backend;
- a run the app started by itself (at load, by a timer) is "background"; one a person asked
  for is not, and that one detects again what was down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol


class Job(Protocol):
    name: str
    after: tuple[str, ...] | list[str]
    interval: float


@dataclass
class Ended:
    """What to do once a job ended: jobs to start now, jobs skipped (name, why), and the
    seconds until this job's next run (None: no timer)."""

    start: list[Job] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    next_run_in: float | None = None


class SyncScheduler:
    """The running, queued and waiting jobs of one app."""

    def __init__(self, jobs: Iterable[Job], *, autosync: bool = True) -> None:
        self.jobs = list(jobs)
        self.autosync = autosync
        self.running: set[str] = set()
        self.failed: set[str] = set()
        self._rerun: set[str] = set()
        self._waiting: set[str] = set()
        self._background: set[str] = set()

    def mark_background(self, names: Iterable[str]) -> None:
        """These jobs' next start is the app's own (at load, by a timer), not a person's."""
        self._background.update(names)

    def request(self, job: Job) -> bool:
        """Ask for ``job`` to run; True when it should start now (it is then running). Else
        it is queued to run again after its current run, or waits for a job it follows."""
        if job.name in self.running:
            self._rerun.add(job.name)
            return False
        if any(dep in self.running for dep in job.after):
            self._waiting.add(job.name)
            return False
        self.running.add(job.name)
        return True

    def requested_by_person(self, job: Job) -> bool:
        """Whether the run just started was asked for by a person (then what was down is
        detected again); consumes the background mark."""
        background = job.name in self._background
        self._background.discard(job.name)
        return not background

    def ended(self, job: Job, ok: bool = True) -> Ended:
        """``job``'s run ended: what now."""
        self.running.discard(job.name)
        (self.failed.discard if ok else self.failed.add)(job.name)
        out = Ended()
        for waiting in [j for j in self.jobs if j.name in self._waiting and job.name in j.after]:
            if any(dep in self.running for dep in waiting.after):
                continue
            self._waiting.discard(waiting.name)
            if ok:
                out.start.append(waiting)
            else:
                out.skipped.append((waiting.name, f"it runs after {job.name}, which failed"))
        if job.name in self._rerun:
            self._rerun.discard(job.name)
            out.start.append(job)
        elif self.autosync and job.interval > 0:
            out.next_run_in = job.interval
        return out

    def abandon(self, job: Job) -> None:
        """The app is closing: forget ``job``'s run without starting anything."""
        self.running.discard(job.name)
