"""Top-ups against usage per month, as grouped SVG bars laid out on the server (no script,
no CDN), in the same style as the wallet page's spend chart (usage.charts). Each bar carries
the admin link of the rows behind it."""

from dataclasses import dataclass
from decimal import Decimal

from usage.charts import nice_ceiling
from wallets.money import ZERO

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 76, 8, 12, 28


@dataclass(frozen=True)
class ChartBar:
    series: str  # "top_ups" or "usage"
    value: Decimal
    x: float
    y: float
    width: float
    height: float
    href: str
    label: str  # the tooltip: month, series and amount


@dataclass(frozen=True)
class ChartTick:
    position: float
    label: str


@dataclass(frozen=True)
class MonthChart:
    bars: list[ChartBar]
    y_ticks: list[ChartTick]
    x_ticks: list[ChartTick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM


def month_chart(months: list[dict], *, series: tuple[str, ...] = ("top_ups", "usage")) -> MonthChart | None:
    """`months`: oldest first, each {"month", "label", <series>: Decimal, "<series>_href": str}.
    None when every value is zero: the template shows an empty state."""
    peak = max((row[name] for row in months for name in series), default=ZERO)
    if peak <= ZERO:
        return None
    top = nice_ceiling(peak)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(months)
    bar_w = slot * 0.7 / len(series)
    bars, x_ticks = [], []
    for index, row in enumerate(months):
        start = LEFT + index * slot + slot * 0.15
        for offset, name in enumerate(series):
            height = float(row[name] / top) * plot_h
            bars.append(
                ChartBar(
                    series=name,
                    value=row[name],
                    x=round(start + offset * bar_w, 2),
                    y=round(TOP + plot_h - height, 2),
                    width=round(bar_w - 1, 2),
                    height=round(height, 2),
                    href=row[f"{name}_href"],
                    label=row["label"],
                )
            )
        x_ticks.append(ChartTick(position=round(LEFT + index * slot + slot / 2, 2), label=row["label"]))
    places = 0 if top >= 4 else 2  # whole dollars unless the axis tops out at a few dollars
    y_ticks = [
        ChartTick(position=round(TOP + plot_h - plot_h * k / 4, 2), label=f"US${top * k / 4:,.{places}f}")
        for k in range(5)
    ]
    return MonthChart(bars=bars, y_ticks=y_ticks, x_ticks=x_ticks)
