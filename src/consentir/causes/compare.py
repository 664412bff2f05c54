"""Scenarios of a cause's action plan compared side by side, pure (issue 12, the plan by
consent): 2 to 4 scenario versions in columns, row by row, each cell flagged when it differs
from the first column's, and the word diff between any two texts. No I/O and no i18n: the
caller gives the texts as shown (dates and amounts formatted, criteria named) and names the
rows itself from their field; the page shows the table, or one column at a time on a phone
with the differences marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from markupsafe import Markup

from consentir.consent.diff import rendered_diff

MIN_COLUMNS, MAX_COLUMNS = 2, 4
CRITERIA_SEPARATOR = ", "


@dataclass(frozen=True)
class Action:
    what: str
    who: str  # a member or a role, as shown
    when: str  # as shown (a date, a period)
    cost: str  # means and cost, as shown
    criteria: tuple[str, ...] = ()  # the impact criteria it serves, by name


@dataclass(frozen=True)
class ScenarioVersion:
    summary: str
    assumptions: str
    risks: str
    actions: tuple[Action, ...] = ()

    @property
    def criteria(self) -> tuple[str, ...]:
        """The criteria its actions serve, each once, in alphabetical order: the same set
        reads the same whichever actions serve it."""
        served = {c for a in self.actions for c in a.criteria}
        return tuple(sorted(served, key=lambda c: (c.casefold(), c)))


class Field(StrEnum):
    SUMMARY = "summary"
    CRITERIA = "criteria"  # the criteria served, by the whole version
    WHAT = "what"  # then, per action: what, who, when, cost
    WHO = "who"
    WHEN = "when"
    COST = "cost"
    ASSUMPTIONS = "assumptions"
    RISKS = "risks"


ACTION_FIELDS = (Field.WHAT, Field.WHO, Field.WHEN, Field.COST)


@dataclass(frozen=True)
class Cell:
    text: str | None  # None: this version has no action at this position
    differs: bool  # from the first column's cell (never for the first column)


@dataclass(frozen=True)
class Row:
    field: Field
    action: int | None  # the action's position (from 0) for an action's rows
    cells: tuple[Cell, ...]  # one per column, in the columns' order

    @property
    def all_equal(self) -> bool:
        return not any(c.differs for c in self.cells)


def _row(field: Field, texts: Sequence[str | None], action: int | None = None) -> Row:
    first = texts[0]
    return Row(field, action, tuple(Cell(t, i > 0 and t != first) for i, t in enumerate(texts)))


def _action_text(version: ScenarioVersion, position: int, field: Field) -> str | None:
    if position >= len(version.actions):
        return None
    action = version.actions[position]
    return {
        Field.WHAT: action.what,
        Field.WHO: action.who,
        Field.WHEN: action.when,
        Field.COST: action.cost,
    }[field]


def compare(columns: Sequence[ScenarioVersion]) -> tuple[Row, ...]:
    """The rows comparing 2 to 4 versions: the summary, the criteria served, then for each
    action position its what, who, when and cost, then the assumptions and the risks. A
    cell differs when its text is not the first column's; a version with fewer actions has
    no text (None) in the rows of the actions it lacks."""
    if not MIN_COLUMNS <= len(columns) <= MAX_COLUMNS:
        raise ValueError(f"compare {MIN_COLUMNS} to {MAX_COLUMNS} versions, not {len(columns)}")
    rows = [
        _row(Field.SUMMARY, [v.summary for v in columns]),
        _row(Field.CRITERIA, [CRITERIA_SEPARATOR.join(v.criteria) for v in columns]),
    ]
    for position in range(max(len(v.actions) for v in columns)):
        for field in ACTION_FIELDS:
            rows.append(_row(field, [_action_text(v, position, field) for v in columns], position))
    rows.append(_row(Field.ASSUMPTIONS, [v.assumptions for v in columns]))
    rows.append(_row(Field.RISKS, [v.risks for v in columns]))
    return tuple(rows)


def word_diff(old: str, new: str) -> Markup:
    """The new text as it reads, words added in <ins> and removed in <del>, safe to show:
    the proposals' diff (consent/diff.py), for any two cells or versions."""
    return rendered_diff(old, new)
