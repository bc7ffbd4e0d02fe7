"""A local Google Cloud Functions v2 API (REST) for tests, the sandbox and users' own tests.

No official emulator exists for the Cloud Functions management API, so the project ships
this one: ``state.py`` models functions / operations / uploads (and fault injection),
``server.py`` serves the REST paths the real ``FunctionServiceClient(transport="rest")``
calls, ``definition.py`` is what Google's API defines (messages, enums, parameters, regions)
and ``validation.py`` holds every request to it, so the emulator refuses what Google refuses
(``errors.py``: Google's error body) and never stores or serves anything Google would not;
``request_log.py`` records each request; ``handle.py`` starts it in-process for tests and the
sandbox, ``__main__.py`` runs it alone (``functions-tui emulator gcp --port PORT [--state FILE]
[--request-log FILE] [--operation-delay SECONDS]``). Standard library only; tests/test_gcp_contract*.py
hold it (and the gcp adapter) to Google's discovery document.
"""

from functions_tui.components.gcp_emulator.handle import GcpEmulatorHandle, start_gcp_emulator
from functions_tui.components.gcp_emulator.server import EmulatorServer, start_in_thread
from functions_tui.components.gcp_emulator.errors import EmulatorError
from functions_tui.components.gcp_emulator.state import EmulatorState

__all__ = ["EmulatorError", "EmulatorServer", "EmulatorState", "GcpEmulatorHandle", "start_gcp_emulator",
           "start_in_thread"]
