"""How a moment reads on screen: HH:MM:SS (the panels, the detail view, the activity log)."""

from __future__ import annotations

from datetime import datetime


def clock_text(moment: datetime | str | None) -> str:
    """HH:MM:SS of a datetime or an ISO timestamp ('' when unknown)."""
    if not moment:
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
    return moment.strftime("%H:%M:%S")
