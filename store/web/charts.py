"""Bar charts of counts per day as inline SVG, built on the server.

Written here because the page must load nothing from the network and run no script: the
Datasette chart plugins (datasette-vega, datasette-plot) draw in the browser with JavaScript.
Every label is escaped; the SVG is plain markup with a ``<title>`` per bar (a tooltip).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup

WIDTH, HEIGHT = 560, 170
TOP, BOTTOM, LEFT, RIGHT = 16, 26, 34, 8  # margins for the axis labels


@dataclass(frozen=True)
class Series:
    """Counts for each day of a window, oldest first (days without a count are 0)."""

    days: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        """The sum of the counts."""
        return sum(self.counts)


def day_window(last_day: str, days: int) -> tuple[str, ...]:
    """The ``days`` ISO dates ending with ``last_day``, oldest first."""
    end = dt.date.fromisoformat(last_day)
    return tuple((end - dt.timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1))


def series(window: tuple[str, ...], counts: Mapping[str, int]) -> Series:
    """The counts of each day of the window (0 where there is none)."""
    return Series(window, tuple(int(counts.get(day, 0)) for day in window))


def bar_chart(data: Series, title: str, unit: str) -> Markup:
    """An SVG bar chart of a series: a bar per day, the largest count and the window's ends."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    peak = max(data.counts, default=0)
    slot = plot_w / max(len(data.days), 1)
    bars = []
    for index, (day, count) in enumerate(zip(data.days, data.counts, strict=True)):
        height = 0.0 if peak == 0 else plot_h * count / peak
        x = LEFT + index * slot + slot * 0.12
        y = TOP + plot_h - height
        bars.append(
            Markup(
                '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}">'
                "<title>{}: {} {}</title></rect>"
            ).format(x, y, slot * 0.76, height, day, count, unit)
        )
    if peak == 0:
        bars.append(
            Markup(
                '<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="middle">none</text>'
            ).format(LEFT + plot_w / 2, TOP + plot_h / 2)
        )
    first = data.days[0] if data.days else ""
    last = data.days[-1] if data.days else ""
    return Markup(
        '<svg class="wire-chart" role="img" aria-label="{title}" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" xmlns="http://www.w3.org/2000/svg">'
        "<title>{title}</title>"
        '<line class="axis" x1="{left}" y1="{base}" x2="{right}" y2="{base}"/>'
        '<text class="tick" x="{tick_x}" y="{top_y}" text-anchor="end">{peak}</text>'
        '<text class="tick" x="{tick_x}" y="{base}" text-anchor="end">0</text>'
        '<g class="bars">{bars}</g>'
        '<text class="tick" x="{left}" y="{label_y}">{first}</text>'
        '<text class="tick" x="{right}" y="{label_y}" text-anchor="end">{last}</text>'
        "</svg>"
    ).format(
        title=title,
        w=WIDTH,
        h=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        base=TOP + plot_h,
        tick_x=LEFT - 4,
        top_y=TOP + 4,
        peak=peak,
        bars=Markup("").join(bars),
        label_y=HEIGHT - 8,
        first=first,
        last=last,
    )
