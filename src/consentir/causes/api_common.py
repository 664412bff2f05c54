"""What the causes' JSON API modules share: where they live, how a required text and a
number are refused, the draft proposals they make."""

from __future__ import annotations

import inspect
from decimal import Decimal
from typing import Any

import msgspec

from consentir.causes import (
    progress,
)
from consentir.errors import N_, DomainError
from consentir.spaces.store import SpaceView

REQUIRED = N_("This field is required.")
BASE = "/api/v1/spaces/{slug:str}/causes"
TAG = ["causes"]


def causes_href(here: SpaceView) -> str:
    return f"/api/v1/spaces/{here.space.slug}/causes"


def proposal_href(here: SpaceView, proposal_id: int) -> str:
    return f"/api/v1/spaces/{here.space.slug}/proposals/{proposal_id}"


def filled(**values: str) -> None:
    """Refuse (422 naming the field) a required text of spaces only: the store keeps texts
    trimmed, and the database refuses an empty one."""
    for name, value in values.items():
        if not value.strip():
            raise DomainError("field_required", REQUIRED, field=name)


def bounded(value: Decimal | None, field: str) -> None:
    """Refuse, before any arithmetic, a number no criterion, cost or measurement can hold: not
    finite, or written with an exponent so far out that exact arithmetic on it would run for
    minutes ("1E-100000000"). What is left, the stores check to the letter."""
    if value is None:
        return
    if not value.is_finite() or value.adjusted() > 30 or value.as_tuple().exponent < -30:  # type: ignore[operator]
        raise DomainError("number_out_of_range", progress.NUMBER_OUT_OF_RANGE, field=field)


class PersonOut(msgspec.Struct):
    id: int
    name: str


Amount = Decimal  # a JSON number, or a string to keep every decimal ("12.5")


class ProposalMadeOut(msgspec.Struct):
    """A draft proposal of the cause, made by the call."""

    proposal_id: int
    href: str  # the proposal in the API: its steps take it to a decision (submit, …)


def proposal_made(here: SpaceView, proposal_id: int) -> tuple[ProposalMadeOut, str]:
    href = proposal_href(here, proposal_id)
    return ProposalMadeOut(proposal_id, href), href


def describe(handlers: list[Any]) -> None:
    """The docstrings are the operations' descriptions."""
    for handler in handlers:
        handler.description = handler.description or inspect.getdoc(handler.fn)
