"""A cause's actor map, pure (causes/actor_map.py): each actor's latest and previous
assessments; the stance × influence map as SVG, well-formed whatever the texts, each point
where its stance and influence put it, an arrow for each actor that moved and none other,
colours left to the stylesheet, every text escaped; a private individual never named, only
shown by group, several at one spot merged into one point with their count."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from html import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentir.causes.actor_map import (
    INFLUENCES,
    STANCES,
    Actor,
    Assessment,
    Kind,
    MapLabels,
    Role,
    display_name,
    positions,
    svg,
)

SVG = "{http://www.w3.org/2000/svg}"
LABELS = MapLabels(
    title="Carte des acteurs",
    desc="Position et influence de chaque acteur",
    title_id="map-title",
    desc_id="map-desc",
    stance="Position envers la cause",
    influence="Influence",
    private_group="Riverain·e",
    against="Contre",
    for_="Pour",
)
DAY = date(2024, 3, 1)


def parse(image: str) -> ET.Element:
    return ET.fromstring(image)  # noqa: S314 -- our own output, parsed to check it


def assessed(*spots: tuple[int, int]) -> tuple[Assessment, ...]:
    return tuple(Assessment(DAY + timedelta(days=i), s, n) for i, (s, n) in enumerate(spots))


def actor(
    id: int,
    name: str,
    *spots: tuple[int, int],
    kind: Kind = Kind.ORGANISATION,
    role: Role = Role.ALLY,
    group: str = "",
) -> Actor:
    return Actor(id, name, kind, role, assessed(*spots), group)


def resident(id: int, name: str, *spots: tuple[int, int], group: str = "") -> Actor:
    """A private individual, concerned by the cause."""
    return actor(id, name, *spots, kind=Kind.PRIVATE, role=Role.CONCERNED, group=group)


def points(image: str) -> list[tuple[str, float, float, str]]:
    """Each actor point: its classes, centre and label."""
    found = []
    for g in parse(image).iter(f"{SVG}g"):
        if "actor" in g.get("class", "").split():
            circle, text = g.find(f"{SVG}circle"), g.find(f"{SVG}text")
            assert circle is not None and text is not None
            centre = (float(circle.get("cx", "nan")), float(circle.get("cy", "nan")))
            found.append((g.get("class", ""), *centre, text.text or ""))
    return found


def moves(image: str) -> list[tuple[float, float, float, float, str]]:
    """Each arrow: its line's ends and its classes; its marker must exist."""
    root = parse(image)
    markers = {m.get("id") for m in root.iter(f"{SVG}marker")}
    found = []
    for g in root.iter(f"{SVG}g"):
        if "move" in g.get("class", "").split():
            line = g.find(f"{SVG}line")
            assert line is not None
            marker = re.fullmatch(r"url\(#(.+)\)", line.get("marker-end", ""))
            assert marker is not None and marker.group(1) in markers
            ends = [float(line.get(a, "nan")) for a in ("x1", "y1", "x2", "y2")]
            found.append((ends[0], ends[1], ends[2], ends[3], g.get("class", "")))
    return found


# --- positions ---------------------------------------------------------------------------------


def test_positions_take_the_latest_and_the_previous_assessment_by_date() -> None:
    early, late, latest = (
        Assessment(date(2024, 1, 1), -2, 1),
        Assessment(date(2024, 2, 1), 0, 2),
        Assessment(date(2024, 3, 1), 1, 3),
    )
    shuffled = Actor(1, "Mairie", Kind.INSTITUTION, Role.TARGET, (latest, early, late))
    once = Actor(2, "Vélo club", Kind.COLLECTIVE, Role.ALLY, (early,))
    never = Actor(3, "Presse", Kind.ORGANISATION, Role.PARTNER, ())
    found = positions([shuffled, once, never])
    assert [(p.actor.id, p.latest, p.previous) for p in found] == [
        (1, latest, late),
        (2, early, None),
    ]
    assert found[0].moved and not found[1].moved


def test_on_the_same_date_the_assessment_given_last_is_the_latest() -> None:
    first, second = Assessment(DAY, -1, 1), Assessment(DAY, 1, 1)
    (found,) = positions([Actor(1, "Mairie", Kind.INSTITUTION, Role.TARGET, (first, second))])
    assert (found.latest, found.previous) == (second, first)


def test_an_assessment_stays_within_its_scales() -> None:
    for stance, influence in ((3, 0), (-3, 0), (0, 4), (0, -1)):
        with pytest.raises(ValueError):
            Assessment(DAY, stance, influence)


# --- the map -----------------------------------------------------------------------------------


def test_the_map_is_an_accessible_image_named_by_the_callers_title_and_description() -> None:
    root = parse(svg([actor(1, "Mairie", (0, 1))], labels=LABELS))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "map-title"
    assert root.get("aria-describedby") == "map-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and (title.get("id"), title.text) == ("map-title", LABELS.title)
    assert desc is not None and (desc.get("id"), desc.text) == ("map-desc", LABELS.desc)
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"Position envers la cause", "Influence", "Contre", "Pour"} <= texts
    assert {"−2", "−1", "0", "+1", "+2", "3"} <= texts


@pytest.mark.parametrize(("width", "height"), [(640, 480), (400, 300)])
def test_each_point_stands_where_its_stance_and_influence_put_it(width: int, height: int) -> None:
    # The plot spans the map less its margins: 56 left, 24 right, 24 top, 56 bottom.
    left, right, top, bottom = 56, width - 24, 24, height - 56
    spots = [(s, n) for s in STANCES for n in INFLUENCES]
    actors = [actor(i, f"Acteur {i}", spot) for i, spot in enumerate(spots)]
    found = points(svg(actors, labels=LABELS, width=width, height=height))
    assert len(found) == len(spots)
    for (stance, influence), (_, x, y, label) in zip(spots, found, strict=True):
        assert x == pytest.approx(left + (stance + 2) / 4 * (right - left), abs=0.01), label
        assert y == pytest.approx(bottom - influence / 3 * (bottom - top), abs=0.01), label
    corners = {(label, round(x), round(y)) for _, x, y, label in found}
    assert ("Acteur 0", left, bottom) in corners  # −2, influence 0: bottom left
    assert (f"Acteur {len(spots) - 1}", right, top) in corners  # +2, influence 3: top right


def test_an_arrow_goes_from_the_previous_assessment_to_the_latest() -> None:
    image = svg(
        [
            actor(1, "Mairie", (-2, 0), (2, 0), role=Role.TARGET),  # moved right
            actor(2, "Vélo club", (1, 2), (1, 2)),  # assessed again, same spot
            actor(3, "Presse", (0, 3)),  # assessed once
        ],
        labels=LABELS,
    )
    (arrow,) = moves(image)
    x1, y1, x2, y2, classes = arrow
    assert classes.split() == ["move", "actor-cible"]
    assert y1 == y2 == 424  # influence 0
    assert 56 < x1 < 70 and 602 < x2 < 616  # from −2 to +2, short of both points
    ring = parse(image).find(f".//{SVG}g[@class='move actor-cible']/{SVG}circle")
    assert ring is not None and (ring.get("cx"), ring.get("cy")) == ("56", "424")


spots = st.tuples(st.sampled_from(STANCES), st.sampled_from(INFLUENCES))
histories = st.lists(spots, max_size=4)


@given(st.lists(st.tuples(histories, st.sampled_from(Role), st.sampled_from(Kind)), max_size=8))
def test_arrows_only_for_actors_that_moved(
    drawn: list[tuple[list[tuple[int, int]], Role, Kind]],
) -> None:
    actors = [
        actor(i, f"Acteur {i}", *history, role=role, kind=kind)
        for i, (history, role, kind) in enumerate(drawn)
    ]
    moved = {
        (history[-2], history[-1], role.css_class)
        for history, role, _ in drawn
        if len(history) > 1 and history[-2] != history[-1]
    }
    found = moves(svg(actors, labels=LABELS))
    assert len(found) == len(moved)  # one arrow per distinct move, none for who stayed
    assert {classes.split()[1] for *_, classes in found} == {role for *_, role in moved}
    named = [a for a in actors if a.kind is not Kind.PRIVATE and a.assessments]
    assert len([p for p in points(svg(actors, labels=LABELS)) if "Acteur" in p[3]]) == len(named)


def test_colours_are_left_to_the_stylesheet_by_role() -> None:
    actors = [
        actor(i, role.value, (i % 5 - 2, 1), (0, 2), role=role) for i, role in enumerate(Role)
    ]
    image = svg(actors, labels=LABELS)
    classes = {c.split()[1] for c, *_ in points(image)}
    assert classes == {
        "actor-allie",
        "actor-opposant",
        "actor-cible",
        "actor-partenaire",
        "actor-public-concerne",
    }
    colours = set(re.findall(r'(?:fill|stroke)="([^"]*)"', image))
    assert colours <= {"currentColor", "none"}
    assert "#" not in image.replace("url(#", "") and "rgb" not in image


# --- private individuals -----------------------------------------------------------------------


def test_private_individuals_at_one_spot_make_one_point_with_their_count() -> None:
    actors = [
        resident(1, "Jeanne Martin", (2, 0)),
        resident(2, "Paul Durand", (1, 1), (2, 0)),
        resident(3, "Ali Benali", (2, 0)),
        resident(4, "Lucie Petit", (2, 0), group="Commerçant·e"),
        resident(5, "Marc Roux", (-1, 0)),
        actor(6, "Riverains en colère", (2, 0), kind=Kind.COLLECTIVE, role=Role.CONCERNED),
    ]
    found = sorted(label for *_, label in points(svg(actors, labels=LABELS)))
    assert found == sorted(["Commerçant·e", "Riverain·e", "Riverain·e (3)", "Riverains en colère"])
    counted = MapLabels(**{**vars(LABELS), "count": lambda group, n: f"{n} × {group}"})
    found = sorted(label for *_, label in points(svg(actors, labels=counted)))
    assert "3 × Riverain·e" in found and "1 × Commerçant·e" in found
    assert display_name(actors[0], "Riverain·e") == "Riverain·e"
    assert display_name(actors[3], "Riverain·e") == "Commerçant·e"
    assert display_name(actors[5], "Riverain·e") == "Riverains en colère"


@given(
    st.lists(
        st.tuples(
            st.text(min_size=1, max_size=20),
            st.lists(spots, min_size=1, max_size=3),
            st.sampled_from(Role),
            st.booleans(),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_a_private_individual_is_never_named(
    drawn: list[tuple[str, list[tuple[int, int]], Role, bool]],
) -> None:
    """Whatever its name, history and role, among named actors or not."""
    actors = []
    for i, (name, history, role, private) in enumerate(drawn):
        kind = Kind.PRIVATE if private else Kind.INSTITUTION
        named = f"Ωsecret{name}" if private else f"Acteur {i}"
        actors.append(actor(i, named, *history, kind=kind, role=role))
    image = svg(actors, labels=LABELS)
    parse(image)
    assert "Ωsecret" not in image
    for a in actors:
        if a.kind is Kind.PRIVATE:
            assert a.name not in image and escape(a.name) not in image
    labels = {label for *_, label in points(image)}
    assert all("Ωsecret" not in label for label in labels)
    if any(private for *_, private in drawn):
        assert any(label.startswith("Riverain·e") for label in labels)


# --- escaping ----------------------------------------------------------------------------------


def test_every_text_is_escaped() -> None:
    hostile = "<script>alert(\"x\")</script> & '1' < 2"
    labels = MapLabels(
        title=hostile,
        desc=hostile,
        title_id='t"><script>',
        desc_id="d'&",
        stance=hostile,
        influence=hostile,
        private_group=hostile,
    )
    actors = [
        actor(1, hostile, (0, 1), (1, 1)),
        resident(2, "Jeanne", (1, 2)),
    ]
    image = svg(actors, labels=labels)
    assert "<script" not in image
    root = parse(image)
    assert root.get("aria-labelledby") == 't"><script>'
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == hostile
    assert {label for *_, label in points(image)} == {hostile}
    assert "Jeanne" not in image


@given(st.text(), st.text(), st.text(), st.text())
def test_the_map_is_well_formed_whatever_the_texts(
    name: str, title: str, group: str, ident: str
) -> None:
    labels = MapLabels(
        title=title,
        desc=title,
        title_id=ident,
        desc_id=ident,
        stance=title,
        influence=title,
        private_group=group,
    )
    actors = [
        actor(1, name, (-1, 0), (2, 3)),
        actor(2, name, (-1, 0), (2, 3), kind=Kind.PRIVATE, group=group),
    ]
    root = parse(svg(actors, labels=labels))
    assert root.get("role") == "img"
    assert len(points(svg(actors, labels=labels))) == 2


@given(
    st.lists(
        st.tuples(st.integers(-2, 2), st.integers(0, 3), st.sampled_from(list(Role)),
                  st.text(alphabet="abcdefghij ", min_size=1, max_size=24)),
        min_size=1, max_size=12,
    )
)  # fmt: skip
def test_labels_do_not_cover_each_other_where_there_is_room(
    spots: list[tuple[int, int, Role, str]],
) -> None:
    """Each label is placed beside its point, or moved off the labels placed before it (the
    boxes estimated from their length), never outside the map; points at one spot stand
    side by side."""
    from consentir.causes.actor_map import CHAR_WIDTH

    actors = [actor(i + 1, f"{name}{i}", (s, n), role=role)
              for i, (s, n, role, name) in enumerate(spots)]  # fmt: skip
    root = parse(svg(actors, labels=LABELS))
    boxes = []
    for group in root.iter(f"{SVG}g"):
        text = group.find(f"{SVG}text")
        if text is None or "label" not in (text.get("class") or ""):
            continue
        x, y, wide = float(text.get("x", 0)), float(text.get("y", 0)), len(text.text or "")
        left = x - wide * CHAR_WIDTH if text.get("text-anchor") == "end" else x
        boxes.append((left, y - 11, left + wide * CHAR_WIDTH, y + 3))
    circles = [(float(c.get("cx", 0)), float(c.get("cy", 0))) for c in root.iter(f"{SVG}circle")
               if c.get("fill") == "currentColor"]  # fmt: skip
    assert len(set(circles)) == len(circles), "two points drawn on top of each other"
    if len(boxes) <= 6:  # room for every label: none covers another
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
