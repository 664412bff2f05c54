"""Scenario versions compared side by side, pure (causes/compare.py): 2 to 4 columns kept,
rows in a fixed order (summary, criteria served, each action's what/who/when/cost, then
assumptions and risks), a cell flagged exactly when its text is not the first column's, a
version compared with itself flagging nothing, and the word diff of the proposals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consentir.causes.compare import (
    ACTION_FIELDS,
    MAX_COLUMNS,
    MIN_COLUMNS,
    Action,
    Field,
    ScenarioVersion,
    compare,
    word_diff,
)
from consentir.consent.diff import rendered_diff

CRITERIA = ("Cyclistes par jour", "Accidents", "La mairie nous reçoit")
texts = st.text(max_size=12) | st.sampled_from(["", "Mairie", "Juin 2025", "500 €"])
actions = st.builds(
    Action,
    what=texts,
    who=texts,
    when=texts,
    cost=texts,
    criteria=st.lists(st.sampled_from(CRITERIA), max_size=3).map(tuple),
)
versions = st.builds(
    ScenarioVersion,
    summary=texts,
    assumptions=texts,
    risks=texts,
    actions=st.lists(actions, max_size=3).map(tuple),
)
columns = st.lists(versions, min_size=MIN_COLUMNS, max_size=MAX_COLUMNS)

A = ScenarioVersion(
    summary="Une piste cyclable sûre rue Paul-Bert",
    assumptions="La mairie veut des résultats avant les élections.",
    risks="Les commerçants s'y opposent.",
    actions=(
        Action(
            "Comptage des vélos", "Groupe mobilité", "Mars 2025", "0 €", ("Cyclistes par jour",)
        ),
        Action("Pétition", "Léa", "Avril 2025", "50 €", ("La mairie nous reçoit",)),
    ),
)
B = ScenarioVersion(
    summary="Une piste cyclable sûre rue Paul-Bert",
    assumptions="La mairie attend une mobilisation visible.",
    risks="Les commerçants s'y opposent.",
    actions=(
        Action("Comptage des vélos", "Groupe mobilité", "Mai 2025", "0 €", ("Cyclistes par jour",)),
        Action("Vélorution", "Collectif", "Juin 2025", "200 €", ("Accidents",)),
        Action("Rencontre des commerçants", "Léa", "Juin 2025", "0 €"),
    ),
)


def test_rows_come_in_order_with_the_cells_that_differ_flagged() -> None:
    rows = compare([A, B])
    assert [(r.field, r.action) for r in rows] == [
        (Field.SUMMARY, None),
        (Field.CRITERIA, None),
        *[(f, 0) for f in ACTION_FIELDS],
        *[(f, 1) for f in ACTION_FIELDS],
        *[(f, 2) for f in ACTION_FIELDS],
        (Field.ASSUMPTIONS, None),
        (Field.RISKS, None),
    ]
    by_key = {(r.field, r.action): r for r in rows}
    assert by_key[Field.SUMMARY, None].all_equal
    assert by_key[Field.RISKS, None].all_equal
    assert not by_key[Field.ASSUMPTIONS, None].all_equal
    when = by_key[Field.WHEN, 0]
    assert [(c.text, c.differs) for c in when.cells] == [("Mars 2025", False), ("Mai 2025", True)]
    assert by_key[Field.WHAT, 0].all_equal and by_key[Field.COST, 0].all_equal
    criteria = by_key[Field.CRITERIA, None]
    assert [c.text for c in criteria.cells] == [
        "Cyclistes par jour, La mairie nous reçoit",
        "Accidents, Cyclistes par jour",
    ]
    missing = by_key[Field.WHAT, 2]  # A has two actions, B three
    assert [(c.text, c.differs) for c in missing.cells] == [
        (None, False),
        ("Rencontre des commerçants", True),
    ]


def test_the_same_criteria_read_the_same_whichever_actions_serve_them() -> None:
    one = ScenarioVersion(
        "", "", "", (Action("a", "", "", "", ("Accidents", "Cyclistes par jour")),)
    )
    other = ScenarioVersion(
        "",
        "",
        "",
        (
            Action("a", "", "", "", ("Cyclistes par jour",)),
            Action("b", "", "", "", ("Accidents", "Cyclistes par jour")),
        ),
    )
    criteria = compare([one, other])[1]
    assert criteria.field is Field.CRITERIA and criteria.all_equal


def test_two_to_four_versions_are_compared() -> None:
    for count in (0, 1, 5):
        with pytest.raises(ValueError):
            compare([A] * count)
    assert all(len(r.cells) == 4 for r in compare([A, B, A, B]))


@given(versions)
def test_a_version_compared_with_itself_flags_nothing(version: ScenarioVersion) -> None:
    rows = compare([version, version])
    assert all(r.all_equal for r in rows)
    assert all(not c.differs for r in rows for c in r.cells)


@given(columns)
def test_the_cells_that_differ_are_exactly_those_unlike_the_first_column(
    drawn: list[ScenarioVersion],
) -> None:
    rows = compare(drawn)
    assert len(rows) == 4 + 4 * max(len(v.actions) for v in drawn)
    for row in rows:
        assert len(row.cells) == len(drawn)  # the columns are kept
        first = row.cells[0]
        assert not first.differs
        for cell in row.cells[1:]:
            assert cell.differs == (cell.text != first.text)
        assert row.all_equal == all(c.text == first.text for c in row.cells)
    for column, version in enumerate(drawn):  # each cell holds its own version's text
        summary, assumptions, risks = rows[0], rows[-2], rows[-1]
        assert summary.cells[column].text == version.summary
        assert assumptions.cells[column].text == version.assumptions
        assert risks.cells[column].text == version.risks
        actions = [r for r in rows if r.field is Field.WHAT]
        whats = [r.cells[column].text for r in actions]
        assert whats == [a.what for a in version.actions] + [None] * (
            len(actions) - len(version.actions)
        )


def test_the_word_diff_is_the_proposals_diff() -> None:
    old, new = A.assumptions, B.assumptions
    diff = word_diff(old, new)
    assert diff == rendered_diff(old, new)
    assert "<del>veut des résultats avant les élections.</del>" in diff
    assert "<ins>attend une mobilisation visible.</ins>" in diff
    assert diff.startswith("<p>La mairie ")  # what stays is not marked
    assert "<script" not in word_diff("rien", "<script>alert(1)</script> *rien*")
