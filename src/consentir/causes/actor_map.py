"""A cause's actor map, pure: who the actors are, where each stands towards the cause over
time, and the stance × influence map drawn as SVG on the server (issue 12, field observation).
No I/O and no i18n: the store loads the actors, the caller gives every label shown, and the
page shows the same data as a table beside the map.

An actor is assessed over time (stance −2…+2 towards the cause, influence 0–3); the map puts
each actor at its latest assessment, with an arrow from the previous one when it moved.
A private individual is never named: it shows under a group label ("Riverain·e"), and the
private individuals standing at the same spot, in the same group and role, make one point
with their count.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from html import escape

from markupsafe import Markup

STANCES = range(-2, 3)  # −2 strongly against … +2 strongly for
INFLUENCES = range(4)  # 0 none … 3 decisive


class Kind(StrEnum):
    PUBLIC_PERSON = "public_person"  # a person with a public role: named
    ORGANISATION = "organisation"
    INSTITUTION = "institution"
    COLLECTIVE = "collective"
    PRIVATE = "private"  # a private individual: never named, shown by group


class Role(StrEnum):
    ALLY = "allie"
    OPPONENT = "opposant"
    TARGET = "cible"
    PARTNER = "partenaire"
    CONCERNED = "public_concerne"

    @property
    def css_class(self) -> str:
        """`actor-allie`, `actor-opposant`, `actor-cible`, `actor-partenaire`,
        `actor-public-concerne`: the stylesheet gives each role its colour."""
        return "actor-" + self.value.replace("_", "-")


@dataclass(frozen=True)
class Assessment:
    on: date
    stance: int  # −2…+2
    influence: int  # 0…3

    def __post_init__(self) -> None:
        if self.stance not in STANCES:
            raise ValueError(f"stance {self.stance} outside −2…+2")
        if self.influence not in INFLUENCES:
            raise ValueError(f"influence {self.influence} outside 0…3")

    @property
    def spot(self) -> tuple[int, int]:
        return (self.stance, self.influence)


@dataclass(frozen=True)
class Actor:
    id: int
    name: str  # never shown for a private individual
    kind: Kind
    role: Role
    assessments: tuple[Assessment, ...] = ()
    group: str = ""  # a private individual's group label ("Riverain·e"); else unused

    @property
    def private(self) -> bool:
        return self.kind is Kind.PRIVATE


@dataclass(frozen=True)
class Position:
    """An actor's latest assessment, and the one before it (None: assessed once)."""

    actor: Actor
    latest: Assessment
    previous: Assessment | None

    @property
    def moved(self) -> bool:
        return self.previous is not None and self.previous.spot != self.latest.spot


def positions(actors: Iterable[Actor]) -> tuple[Position, ...]:
    """Each assessed actor's latest and previous assessments, by date (on the same date, the
    one given last is the later); actors never assessed are left out. In the actors' order."""
    found = []
    for actor in actors:
        history = sorted(actor.assessments, key=lambda a: a.on)  # stable: ties keep order
        if history:
            previous = history[-2] if len(history) > 1 else None
            found.append(Position(actor, history[-1], previous))
    return tuple(found)


def display_name(actor: Actor, private_group: str) -> str:
    """What may be shown of an actor, on the map or in its table: its name, or for a private
    individual its group label (the caller's default when it has none)."""
    if actor.private:
        return actor.group.strip() or private_group
    return actor.name


def _count(group: str, n: int) -> str:
    return group if n == 1 else f"{group} ({n})"


@dataclass(frozen=True)
class MapLabels:
    """Everything the map says, given by the caller (translated there)."""

    title: str  # <title>, the map's accessible name
    desc: str  # <desc>, what it shows (the table beside it has the data)
    title_id: str  # ids unique in the page; the arrow markers' ids derive from title_id
    desc_id: str
    stance: str  # the horizontal axis: stance towards the cause
    influence: str  # the vertical axis
    private_group: str  # a private individual's group label when it has none ("Riverain·e")
    against: str = ""  # optional words at the ends of the stance axis
    for_: str = ""
    count: Callable[[str, int], str] = _count  # the label of n private individuals merged


# Geometry: the plot inside margins; stance −2 at the left, +2 at the right; influence 0 at
# the bottom, 3 at the top.
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 24, 24, 56
RADIUS = 6
LINE_HEIGHT = 14  # a label moved off another moves by whole lines


def point(stance: float, influence: float, width: int, height: int) -> tuple[float, float]:
    """Where a stance and an influence fall on a map of this size."""
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    x = MARGIN_LEFT + (stance - STANCES[0]) / (len(STANCES) - 1) * plot_w
    y = MARGIN_TOP + (INFLUENCES[-1] - influence) / (len(INFLUENCES) - 1) * plot_h
    return (round(x, 2), round(y, 2))


# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    """Text or an attribute's value, escaped for XML."""
    return escape(_NOT_XML.sub("", value), quote=True)


def _number(n: float) -> str:
    return f"{n:g}"


def _signed(n: int) -> str:
    return "0" if n == 0 else (f"+{n}" if n > 0 else f"−{-n}")  # a true minus sign


@dataclass(frozen=True)
class _Point:
    spot: tuple[int, int]
    role: Role
    label: str


def _points(found: tuple[Position, ...], labels: MapLabels) -> list[_Point]:
    """A point per named actor; private individuals merged by spot, group and role, the
    merged point labelled with their count, where the first of them stands in the order."""
    counts: dict[tuple[tuple[int, int], Role, str], int] = {}
    for p in found:
        if p.actor.private:
            key = (p.latest.spot, p.actor.role, display_name(p.actor, labels.private_group))
            counts[key] = counts.get(key, 0) + 1
    points: list[_Point] = []
    for p in found:
        if not p.actor.private:
            points.append(_Point(p.latest.spot, p.actor.role, p.actor.name))
            continue
        key = (p.latest.spot, p.actor.role, display_name(p.actor, labels.private_group))
        if key in counts:
            points.append(_Point(key[0], key[1], labels.count(key[2], counts.pop(key))))
    return points


def svg(
    actors: Iterable[Actor], *, labels: MapLabels, width: int = 640, height: int = 480
) -> Markup:
    """The stance × influence map as an SVG element, safe to put in a page as it is: a point
    per actor at its latest assessment with its label, an arrow from its previous assessment
    when it moved; classes per role (`actor-allie` …), colours left to the stylesheet
    (`currentColor`). Private individuals are shown only by group label."""
    found = positions(actors)
    arrow_id = f"{labels.title_id}-arrow"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="actor-map" role="img"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' aria-labelledby="{_text(labels.title_id)}" aria-describedby="{_text(labels.desc_id)}">',
        f'<title id="{_text(labels.title_id)}">{_text(labels.title)}</title>',
        f'<desc id="{_text(labels.desc_id)}">{_text(labels.desc)}</desc>',
    ]
    moves = sorted(
        {(p.previous.spot, p.latest.spot, p.actor.role) for p in found if p.moved and p.previous},
        key=lambda m: (m[0], m[1], m[2].value),
    )
    roles = sorted({role for _, _, role in moves}, key=lambda r: r.value)
    if roles:
        out.append("<defs>")
        for role in roles:
            out.append(
                f'<marker id="{_text(arrow_id)}-{role.value}" class="{role.css_class}"'
                ' viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"'
                ' orient="auto-start-reverse">'
                '<path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker>'
            )
        out.append("</defs>")
    out.extend(_axes(labels, width, height))
    for before, after, role in moves:
        out.extend(_arrow(before, after, role, f"{arrow_id}-{role.value}", width, height))
    stacked: dict[tuple[int, int], int] = {}
    drawn = []
    for pt in _points(found, labels):
        x, y = point(*pt.spot, width, height)
        rank = stacked.get(pt.spot, 0)
        stacked[pt.spot] = rank + 1
        # Points at one spot stand side by side (each visible), alternately right and left.
        drawn.append((pt, x + (rank + 1) // 2 * (2 * RADIUS + 2) * (1 if rank % 2 else -1), y))
    # No label covers a point, an arrow (its line, sampled, and the ring where it starts),
    # nor another label.
    placed: list[_Box] = [(x - RADIUS, y - RADIUS, x + RADIUS, y + RADIUS) for _, x, y in drawn]
    for before, after, _role in moves:
        (x0, y0), (x1, y1) = point(*before, width, height), point(*after, width, height)
        placed.append((x0 - RADIUS, y0 - RADIUS, x0 + RADIUS, y0 + RADIUS))
        samples = max(1, int(max(abs(x1 - x0), abs(y1 - y0)) // 6))
        for i in range(samples + 1):
            sx, sy = x0 + (x1 - x0) * i / samples, y0 + (y1 - y0) * i / samples
            placed.append((sx - 1, sy - 1, sx + 1, sy + 1))
    for pt, x, y in drawn:
        lx, ly, anchor = _place(pt.label, x, y, pt.spot[0] > 0, placed, width, height)
        out.append(
            f'<g class="actor {pt.role.css_class}">'
            f'<circle cx="{_number(x)}" cy="{_number(y)}" r="{RADIUS}" fill="currentColor"/>'
            f'<text class="label" x="{_number(lx)}" y="{_number(ly)}"'
            f' text-anchor="{anchor}">{_text(pt.label)}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 -- every text and attribute above is escaped


# A label's box is estimated from its length: the map's labels are small and short.
CHAR_WIDTH = 6.6
_Box = tuple[float, float, float, float]  # left, top, right, bottom


def _place(
    label: str, x: float, y: float, right: bool, placed: list[_Box], width: int, height: int
) -> tuple[float, float, str]:
    """Where a point's label goes (x, baseline, anchor): beside it, on the side towards the
    centre by default (labels right of centre go to its left), else on the other side, else
    a line lower (or higher) and so on, wherever it overlaps no label placed before and stays
    inside the map. The box taken is added to `placed`."""
    wide = len(label) * CHAR_WIDTH
    sides = (True, False) if right else (False, True)
    tries = [(left, shift) for step in range(0, 8)
             for shift in ((step, -step) if step else (0,)) for left in sides]  # fmt: skip
    chosen = None
    for left, shift in tries:
        baseline = y + 4 + shift * LINE_HEIGHT
        x0 = x - RADIUS - 4 - wide if left else x + RADIUS + 4
        box = (x0, baseline - 11, x0 + wide, baseline + 3)
        inside = box[0] >= 0 and box[2] <= width and box[1] >= 0 and box[3] <= height
        if inside and not any(_overlap(box, other) for other in placed):
            chosen = (left, baseline, box)
            break
    if chosen is None:  # crowded: beside the point, on its preferred side
        left, baseline = sides[0], y + 4
        x0 = x - RADIUS - 4 - wide if left else x + RADIUS + 4
        chosen = (left, baseline, (x0, baseline - 11, x0 + wide, baseline + 3))
    left, baseline, box = chosen
    placed.append(box)
    return (box[2] if left else box[0]), baseline, ("end" if left else "start")


def _overlap(a: _Box, b: _Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _axes(labels: MapLabels, width: int, height: int) -> list[str]:
    left, bottom = point(STANCES[0], INFLUENCES[0], width, height)
    right, top = point(STANCES[-1], INFLUENCES[-1], width, height)
    out = ['<g class="axes" stroke="currentColor" fill="none">']
    for stance in STANCES:
        x, _ = point(stance, 0, width, height)
        grid = 'class="neutral"' if stance == 0 else 'class="grid" stroke-opacity="0.25"'
        out.append(
            f'<line {grid} x1="{_number(x)}" y1="{_number(top)}"'
            f' x2="{_number(x)}" y2="{_number(bottom)}"/>'
        )
    for influence in INFLUENCES:
        _, y = point(0, influence, width, height)
        out.append(
            f'<line class="grid" stroke-opacity="0.25" x1="{_number(left)}" y1="{_number(y)}"'
            f' x2="{_number(right)}" y2="{_number(y)}"/>'
        )
    out.append("</g>")
    out.append('<g class="ticks" fill="currentColor">')
    for stance in STANCES:
        x, _ = point(stance, 0, width, height)
        out.append(
            f'<text x="{_number(x)}" y="{_number(bottom + 16)}" text-anchor="middle">'
            f"{_signed(stance)}</text>"
        )
    for influence in INFLUENCES:
        _, y = point(0, influence, width, height)
        out.append(
            f'<text x="{_number(left - 8)}" y="{_number(y + 4)}" text-anchor="end">'
            f"{influence}</text>"
        )
    middle_x = (left + right) / 2
    out.append(
        f'<text class="axis-title" x="{_number(middle_x)}" y="{_number(bottom + 40)}"'
        f' text-anchor="middle">{_text(labels.stance)}</text>'
    )
    if labels.against:
        out.append(
            f'<text class="axis-end" x="{_number(left)}" y="{_number(bottom + 40)}"'
            f' text-anchor="start">{_text(labels.against)}</text>'
        )
    if labels.for_:
        out.append(
            f'<text class="axis-end" x="{_number(right)}" y="{_number(bottom + 40)}"'
            f' text-anchor="end">{_text(labels.for_)}</text>'
        )
    middle_y = (top + bottom) / 2
    out.append(
        f'<text class="axis-title" x="16" y="{_number(middle_y)}" text-anchor="middle"'
        f' transform="rotate(-90 16 {_number(middle_y)})">{_text(labels.influence)}</text>'
    )
    out.append("</g>")
    return out


def _arrow(
    before: tuple[int, int],
    after: tuple[int, int],
    role: Role,
    marker: str,
    width: int,
    height: int,
) -> list[str]:
    """Where the actor was (a ring) and a line to where it is, its head short of the point."""
    x1, y1 = point(*before, width, height)
    x2, y2 = point(*after, width, height)
    gap = RADIUS + 2
    length = math.hypot(x2 - x1, y2 - y1)
    dx, dy = (0.0, 0.0)
    if length > 2 * gap:
        dx, dy = (x2 - x1) * gap / length, (y2 - y1) * gap / length
    return [
        f'<g class="move {role.css_class}" stroke="currentColor" fill="none">'
        f'<circle class="was" stroke-dasharray="2 2" cx="{_number(x1)}" cy="{_number(y1)}"'
        f' r="{RADIUS}"/>'
        f'<line x1="{_number(round(x1 + dx, 2))}" y1="{_number(round(y1 + dy, 2))}"'
        f' x2="{_number(round(x2 - dx, 2))}" y2="{_number(round(y2 - dy, 2))}"'
        f' marker-end="url(#{_text(marker)})"/></g>'
    ]
