"""An impact criterion's chart for the evaluation page, drawn on the server as SVG. Pure: no
I/O, no third-party library, no translation (the caller passes its labels translated and its
date and number formats).

The chart shows the measurements over time as a line with a point per measurement, the
baseline and the target as dashed horizontal lines (labelled), a vertical marker at the
target date, and axes with a few ticks: dates below; values, the ladder's steps, or no and
yes at the left. It is one image to assistive technologies (`role="img"`, named by its
<title> and <desc>, whose ids the caller gives): the page puts a table of the same data
beside it for screen readers.

Colours come from the page's stylesheet through classes: `chart-axis`, `chart-tick`,
`chart-label`, `chart-unit`, `chart-line`, `chart-point`, `chart-baseline`, `chart-target`,
`chart-target-date`. Every stroke and text is drawn in `currentColor` until the stylesheet
says otherwise (a class rule overrides a presentation attribute); the baseline, target and
target-date lines differ by their dashes, not only by colour.

Layout: a plot area inside fixed margins (`MARGIN_TOP`, `MARGIN_RIGHT`, `MARGIN_BOTTOM`; the
left margin grows with the value labels, up to 40 % of the width); values and dates are
placed `INSET` pixels inside it, so that nothing sits on an axis. The value scale runs from
the lowest to the highest of baseline, target and measurements, widened to round ticks
(1, 2 or 5 times a power of ten); a ladder runs from its first to its last step, yes or no
from no to yes. The time scale runs from the earliest to the latest of the baseline date,
the target date and the measurements.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from fractions import Fraction
from math import ceil, floor

from markupsafe import Markup, escape

from consentir.causes.progress import (
    Criterion,
    Ladder,
    Measurement,
    Number,
    Value,
    YesNo,
    baseline_level,
    level,
    target_level,
)

MARGIN_TOP = 36
MARGIN_RIGHT = 16
MARGIN_BOTTOM = 36
INSET = 12
FONT_SIZE = 12
CHAR_WIDTH = 7  # a generous estimate of a character's width at FONT_SIZE
MIN_WIDTH, MIN_HEIGHT = 200, 120


@dataclass(frozen=True)
class Labels:
    """The chart's words, translated by the caller."""

    title: str  # the chart's accessible name, e.g. "Accidents a year, rue Paul-Bert"
    description: str  # what it shows, e.g. "From 120 in 2025 towards 60 by 2027; …"
    baseline: str  # "Baseline"
    target: str  # "Target"
    target_date: str  # the marker at the target date, e.g. "Target date: 31 Dec 2027"
    no: str  # a yes/no criterion's values
    yes: str


def plain_number(value: Decimal) -> str:
    """A number as written without a locale (the default `format_number`)."""
    return format(value, "f")


def svg(
    criterion: Criterion,
    series: Sequence[Measurement],
    *,
    labels: Labels,
    format_date: Callable[[date], str],
    title_id: str,
    desc_id: str,
    format_number: Callable[[Decimal], str] = plain_number,
    width: int = 640,
    height: int = 320,
) -> Markup:
    """The criterion's chart: an <svg> element (safe to put in a page as is) of `width` ×
    `height` (at least 200 × 120), drawing `series` (the effective series, see
    `progress.effective`; drawn in order of date, then id). `title_id` and `desc_id` are
    the ids its <title> and <desc> take (unique in the page, without spaces)."""
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ValueError(f"a chart is at least {MIN_WIDTH} × {MIN_HEIGHT}")
    points = sorted(series, key=lambda m: (m.on, m.id))
    values = _ValueScale.of(criterion, points, format_number, labels)
    left = _left_margin(values.ticks, width)
    plot = _Plot(left, MARGIN_TOP, width - MARGIN_RIGHT, height - MARGIN_BOTTOM)
    days = [criterion.baseline_on, criterion.target_on, *(m.on for m in points)]
    first, last = min(days).toordinal(), max(days).toordinal()

    def x(day: date) -> float:
        return plot.x(Fraction(day.toordinal() - first, last - first) if last > first else None)

    def y(value: Fraction) -> float:
        return plot.y(values.ratio(value))

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img"'
        f' aria-labelledby="{_text(title_id)} {_text(desc_id)}" font-size="{FONT_SIZE}">',
        f'<title id="{_text(title_id)}">{_text(labels.title)}</title>',
        f'<desc id="{_text(desc_id)}">{_text(labels.description)}</desc>',
    ]
    out += _axes(plot, values, y, width)
    out += _date_ticks(plot, first, last, x, format_date, width, height)

    # Baseline and target: dashed lines across the plot (with different dashes), each
    # labelled above its right end; when the two lines are too close for that, the
    # baseline's label goes to the left end.
    base_y, target_y = y(baseline_level(criterion)), y(target_level(criterion))
    close = abs(base_y - target_y) < FONT_SIZE + 4
    for name, line_y, css, dashes, at_left in (
        (labels.baseline, base_y, "chart-baseline", "6 4", close),
        (labels.target, target_y, "chart-target", "2 3", False),
    ):
        label_x, anchor = (plot.left + 4, "start") if at_left else (plot.right - 2, "end")
        room = (plot.right - plot.left) / (2 if close else 1) - 8
        out.append(
            f'<line class="{css}" x1="{_n(plot.left)}" y1="{_n(line_y)}" x2="{_n(plot.right)}"'
            f' y2="{_n(line_y)}" stroke="currentColor" stroke-dasharray="{dashes}"/>'
        )
        out.append(
            f'<text class="chart-label {css}-label" x="{_n(label_x)}"'
            f' y="{_n(max(FONT_SIZE, line_y - 4))}" text-anchor="{anchor}" fill="currentColor">'
            f"{_fit(name, room)}</text>"
        )

    # The target date: a dotted vertical line, labelled above the plot.
    target_x = x(criterion.target_on)
    anchor = "end" if target_x > width / 2 else "start"
    out.append(
        f'<line class="chart-target-date" x1="{_n(target_x)}" y1="{_n(plot.top)}"'
        f' x2="{_n(target_x)}" y2="{_n(plot.bottom)}" stroke="currentColor"'
        f' stroke-dasharray="1 3"/>'
    )
    out.append(
        f'<text class="chart-label chart-target-date-label" x="{_n(target_x)}"'
        f' y="{_n(plot.top - 8)}" text-anchor="{anchor}" fill="currentColor">'
        f"{_fit(labels.target_date, width / 2)}</text>"
    )

    # The measurements: one line through every point, and the points, each with its value.
    if points:
        coordinates = [(x(m.on), y(level(criterion, m.value))) for m in points]
        out.append(
            '<polyline class="chart-line" fill="none" stroke="currentColor" stroke-width="2"'
            f' points="{" ".join(f"{_n(px)},{_n(py)}" for px, py in coordinates)}"/>'
        )
        for m, (px, py) in zip(points, coordinates, strict=True):
            said = f"{format_date(m.on)} — {values.say(m.value)}"
            out.append(
                f'<circle class="chart-point" cx="{_n(px)}" cy="{_n(py)}" r="3.5"'
                f' fill="currentColor"><title>{_text(said)}</title></circle>'
            )
    out.append("</svg>")
    return Markup("\n".join(out))  # noqa: S704 (every text above went through _text)


@dataclass(frozen=True)
class _Plot:
    left: float
    top: float
    right: float
    bottom: float

    def x(self, ratio: Fraction | None) -> float:
        """Where a ratio of the time scale falls (None: a scale of one day, the middle)."""
        inner = self.right - self.left - 2 * INSET
        return self.left + INSET + inner * (0.5 if ratio is None else float(ratio))

    def y(self, ratio: Fraction) -> float:
        inner = self.bottom - self.top - 2 * INSET
        return self.bottom - INSET - inner * float(min(Fraction(1), max(Fraction(0), ratio)))


@dataclass(frozen=True)
class _ValueScale:
    low: Fraction
    high: Fraction
    ticks: tuple[tuple[Fraction, str], ...]  # value, label
    unit: str
    say: Callable[[Value], str]  # a measured value in words, for its point's tooltip

    def ratio(self, value: Fraction) -> Fraction:
        return (value - self.low) / (self.high - self.low)

    @classmethod
    def of(
        cls,
        criterion: Criterion,
        points: Sequence[Measurement],
        format_number: Callable[[Decimal], str],
        labels: Labels,
    ) -> _ValueScale:
        if isinstance(criterion, YesNo):
            ticks: tuple[tuple[Fraction, str], ...] = (
                (Fraction(0), labels.no),
                (Fraction(1), labels.yes),
            )
            return cls(
                Fraction(0), Fraction(1), ticks, "", lambda v: labels.yes if v else labels.no
            )
        if isinstance(criterion, Ladder):
            steps = criterion.steps

            def step_name(value: Value) -> str:
                index = int(value)
                return steps[index] if 0 <= index < len(steps) else str(index)

            ticks = tuple((Fraction(i), name) for i, name in enumerate(steps))
            return cls(Fraction(0), Fraction(max(1, len(steps) - 1)), ticks, "", step_name)
        return cls._numbers(criterion, points, format_number)

    @classmethod
    def _numbers(
        cls,
        criterion: Number,
        points: Sequence[Measurement],
        format_number: Callable[[Decimal], str],
    ) -> _ValueScale:
        found = [Fraction(criterion.baseline), Fraction(criterion.target)]
        found += [level(criterion, m.value) for m in points]
        low, high = min(found), max(found)
        if low == high:  # all equal: a band around the value
            spread = abs(low) / 10 or Fraction(1)
            low, high = low - spread, high + spread
        step = _round_step((high - low) / 4)
        first, last = floor(low / step), ceil(high / step)
        with localcontext() as context:
            context.prec = 60
            exponent = min(0, _exponent(step))
            tick_values = [
                (Decimal(k) * _decimal(step)).quantize(Decimal(1).scaleb(exponent))
                for k in range(first, last + 1)
            ]
        ticks = tuple((Fraction(v), format_number(v)) for v in tick_values)
        unit = criterion.unit

        def say(value: Value) -> str:
            number = value if isinstance(value, Decimal) else Decimal(int(value))
            return f"{format_number(number)} {unit}".strip()

        return cls(first * step, last * step, ticks, unit, say)


def _round_step(raw: Fraction) -> Fraction:
    """The smallest of 1, 2 or 5 times a power of ten that is at least `raw` (> 0)."""
    power = Fraction(10) ** (len(str(raw.numerator)) - len(str(raw.denominator)) - 1)
    while power * 10 < raw:
        power *= 10
    while power > raw:
        power /= 10
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _exponent(step: Fraction) -> int:
    """The power of ten of a round step's last digit (its Decimal exponent)."""
    exponent = 0
    while step.denominator != 1:
        step *= 10
        exponent -= 1
    while step.numerator % 10 == 0:
        step /= 10
        exponent += 1
    return exponent


def _decimal(value: Fraction) -> Decimal:
    """A Fraction whose denominator divides a power of ten, as the exact Decimal."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def _left_margin(ticks: Sequence[tuple[Fraction, str]], width: int) -> float:
    widest = max((len(label) for _, label in ticks), default=1)
    return _clamp(widest * CHAR_WIDTH + 14, 40, width * 0.4)


def _axes(
    plot: _Plot, values: _ValueScale, y: Callable[[Fraction], float], width: int
) -> list[str]:
    out = [
        f'<line class="chart-axis" x1="{_n(plot.left)}" y1="{_n(plot.top)}" x2="{_n(plot.left)}"'
        f' y2="{_n(plot.bottom)}" stroke="currentColor"/>',
        f'<line class="chart-axis" x1="{_n(plot.left)}" y1="{_n(plot.bottom)}"'
        f' x2="{_n(plot.right)}" y2="{_n(plot.bottom)}" stroke="currentColor"/>',
    ]
    if values.unit:
        out.append(
            f'<text class="chart-label chart-unit" x="4" y="{FONT_SIZE + 2}" fill="currentColor">'
            f"{_fit(values.unit, width / 2)}</text>"
        )
    # Label every tick, or every second, third… when they would crowd each other.
    spacing = (plot.bottom - plot.top - 2 * INSET) / max(1, len(values.ticks) - 1)
    every = max(1, ceil((FONT_SIZE + 2) / spacing)) if spacing > 0 else len(values.ticks)
    for index, (value, label) in enumerate(values.ticks):
        tick_y = y(value)
        out.append(
            f'<line class="chart-tick" x1="{_n(plot.left - 4)}" y1="{_n(tick_y)}"'
            f' x2="{_n(plot.left)}" y2="{_n(tick_y)}" stroke="currentColor"/>'
        )
        if index % every == 0:
            out.append(
                f'<text class="chart-label" x="{_n(plot.left - 7)}" y="{_n(tick_y)}"'
                f' text-anchor="end" dominant-baseline="middle" fill="currentColor">'
                f"{_fit(label, plot.left - 10)}</text>"
            )
    return out


def _date_ticks(
    plot: _Plot,
    first: int,
    last: int,
    x: Callable[[date], float],
    format_date: Callable[[date], str],
    width: int,
    height: int,
) -> list[str]:
    """Up to five evenly spaced days from the first to the last, fewer when their labels
    would crowd each other."""
    room = plot.right - plot.left - 2 * INSET
    for count in range(5, 1, -1):
        days = sorted({first + (i * (last - first) + (count - 1) // 2) // (count - 1)
                       for i in range(count)})  # fmt: skip
        said = [format_date(date.fromordinal(day)) for day in days]
        widest = max(len(text) for text in said) * CHAR_WIDTH
        if len(days) == 1 or (len(days) - 1) * (widest + 12) <= room:
            break
    out: list[str] = []
    for day, text in zip(days, said, strict=True):
        tick_x = x(date.fromordinal(day))
        half = min(len(text) * CHAR_WIDTH, width) / 2
        label_x = _clamp(tick_x, half, width - half)
        out.append(
            f'<line class="chart-tick" x1="{_n(tick_x)}" y1="{_n(plot.bottom)}"'
            f' x2="{_n(tick_x)}" y2="{_n(plot.bottom + 4)}" stroke="currentColor"/>'
        )
        label_y = min(plot.bottom + 18, height - 2)
        out.append(
            f'<text class="chart-label" x="{_n(label_x)}" y="{_n(label_y)}"'
            f' text-anchor="middle" fill="currentColor">{_fit(text, width)}</text>'
        )
    return out


# Characters XML 1.0 does not allow, even escaped: they are dropped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: str) -> str:
    """Text or an attribute's value, escaped for XML and HTML alike."""
    return str(escape(_NOT_XML.sub("", value)))


def _fit(value: str, room: float) -> str:
    """Text cut with an ellipsis to about `room` pixels, escaped. Cut text is whole in the
    table beside the chart."""
    most = max(1, int(room // CHAR_WIDTH))
    if len(value) > most:
        value = value[: most - 1].rstrip() + "…"
    return _text(value)


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _n(value: float) -> str:
    """A coordinate, to the hundredth of a pixel."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
