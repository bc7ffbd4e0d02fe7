"""How each sync state looks: glyph, label, meaning, and what colours it (a theme variable in
the app, a Rich style in the CLI's output).

One place, used by every panel and screen and by the headless commands (this module imports
no Textual), so "drifted" reads and looks the same everywhere.
"""

from __future__ import annotations

from typing import Mapping

#: The header's icon on every screen. Textual's default (⭘, U+2B58) is missing from most
#: monospace fonts and showed as a tofu box; a lambda is in every one of them.
HEADER_ICON = "λ"

#: Display order (worst first is not wanted here: the order of the design table).
ORDER = ("in_sync", "drifted", "pending", "diverged", "conflict", "missing", "unmanaged", "foreign", "unknown")

GLYPHS = {
    "in_sync": "✓", "drifted": "~", "pending": "↑", "diverged": "⇅", "conflict": "!",
    "missing": "✗", "unmanaged": "+", "foreign": "⊘", "unknown": "?", "none": "·",
}

LABELS = {
    "in_sync": "in sync", "drifted": "drifted", "pending": "pending", "diverged": "diverged",
    "conflict": "conflict", "missing": "missing", "unmanaged": "unmanaged", "foreign": "foreign",
    "unknown": "unknown", "none": "not targeted",
}

THEME_VARIABLES = {
    "in_sync": "$text-success", "drifted": "$text-warning", "pending": "$text-primary",
    "diverged": "$text-warning", "conflict": "$text-error", "missing": "$text-error",
    "unmanaged": "$text-secondary", "foreign": "$text-muted", "unknown": "$text-muted", "none": "$text-disabled",
}

#: What each state means (the help's legend).
DESCRIPTIONS = {
    "in_sync": "registry and component agree",
    "drifted": "changed on the component since the last sync",
    "pending": "changed in the registry, not deployed yet",
    "diverged": "changed on both sides in different fields: merged field by field",
    "conflict": "a field changed on both sides, differently: a person decides",
    "missing": "in the registry, not on the component (ghost or not deployed)",
    "unmanaged": "carries this registry's mark on the component, unknown to the registry",
    "foreign": "deployed by another registry: shown, never touched",
    "unknown": "component unavailable or listing failed/partial: nothing changes",
    "none": "registry panel: the function does not target that component",
}

#: Rich styles for a plain terminal (the CLI's tables and plans), where theme variables do not exist.
TERMINAL_STYLES = {
    "in_sync": "green", "drifted": "yellow", "pending": "cyan", "diverged": "yellow", "conflict": "bold red",
    "missing": "magenta", "unmanaged": "blue", "foreign": "dim blue", "unknown": "dim",
}

#: Severity, to pick the one state a registry row is coloured by.
SEVERITY = {"conflict": 7, "missing": 6, "diverged": 5, "drifted": 4, "pending": 3, "unmanaged": 2,
            "unknown": 1, "foreign": 1, "in_sync": 0, "none": -1}


def worst(states: list[str]) -> str:
    return max(states, key=lambda s: SEVERITY.get(s, 0)) if states else "none"


def counts_markup(counts: Mapping[str, int]) -> str:
    """``✓12 ~2 !1`` coloured by theme variable; states with no function are left out."""
    parts = [f"[{THEME_VARIABLES[s]}]{GLYPHS[s]}{counts[s]}[/]" for s in ORDER if counts.get(s)]
    return " ".join(parts)


def state_markup(state: str, detail: str = "") -> str:
    text = LABELS.get(state, state) + (f" ({detail})" if detail else "")
    return f"[{THEME_VARIABLES.get(state, '$text')}]{GLYPHS.get(state, '?')} {text}[/]"


def rich_style_for(app, variable: str) -> str:
    """A Rich style string for a theme variable (for Rich renderables, which know no $vars).

    Values Rich cannot parse ("auto 60%", alpha colours) fall back to blending or "dim".
    """
    from textual.color import Color

    value = app.theme_variables.get(variable.lstrip("$"), "")
    try:
        colour = Color.parse(value)
    except Exception:
        return "dim"
    if colour.a < 1:
        background = Color.parse(app.theme_variables.get("surface", "#000000"))
        colour = background.blend(colour.with_alpha(1.0), colour.a)
    return colour.hex6


def count_text(shown: int, total: int, filtering: bool) -> str:
    """A panel's function count: "4 functions", or "1 of 4 functions" while a filter is on
    (so a panel never claims all its functions while showing one)."""
    noun = "function" if total == 1 else "functions"
    if filtering or shown != total:
        return f"{shown} of {total} {noun}"
    return f"{total} {noun}"
