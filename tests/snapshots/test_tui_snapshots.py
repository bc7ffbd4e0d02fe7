"""Snapshot tests of every screen (pytest-textual-snapshot): fixed data, fixed clock.

The SVGs live in tests/snapshots/__snapshots__/; after an intended change of the UI,
regenerate them with ``python -m pytest tests/snapshots --snapshot-update`` and look at them.
"""

import pytest

from functions_tui.app.tui_sample import SCENARIOS, scenario_app


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_screen(name, snap_compare):
    _, size, run_before = SCENARIOS[name]
    assert snap_compare(scenario_app(name), terminal_size=size, run_before=run_before)
