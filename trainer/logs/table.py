"""The plain-text table an epoch's tabular row is printed as (dowel's ``StdOutput`` look)."""

from __future__ import annotations

from collections.abc import Mapping


def format_value(value: float | int | str) -> str:
    """Return the table cell of ``value``: floats with 6 significant digits, others as ``str``."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def format_table(row: Mapping[str, float | int | str]) -> str:
    """Format a tabular row as a two-column table sorted by key.

    The layout is the one garage users know from dowel (tabulate's ``simple`` style): a dashed
    rule, one ``key  value`` line per entry, a dashed rule. Numbers are right-aligned, text is
    left-aligned.

    Args:
        row: Keys and their values.

    Returns:
        The table without a trailing newline, or ``""`` for an empty row.
    """
    if not row:
        return ""
    items = sorted(row.items())
    cells = [format_value(value) for _, value in items]
    key_width = max(len(key) for key, _ in items)
    value_width = max(len(cell) for cell in cells)
    rule = "-" * key_width + "  " + "-" * value_width
    lines = [rule]
    for (key, value), cell in zip(items, cells):
        aligned = cell.ljust(value_width) if isinstance(value, str) else cell.rjust(value_width)
        lines.append(f"{key.ljust(key_width)}  {aligned}".rstrip())
    lines.append(rule)
    return "\n".join(lines)
