"""Line charts drawn on the server as inline SVG: no script, no external library, no CDN, and testable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36
TICKS = 4


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str


def _nice_max(value: float) -> float:
    """A round upper bound for the y axis (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def line_chart(
    *, title: str, buckets: Sequence[datetime], series: Sequence[Series], unit: str = "", y_max: float | None = None
) -> SafeString:
    """An accessible SVG line chart of ``series`` over ``buckets`` (``unit`` is appended to axis values)."""
    if not buckets:
        return format_html('<p class="chart-empty">{}</p>', title)
    top = y_max if y_max is not None else _nice_max(max((max(s.values, default=0) for s in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(buckets) - 1)

    def x(i: int) -> float:
        return LEFT + i * step if len(buckets) > 1 else LEFT + plot_w / 2

    def y(value: float) -> float:
        return TOP + plot_h - (min(value, top) / top) * plot_h

    grid = format_html_join(
        "",
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="grid"/><text x="{}" y="{}" class="tick" '
        'text-anchor="end">{}{}</text>',
        ((LEFT, _c(y(top * t / TICKS)), WIDTH - RIGHT, _c(y(top * t / TICKS)), LEFT - 6, _c(y(top * t / TICKS) + 4),
          _number(top * t / TICKS), unit) for t in range(TICKS + 1)),
    )  # fmt: skip
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" class="tick" text-anchor="middle">{}</text>',
        (
            (_c(x(i)), HEIGHT - 12, date_format(buckets[i], "SHORT_DATETIME_FORMAT"))
            for i in _label_positions(len(buckets))
        ),
    )
    lines = format_html_join(
        "",
        '<polyline class="series" data-series="{}" fill="none" stroke="{}" stroke-width="2" points="{}">'
        "<title>{}</title></polyline>",
        ((s.name, s.color, " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values)), s.name) for s in series),
    )
    legend = format_html_join(
        "",
        '<tspan fill="{}" dx="{}">■ {}</tspan>',
        ((s.color, 0 if n == 0 else 12, s.name) for n, s in enumerate(series)),
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
        '<title>{}</title>{}{}{}<text x="{}" y="{}" class="legend">{}</text></svg>',
        WIDTH, HEIGHT, title, title, grid, labels, lines, LEFT, TOP - 4, legend,
    )  # fmt: skip


def _c(value: float) -> str:
    """A coordinate as text (format_html escapes its arguments to strings before formatting)."""
    return f"{value:.1f}"


def _label_positions(count: int) -> list[int]:
    if count <= 1:
        return [0]
    wanted = min(count, 6)
    return sorted({round(i * (count - 1) / (wanted - 1)) for i in range(wanted)})


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
