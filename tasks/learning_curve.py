"""A dependency-free SVG line plot of a learning curve, embeddable in a Prefect markdown artifact.

Prefect has no metric plots, and its image artifact only shows publicly reachable URLs; a markdown
artifact with a ``data:`` image URI renders everywhere the UI does, with no file to host.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence

_WIDTH, _HEIGHT, _PAD = 640, 320, 48
MAX_POINTS = 500


def _downsample(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """Keep at most ``MAX_POINTS`` evenly spaced points, always including the last one."""
    if len(xs) <= MAX_POINTS:
        return list(xs), list(ys)
    step = (len(xs) - 1) / (MAX_POINTS - 1)
    idx = sorted({round(i * step) for i in range(MAX_POINTS)})
    return [xs[i] for i in idx], [ys[i] for i in idx]


def _span(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if math.isclose(low, high):
        low, high = low - 1.0, high + 1.0  # A flat curve still gets a visible axis range.
    return low, high


def render_svg(xs: Sequence[float], ys: Sequence[float], x_label: str, y_label: str) -> str:
    """Render ``ys`` against ``xs`` as a small SVG line plot with labelled axis ranges.

    Args:
        xs: The x values (e.g. total environment steps), increasing.
        ys: The y values (e.g. average return), same length as ``xs``; non-finite values are
            skipped.
        x_label: The x axis' caption.
        y_label: The y axis' caption.

    Returns:
        The SVG document as text; a plot with a "no data yet" note if no point is finite.
    """
    points = [(x, y) for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y)]
    body = ['<text x="50%" y="50%" text-anchor="middle">no data yet</text>']
    if points:
        px, py = _downsample([p[0] for p in points], [p[1] for p in points])
        (x0, x1), (y0, y1) = _span(px), _span(py)
        inner_w, inner_h = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD

        def to_screen(x: float, y: float) -> str:
            sx = _PAD + (x - x0) / (x1 - x0) * inner_w
            sy = _HEIGHT - _PAD - (y - y0) / (y1 - y0) * inner_h
            return f"{sx:.1f},{sy:.1f}"

        line = " ".join(to_screen(x, y) for x, y in zip(px, py))
        bottom, right = _HEIGHT - _PAD, _WIDTH - _PAD
        body = [
            f'<polyline fill="none" stroke="#2f6fde" stroke-width="2" points="{line}"/>',
            f'<line x1="{_PAD}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#888"/>',
            f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{bottom}" stroke="#888"/>',
            f'<text x="{_PAD}" y="{bottom + 16}">{x0:g}</text>',
            f'<text x="{right}" y="{bottom + 16}" text-anchor="end">{x1:g}</text>',
            f'<text x="{_PAD - 4}" y="{bottom}" text-anchor="end">{y0:.4g}</text>',
            f'<text x="{_PAD - 4}" y="{_PAD + 4}" text-anchor="end">{y1:.4g}</text>',
            f'<text x="50%" y="{_HEIGHT - 8}" text-anchor="middle">{html.escape(x_label)}</text>',
            f'<text x="12" y="{_PAD - 16}">{html.escape(y_label)}</text>',
        ]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
            f'font-family="sans-serif" font-size="12"><rect width="100%" height="100%" '
            f'fill="white"/>{"".join(body)}</svg>')


def markdown_image(svg: str, alt: str) -> str:
    """Wrap an SVG document as a markdown image with a base64 ``data:`` URI."""
    encoded = base64.b64encode(svg.encode()).decode()
    return f"![{alt}](data:image/svg+xml;base64,{encoded})"
