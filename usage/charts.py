"""Per-day spend as an SVG bar chart, laid out and drawn on the server: no script, no external service.

spend_chart lays it out; SpendChart.svg draws it, for templates/includes/spend_chart.html
to place. Coordinates are in the SVG's own units (a viewBox), so the chart scales to any
screen width.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from usage.selectors import DaySpend
from wallets.money import ZERO, format_usd

WIDTH, HEIGHT = 900, 240
LEFT, RIGHT, TOP, BOTTOM = 72, 8, 12, 30
MAX_X_LABELS = 6
# The phone layout: a narrower viewBox keeps labels legible at 390 px with every day shown.
NARROW_WIDTH, NARROW_HEIGHT, NARROW_LEFT, NARROW_X_LABELS = 360, 200, 64, 4


@dataclass(frozen=True)
class Bar:
    day: date
    total: Decimal
    messages: int
    free_messages: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Tick:
    value: Decimal
    position: float  # y for the value axis, x for the day axis
    label: str


@dataclass(frozen=True)
class SpendChart:
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM
    narrow: bool = False

    def svg(self) -> SafeString:
        """The chart's markup. Written here in one join rather than as template tags: a
        year is 365 bars in each of two layouts, and the tags and filters per bar (a date,
        an amount, four coordinates) were most of the wallet page's time under a profile.
        Day and month names come from Django's, as the `date` filter's do."""
        weekdays = [str(name) for _, name in sorted(WEEKDAYS_ABBR.items())]
        months = {number: str(name).title() for number, name in MONTHS_3.items()}
        axis_x, label_y = self.left - 6, self.height - 8
        parts = [
            f'<svg class="{"chart-narrow" if self.narrow else "chart-wide"}" viewBox="0 0 {self.width} {self.height}" '
            f'role="img" aria-label="Bar chart of spend per day" data-bars="{len(self.bars)}">'
        ]
        for tick in self.y_ticks:
            parts.append(
                f'<line class="grid" x1="{self.left}" x2="{self.width}" y1="{tick.position}" y2="{tick.position}"/>'
                f'<text class="axis" x="{axis_x}" y="{tick.position}" text-anchor="end" dominant-baseline="middle">'
                f"{escape(tick.label)}</text>"
            )
        for bar in self.bars:
            if not bar.height:
                continue
            day = bar.day
            title = f"{weekdays[day.weekday()]} {day.day} {months[day.month]} {day.year:04d}: {format_usd(bar.total)}"
            if bar.free_messages:
                title += f" · {bar.messages} messages, {bar.free_messages} free"
            parts.append(
                f'<rect class="bar" x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}">'
                f"<title>{escape(title)}</title></rect>"
            )
        for tick in self.x_ticks:
            parts.append(
                f'<text class="axis" x="{tick.position}" y="{label_y}" text-anchor="middle">{escape(tick.label)}</text>'
            )
        parts.append("</svg>")
        return mark_safe("\n".join(parts))  # noqa: S308  (every text in it is escaped above)


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2 or 5 times a power of ten at or above value (axis top)."""
    exponent = value.adjusted()
    for step in (1, 2, 5, 10):
        candidate = Decimal(step).scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)  # unreachable: 10 * 10**exponent > value


def spend_chart(days: list[DaySpend], *, narrow: bool = False) -> SpendChart | None:
    """None when nothing was spent: the page shows an empty state instead of a flat chart.
    `narrow`: the phone layout (every day still drawn, fewer day labels)."""
    peak = max((d.total for d in days), default=ZERO)
    if peak <= ZERO:
        return None
    width, height_, left = (NARROW_WIDTH, NARROW_HEIGHT, NARROW_LEFT) if narrow else (WIDTH, HEIGHT, LEFT)
    max_labels = NARROW_X_LABELS if narrow else MAX_X_LABELS
    top = nice_ceiling(peak)
    plot_w, plot_h = width - left - RIGHT, height_ - TOP - BOTTOM
    slot = plot_w / len(days)
    gap = min(2.0, slot * 0.2)
    bars = []
    for index, day in enumerate(days):
        height = float(day.total / top) * plot_h if day.total > ZERO else 0.0
        bars.append(
            Bar(
                day=day.day,
                total=day.total,
                messages=day.messages,
                free_messages=day.free_messages,
                x=round(left + index * slot + gap / 2, 2),
                y=round(TOP + plot_h - height, 2),
                width=round(slot - gap, 2),
                height=round(height, 2),
            )
        )
    # Quarters of the axis top need more than cents when a range spent under a few cents.
    places = max(2, -top.adjusted() + 2)
    y_ticks = [
        Tick(value=top * k / 4, position=round(TOP + plot_h - plot_h * k / 4, 2), label=f"US${top * k / 4:,.{places}f}")
        for k in range(5)
    ]
    every = max(1, -(-len(days) // max_labels))  # ceiling division
    x_ticks = [
        Tick(value=ZERO, position=round(left + index * slot + slot / 2, 2), label=f"{day.day.day} {day.day:%b}")
        for index, day in enumerate(days)
        if index % every == 0
    ]
    return SpendChart(
        bars=bars, y_ticks=y_ticks, x_ticks=x_ticks, width=width, height=height_, left=left, baseline=height_ - BOTTOM,
        narrow=narrow,
    )  # fmt: skip
