"""How each sync state looks: glyph, label and the theme variable that colours it.

One table, used by every panel and screen, so "drifted" is the same yellow everywhere and
follows the theme ($success / $warning / $error / ... are theme variables).
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
