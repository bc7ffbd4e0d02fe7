"""Probing components in forked child processes, for the short-lived commands.

Reading a component costs mostly CPU in this process: importing its SDK (google-cloud-functions
0.17 s, botocore 0.08 s, docker 0.06 s) and turning its answers into objects (protobuf's JSON
parser: 0.1 s per 1,000 Cloud Functions). Threads share one interpreter lock, so three
components are read one after another; a child process per component reads them on every core.
`status` over 1,000 functions per component spent 0.45 s listing on threads, 0.31 s this way.

A probe is one child: it detects its component when asked to (the first run, before
components.json exists), sends that Detection, then lists the component if it is available and
sends the Observation. Each answer is one pickled frame on a pipe, so the parent can take the
detection long before the listing is in.

Only where it is safe: ``os.fork`` exists and this process runs no other thread (a fork copies
only the calling thread, so a lock another one held would stay held in the child for ever).
The TUI, which always has threads, keeps reading on threads. A child only reads, and ends with
``os._exit``: no buffered output of the parent's is written twice, no atexit handler runs twice.
A child that dies without an answer gives an unavailable detection or a failed (incomplete)
observation, never an empty one: the safety rule.
"""

from __future__ import annotations

import os
import pickle
import struct
import threading
from typing import Any, Callable

from functions_tui.registry.component import Detection, Observation

_LENGTH = struct.Struct("!Q")


def can_fork() -> bool:
    """True when forking is safe here: a POSIX fork and no thread but this one."""
    return hasattr(os, "fork") and threading.active_count() == 1


class Probe:
    """One component read in a child process: an optional detection, then the observation."""

    def __init__(self, component: str, observe: Callable[[Detection | None], Observation],
                 detect: Callable[[], Detection] | None = None) -> None:
        """``detect``: called first in the child when given; ``observe`` gets its Detection
        (None when there was no detecting) and decides itself whether to list."""
        self.component = component
        self.detects = detect is not None
        self._lock = threading.Lock()
        self._detection: Detection | None = None
        self._observation: Observation | None = None
        read_end, write_end = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:
            os.close(read_end)
            _child(write_end, component, observe, detect)   # never returns
        os.close(write_end)
        self._pipe = os.fdopen(read_end, "rb")

    def detection(self) -> Detection:
        with self._lock:
            if self._detection is None:
                answer = self._read()
                self._detection = answer if isinstance(answer, Detection) else Detection(
                    self.component, False, reason=f"detection failed: {_why(answer)}")
            return self._detection

    def observation(self) -> Observation:
        if self.detects:
            self.detection()
        with self._lock:
            if self._observation is None:
                answer = self._read()
                self._observation = answer if isinstance(answer, Observation) else Observation.failed(
                    self.component, f"listing failed: {_why(answer)}")
                self._reap()
            return self._observation

    def discard(self) -> None:
        """End the child without its answers (closing the pipe ends a child still writing)."""
        with self._lock:
            if self._pid:
                self._pipe.close()
                try:
                    os.kill(self._pid, 9)
                except ProcessLookupError:
                    pass
                self._reap()

    def _read(self) -> Any:
        """The next frame, or why there is none (a string)."""
        header = self._pipe.read(_LENGTH.size)
        if len(header) < _LENGTH.size:
            return f"the {self.component} probe process ended without an answer (exit status {self._reap()})"
        payload = self._pipe.read(_LENGTH.unpack(header)[0])
        try:
            return pickle.loads(payload)
        except Exception as exc:  # noqa: BLE001 - a truncated answer is no answer
            return f"the {self.component} probe's answer was unreadable ({type(exc).__name__}: {exc})"

    def _reap(self) -> int | None:
        if self._pid:
            if not self._pipe.closed:
                self._pipe.close()
            _, status = os.waitpid(self._pid, 0)
            self._pid = 0
            return os.waitstatus_to_exitcode(status)
        return None


def _child(write_end: int, component: str, observe: Callable[[Detection | None], Observation],
           detect: Callable[[], Detection] | None) -> None:
    code = 0
    try:
        with os.fdopen(write_end, "wb") as pipe:
            detection = None
            if detect is not None:
                try:
                    detection = detect()
                except BaseException as exc:  # noqa: BLE001 - any failure is an answer
                    detection = Detection(component, False, reason=f"detection failed: {type(exc).__name__}: {exc}")
                _send(pipe, detection)
            try:
                observation = observe(detection)
            except BaseException as exc:  # noqa: BLE001 - any failure is an answer
                observation = Observation.failed(component, f"listing failed: {type(exc).__name__}: {exc}")
            _send(pipe, observation)
    except BaseException:  # noqa: BLE001 - the parent reports a child without an answer
        code = 1
    finally:
        os._exit(code)


def _send(pipe: Any, value: Any) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_LENGTH.pack(len(payload)) + payload)
    pipe.flush()


def _why(answer: Any) -> str:
    return answer if isinstance(answer, str) else f"unexpected answer {type(answer).__name__}"
