"""How the report writes numbers and tables: every value through its registry output's ``format``
(outputs the registry does not know: 3 decimals under their key), which columns a leaderboard
table has, the teams' order, and the small HTML builders; everything escaped."""

from __future__ import annotations

import math
from html import escape
from typing import Iterable

from .metrics import registry
from .metrics.registry import MISSING, Output


# Keys shown by the team gallery and the copies list, not as plain numbers.
STRUCTURED_KEYS = {"selected_cases", "suspected_copies", "metric_errors", "rank_probabilities"}
COPIES_SHOWN = 10


def e(value: object) -> str:
    """HTML-escaped text (quotes too: safe in attributes)."""
    return escape(str(value), quote=True)


# ------------------------------------------------------------------------------------- numbers

def output_for(key: str) -> Output:
    """The registry's description of ``key``; an unknown key gets a plain 3-decimal one."""
    try:
        return registry.output(key)
    except KeyError:
        return Output(key, key.replace("_", " "), 3)


def fmt(key: str, value: object) -> str:
    """``value`` of output ``key`` as text, with the registry's format (plain text, not escaped)."""
    output = output_for(key)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {fmt(key, v)}" for k, v in value.items()) or MISSING
    if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple, str)) for v in value):
        return f"{len(value)} entries"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING
    try:
        return output.format(value)
    except (TypeError, ValueError):
        return str(value)


def fixed(value: float | None, decimals: int) -> str:
    """Reader-study numbers that are not registry outputs (criterion means, ICC, W)."""
    return MISSING if value is None else f"{value:.{decimals}f}"


def present(submissions: dict, key: str) -> bool:
    return any(s.get(key) is not None for s in submissions.values())


def _is_scalar_or_interval(key: str, submissions: dict) -> bool:
    for s in submissions.values():
        v = s.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or isinstance(v, (int, float)):
            continue
        if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) or x is None for x in v):
            continue
        return False
    return True


def leaderboard_columns(result: dict) -> tuple[list[Output], list[Output]]:
    """(challenge columns, other columns) that the snapshot has values for, in the registry's order.

    The challenge's table: its own columns (rank, n, FID and interval, FID score, diversity,
    quantitative, qualitative, final), every interval of them and every rank statistic
    (``rank_*``); the second table: every other table output.
    """
    subs = result["submissions"]
    challenge_keys = set(registry.CHALLENGE_COLUMNS) | {o.key for o in registry.LEADERBOARD_OUTPUTS}
    main, other = [], []
    for o in registry.outputs():
        if o.key in STRUCTURED_KEYS or not present(subs, o.key) or not _is_scalar_or_interval(o.key, subs):
            continue
        challenge = o.key in challenge_keys or o.key.startswith("rank")
        if challenge and (o.table or o.key.endswith("_ci95") or o.key.startswith("rank")):
            main.append(o)
        elif o.table:
            other.append(o)
    # Rank statistics the registry does not describe (yet): shown beside the ranks all the same.
    known = {o.key for o in registry.outputs()}
    extra = sorted({k for s in subs.values() for k in s if k not in known and k.startswith("rank_")} - STRUCTURED_KEYS)
    main += [output_for(k) for k in extra if _is_scalar_or_interval(k, subs)]
    return _intervals_beside(main), _intervals_beside(other)


def _intervals_beside(columns: list[Output]) -> list[Output]:
    """Each ``X_ci95`` column right after ``X`` when both are shown."""
    keys = {o.key for o in columns}
    beside = {o.key[: -len("_ci95")]: o for o in columns if o.key.endswith("_ci95") and o.key[: -len("_ci95")] in keys}
    ordered = []
    for o in columns:
        if o in beside.values():
            continue
        ordered.append(o)
        if o.key in beside:
            ordered.append(beside[o.key])
    return ordered


def ordered_teams(result: dict) -> list[str]:
    """Submissions best first, as every leaderboard orders them (scoring.leaderboard_rows)."""
    from .scoring import leaderboard_rows

    return [row["submission"] for row in leaderboard_rows(result)]


# ----------------------------------------------------------------------------------- building

def html_table(headers: Iterable[tuple[str, str, str]], rows: Iterable[tuple[dict, Iterable[tuple[str, str, str]]]],
           cls: str = "", table_id: str = "") -> str:
    """headers: (key, label, css class); rows: (attributes, cells (key, text, css class)); all text escaped."""
    head = "".join(f'<th data-key="{e(k)}" class="{c}" scope="col">{e(label)}</th>' for k, label, c in headers)
    body = []
    for attrs, cells in rows:
        attr = "".join(f' {name}="{e(value)}"' for name, value in attrs.items())
        body.append(f"<tr{attr}>" + "".join(f'<td data-key="{e(k)}" class="{c}">{e(text)}</td>'
                                           for k, text, c in cells) + "</tr>")
    ident = f' id="{e(table_id)}"' if table_id else ""
    return f'<table{ident} class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def key_values(pairs: Iterable[tuple[str, str]], mono: bool = False) -> str:
    cls = ' class="mono"' if mono else ""
    return '<table class="kv">' + "".join(f"<tr><th>{e(k)}</th><td{cls}>{e(v)}</td></tr>" for k, v in pairs) + "</table>"
