"""The impact criterion's chart (causes/chart.py): well-formed SVG whose lines and points sit
where the data says, every text escaped, every coordinate within the picture."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consentir.causes.chart import INSET, MARGIN_BOTTOM, MARGIN_RIGHT, MARGIN_TOP, Labels, svg
from consentir.causes.progress import (
    Criterion,
    Direction,
    Ladder,
    Measurement,
    Number,
    Value,
    YesNo,
    effective,
)

NS = "{http://www.w3.org/2000/svg}"
D0 = date(2026, 1, 1)
DAY = timedelta(days=1)
LABELS = Labels(
    title="Vélos par jour, rue Paul-Bert",
    description="Des comptages de janvier à décembre 2026.",
    baseline="Situation de départ",
    target="Cible",
    target_date="Échéance",
    no="non",
    yes="oui",
)
# For 640 × 320: where the plot's lowest and highest values fall, and its latest day.
BOTTOM, TOP, RIGHT = 320 - MARGIN_BOTTOM - INSET, MARGIN_TOP + INSET, 640 - MARGIN_RIGHT - INSET


def draw(
    criterion: Criterion,
    series: list[Measurement],
    labels: Labels = LABELS,
    *,
    width: int = 640,
    height: int = 320,
) -> str:
    return svg(
        criterion,
        series,
        labels=labels,
        format_date=date.isoformat,
        title_id="chart-title",
        desc_id="chart-desc",
        width=width,
        height=height,
    )


def parsed(text: str) -> ET.Element:
    root = ET.fromstring(text)  # noqa: S314 (our own output)
    assert root.tag == f"{NS}svg"
    return root


def one(root: ET.Element, css: str) -> ET.Element:
    found = [e for e in root.iter() if css in e.get("class", "").split()]
    assert len(found) == 1, css
    return found[0]


def line_y(root: ET.Element, css: str) -> float:
    line = one(root, css)
    assert line.tag == f"{NS}line" and line.get("stroke-dasharray")  # dashed
    assert line.get("y1") == line.get("y2")  # horizontal
    return float(line.get("y1", "nan"))


def polyline_points(root: ET.Element) -> list[tuple[float, float]]:
    points = one(root, "chart-line").get("points", "")
    return [(float(x), float(y)) for x, y in (p.split(",") for p in points.split())]


def tick_labels(root: ET.Element) -> dict[str, float]:
    """The value axis's labels and their heights."""
    return {
        e.text or "": float(e.get("y", "nan"))
        for e in root.iter(f"{NS}text")
        if e.get("dominant-baseline") == "middle"
    }


def measured(*values: Value, start: date = D0 + 59 * DAY) -> list[Measurement]:
    return [Measurement(i + 1, start + 92 * i * DAY, v) for i, v in enumerate(values)]


BIKES = Number("vélos/jour", Direction.UP, Decimal(0), D0, Decimal(100), date(2026, 12, 31))


def test_simple_data_sits_where_it_should() -> None:
    root = parsed(draw(BIKES, measured(Decimal(25), Decimal(50))))
    assert root.get("viewBox") == "0 0 640 320"
    assert line_y(root, "chart-baseline") == BOTTOM == 272
    assert line_y(root, "chart-target") == TOP == 48
    assert tick_labels(root) == {"0": BOTTOM, "50": 160, "100": TOP}
    points = polyline_points(root)
    assert [y for _, y in points] == [216, 160]  # a quarter and half of the way up
    target_date = one(root, "chart-target-date")
    assert target_date.get("x1") == target_date.get("x2") == str(RIGHT)  # the latest day
    assert float(target_date.get("y1", "")) < TOP and float(target_date.get("y2", "")) > BOTTOM
    # Time runs left to right, in proportion: 1 March and 1 June on a year from 1 January.
    (x1, _), (x2, _) = points
    assert x1 < x2 < RIGHT
    assert (RIGHT - x1) / (RIGHT - x2) == pytest.approx(305 / 213, abs=0.01)
    circles = list(root.iter(f"{NS}circle"))
    assert [(float(c.get("cx", "")), float(c.get("cy", ""))) for c in circles] == points
    assert [c.findtext(f"{NS}title") for c in circles] == [
        "2026-03-01 — 25 vélos/jour",
        "2026-06-01 — 50 vélos/jour",
    ]


def test_the_image_is_named_by_its_title_and_description() -> None:
    root = parsed(draw(BIKES, []))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-title chart-desc"
    assert root.find(f"{NS}title[@id='chart-title']").text == LABELS.title  # type: ignore[union-attr]
    assert root.find(f"{NS}desc[@id='chart-desc']").text == LABELS.description  # type: ignore[union-attr]
    texts = [e.text for e in root.iter(f"{NS}text")]
    assert {"Situation de départ", "Cible", "Échéance", "vélos/jour"} <= set(texts)
    # Colours are the stylesheet's: no colour is written, every stroke is currentColor.
    assert not re.search(r"#[0-9a-fA-F]{3}|rgb\(", str(draw(BIKES, measured(Decimal(1)))))
    assert {e.get("stroke") for e in root.iter(f"{NS}line")} == {"currentColor"}


def test_a_fall_towards_a_lower_target_puts_the_baseline_above() -> None:
    accidents = Number("accidents", Direction.DOWN, Decimal(120), D0, Decimal(60), D0 + 365 * DAY)
    root = parsed(draw(accidents, measured(Decimal(90))))
    assert line_y(root, "chart-baseline") == TOP
    assert line_y(root, "chart-target") == BOTTOM
    assert polyline_points(root)[0][1] == (TOP + BOTTOM) / 2


def test_negative_numbers() -> None:
    cold = Number("°C", Direction.UP, Decimal(-10), D0, Decimal(-2), D0 + 90 * DAY)
    root = parsed(draw(cold, measured(Decimal(-6))))
    assert line_y(root, "chart-baseline") == BOTTOM
    assert line_y(root, "chart-target") == TOP
    assert tick_labels(root) == {"-10": BOTTOM, "-8": 216, "-6": 160, "-4": 104, "-2": TOP}
    assert polyline_points(root)[0][1] == 160


def test_nothing_measured_shows_the_baseline_and_the_target() -> None:
    root = parsed(draw(BIKES, []))
    assert line_y(root, "chart-baseline") == BOTTOM
    assert line_y(root, "chart-target") == TOP
    assert not [e for e in root.iter() if e.tag in (f"{NS}polyline", f"{NS}circle")]


def test_a_single_measurement_is_one_point() -> None:
    root = parsed(draw(BIKES, measured(Decimal(80))))
    [(x, y)] = polyline_points(root)
    assert (x, y) == (142.77, 92.8)
    assert len(list(root.iter(f"{NS}circle"))) == 1


def test_all_values_equal() -> None:
    keep = Number("arbres", Direction.UP, Decimal(40), D0, Decimal(40), D0 + 200 * DAY)
    root = parsed(draw(keep, measured(Decimal(40), Decimal(40), Decimal(40))))
    middle = (TOP + BOTTOM) / 2
    assert line_y(root, "chart-baseline") == line_y(root, "chart-target") == middle
    assert {y for _, y in polyline_points(root)} == {middle}
    labels = {e.get("class"): e for e in root.iter(f"{NS}text")}
    # The two labels of one line are not written over each other: one each end.
    base, target = (
        labels["chart-label chart-baseline-label"],
        labels["chart-label chart-target-label"],
    )
    assert (base.get("text-anchor"), target.get("text-anchor")) == ("start", "end")


def test_a_target_date_before_the_first_measurement() -> None:
    early = Number("km", Direction.UP, Decimal(0), D0, Decimal(10), D0 + 10 * DAY)
    root = parsed(draw(early, measured(Decimal(4), Decimal(12), start=D0 + 100 * DAY)))
    marker = float(one(root, "chart-target-date").get("x1", ""))
    points = polyline_points(root)
    assert marker < points[0][0] < points[1][0] == RIGHT
    assert points[1][1] == TOP or points[1][1] < line_y(root, "chart-target")  # 12 is past 10


def test_a_ladder_is_labelled_by_its_steps() -> None:
    steps = ("La mairie nous ignore", "La mairie nous reçoit", "Le projet est étudié",
             "Les travaux sont votés", "La piste est ouverte")  # fmt: skip
    ladder = Ladder(steps, 0, D0, 4, D0 + 300 * DAY)
    root = parsed(draw(ladder, measured(1, 2), width=800))
    assert tick_labels(root) == {steps[0]: BOTTOM, steps[1]: 216, steps[2]: 160, steps[3]: 104,
                                 steps[4]: TOP}  # fmt: skip
    assert [y for _, y in polyline_points(root)] == [216, 160]
    assert [c.findtext(f"{NS}title") for c in root.iter(f"{NS}circle")] == [
        "2026-03-01 — La mairie nous reçoit",
        "2026-06-01 — Le projet est étudié",
    ]


def test_yes_or_no_is_labelled_no_and_yes() -> None:
    root = parsed(draw(YesNo(D0, D0 + 100 * DAY), measured(False, True)))
    assert tick_labels(root) == {"non": BOTTOM, "oui": TOP}
    assert [y for _, y in polyline_points(root)] == [BOTTOM, TOP]


def test_numbers_are_written_by_the_callers_format() -> None:
    small = Number("mg", Direction.UP, Decimal("0.2"), D0, Decimal("1.1"), D0 + 9 * DAY)
    text = svg(small, [], labels=LABELS, format_date=date.isoformat, title_id="t", desc_id="d",
               format_number=lambda n: f"{n:f}".replace(".", ","))  # fmt: skip
    assert set(tick_labels(parsed(text))) == {"0,0", "0,5", "1,0", "1,5"}


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script> & \x01'
    criterion = Number(hostile, Direction.UP, Decimal(0), D0, Decimal(1), D0 + DAY)
    labels = Labels(hostile, hostile, hostile, hostile, hostile, hostile, hostile)
    text = svg(criterion, measured(Decimal(1)), labels=labels, format_date=lambda _: hostile,
               title_id='t" onload="x', desc_id="d")  # fmt: skip
    assert "<script" not in text and "onload=" not in text.replace("onload=&#34;", "")
    root = parsed(text)
    assert root.get("aria-labelledby") == 't" onload="x d'
    clean = hostile.replace("\x01", "")
    assert one(root, "chart-unit").text == clean  # escaped, then read back whole
    assert root.findtext(f"{NS}title") == clean
    ladder = Ladder(("<b>", "a & b"), 0, D0, 1, D0 + DAY)
    root = parsed(draw(ladder, measured(1)))
    assert set(tick_labels(root)) == {"<b>", "a & b"}


def test_a_chart_too_small_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="at least"):
        draw(BIKES, [], width=100)


# --- Any series -----------------------------------------------------------------------------

days = st.dates(date(2000, 1, 1), date(2040, 12, 31))
numbers = st.decimals(-(10**11), 10**11, places=6, allow_nan=False, allow_infinity=False)
words = st.text(max_size=40)


@st.composite
def charts(draw_: st.DrawFn) -> tuple[Criterion, list[Measurement], Labels, int, int]:
    baseline_on = draw_(days)
    target_on = baseline_on + timedelta(days=draw_(st.integers(1, 3000)))
    kind = draw_(st.sampled_from(("number", "ladder", "yesno")))
    values: st.SearchStrategy[Value]
    criterion: Criterion
    if kind == "number":
        baseline, target = draw_(numbers), draw_(numbers)
        direction = Direction.UP if target >= baseline else Direction.DOWN
        criterion = Number(draw_(words), direction, baseline, baseline_on, target, target_on)
        values = numbers | st.sampled_from((baseline, target))
    elif kind == "ladder":
        steps = tuple(draw_(st.lists(words, min_size=2, max_size=12)))
        first = draw_(st.integers(0, len(steps) - 1))
        last = draw_(st.integers(first, len(steps) - 1))
        criterion = Ladder(steps, first, baseline_on, last, target_on)
        values = st.integers(0, len(steps) - 1)
    else:
        criterion = YesNo(baseline_on, target_on)
        values = st.booleans()
    count = draw_(st.integers(0, 30))
    series = effective(
        Measurement(i + 1, draw_(days), draw_(values)) for i in range(count)
    )  # fmt: skip
    labels = Labels(*(draw_(words) for _ in range(7)))
    return criterion, series, labels, draw_(st.integers(200, 1600)), draw_(st.integers(120, 900))


HORIZONTAL = ("x", "x1", "x2", "cx")
VERTICAL = ("y", "y1", "y2", "cy")


@settings(max_examples=200)
@given(charts())
def test_any_series_gives_well_formed_svg_within_its_picture(
    case: tuple[Criterion, list[Measurement], Labels, int, int],
) -> None:
    criterion, series, labels, width, height = case
    root = parsed(draw(criterion, series, labels, width=width, height=height))
    assert root.get("viewBox") == f"0 0 {width} {height}"
    for element in root.iter():
        for name in HORIZONTAL:
            if name in element.attrib:
                assert 0 <= float(element.attrib[name]) <= width, (element.tag, name)
        for name in VERTICAL:
            if name in element.attrib:
                assert 0 <= float(element.attrib[name]) <= height, (element.tag, name)
    if series:
        points = polyline_points(root)
        assert len(points) == len(series)
        assert all(0 <= x <= width and 0 <= y <= height for x, y in points)
        assert [x for x, _ in points] == sorted(x for x, _ in points)  # in order of time
        assert len(list(root.iter(f"{NS}circle"))) == len(series)
    else:
        assert root.find(f"{NS}polyline") is None
    line_y(root, "chart-baseline")
    line_y(root, "chart-target")
