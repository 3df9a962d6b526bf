"""The server-side spend chart: bar heights in proportion, a round axis top, no chart without spend,
and its SVG as the page shows it."""

import re
from datetime import date, timedelta
from decimal import Decimal

from django.template import Context, Template

from usage.charts import BOTTOM, HEIGHT, TOP, spend_chart
from usage.selectors import DaySpend

D = Decimal


def days(*totals: str) -> list[DaySpend]:
    start = date(2026, 11, 1)
    return [DaySpend(start + timedelta(days=i), 1, 1, D(t), D("0"), D("0")) for i, t in enumerate(totals)]


def test_bars_are_in_proportion_to_spend_under_a_round_axis_top():
    chart = spend_chart(days("0.75", "0", "1.50", "0.10"))
    plot = HEIGHT - TOP - BOTTOM
    assert [t.label for t in chart.y_ticks] == ["US$0.00", "US$0.50", "US$1.00", "US$1.50", "US$2.00"]
    assert [b.height for b in chart.bars] == [round(plot * 0.375, 2), 0.0, round(plot * 0.75, 2), round(plot * 0.05, 2)]
    assert all(b.y + b.height == HEIGHT - BOTTOM for b in chart.bars)
    assert chart.bars[0].x < chart.bars[1].x < chart.bars[2].x


def test_a_year_of_days_gets_a_few_readable_day_labels():
    chart = spend_chart(days(*["1"] * 366))
    assert len(chart.bars) == 366
    assert len(chart.x_ticks) <= 6
    assert chart.x_ticks[0].label == "1 Nov"


def test_no_spend_gives_no_chart():
    assert spend_chart(days("0", "0")) is None
    assert spend_chart([]) is None


def test_an_axis_under_a_cent_shows_enough_decimals():
    chart = spend_chart(days("0.0109"))
    assert [t.label for t in chart.y_ticks] == ["US$0.0000", "US$0.0050", "US$0.0100", "US$0.0150", "US$0.0200"]


def test_the_svg_draws_a_bar_with_its_title_for_each_day_that_spent():
    spent = days("0.75", "0", "1.50")
    spent[2] = DaySpend(spent[2].day, 5, 5, D("1.50"), D("0"), D("0"), free_messages=2)
    chart = spend_chart(spent)

    svg = chart.svg()

    assert svg.startswith('<svg class="chart-wide" viewBox="0 0 900 240"') and 'data-bars="3"' in svg
    assert re.findall(r"<title>(.*?)</title>", svg) == [
        "Sun 1 Nov 2026: US$0.75",
        "Tue 3 Nov 2026: US$1.50 · 5 messages, 2 free",
    ]
    bar = chart.bars[0]
    assert f'<rect class="bar" x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}">' in svg
    assert [label for label in re.findall(r'<text class="axis"[^>]*>(.*?)</text>', svg)] == [
        *(tick.label for tick in chart.y_ticks),
        *(tick.label for tick in chart.x_ticks),
    ]
    assert spend_chart(spent, narrow=True).svg().startswith('<svg class="chart-narrow" viewBox="0 0 360 200"')


def test_the_svg_titles_read_as_the_date_and_usd_filters_write_them():
    chart = spend_chart(days(*["0.004", "1.255", "0"] * 130))
    template = Template('{% load money %}{{ bar.day|date:"D j M Y" }}: {{ bar.total|usd }}')

    titles = re.findall(r"<title>(.*?)</title>", chart.svg())

    assert titles == [template.render(Context({"bar": bar})) for bar in chart.bars if bar.total]
    assert len(titles) == 260
