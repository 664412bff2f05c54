"""A cause's proposals: each step of the journey that matters is a proposal on the consent
engine, linked to the cause with its purpose (store.link_proposal), and adopted into the
register like any other. This module creates them; adoption.py applies their adoption.

- take_on: the proposal answers the movement's three criteria (values, several people
  mobilised, a useful local impact), each in words; the rules refuse it otherwise;
- objectives: the objectives not adopted yet, with their impact criteria, written into the
  proposal's text; they are locked while it is under way and adopted with it;
- evaluation: what the group concludes from the measurements and what it changes; it may
  reopen the plan (a new scenario version, chosen again);
- choice: the scenario choice (choosing.py opens it: its stages are an election's).
"""

from __future__ import annotations

from consentir.causes import rules, store
from consentir.causes.store import Cause, Purpose
from consentir.consent import rules as consent_rules
from consentir.consent import store as proposals
from consentir.consent.store import Content
from consentir.db import Connection
from consentir.spaces.store import Space
from consentir.web.i18n import gettext


async def propose(
    conn: Connection,
    space: Space,
    actor: consent_rules.Actor,
    cause: Cause,
    purpose: Purpose,
    content: Content,
    *,
    meets: tuple[str, str, str] | None = None,
    reopens_plan: bool = False,
) -> int:
    """A draft proposal of the cause (in the caller's transaction; `cause` read with
    store.lock): refused, naming the rule, when its step is not open."""
    if purpose == "take_on":
        answered = frozenset(
            c for c, text in zip(rules.Criterion, meets or ("", "", ""), strict=True)
            if text.strip()
        )  # fmt: skip
        rules.may_take_on(rules.Cause(answered=answered))
    elif purpose == "objectives":
        rules.require(cause.facts, rules.Step.OBJECTIVES)
    elif purpose == "choice":
        rules.may_choose(cause.facts)
    else:
        rules.require(cause.facts, rules.Step.EVALUATE)
    proposal_id = await proposals.create(conn, space, actor, content)
    await store.link_proposal(
        conn, cause, proposal_id, purpose, meets=meets, reopens_plan=reopens_plan
    )
    return proposal_id


def take_on_text(cause: Cause, meets: tuple[str, str, str]) -> str:
    """The taking-on proposal's text, in the writer's language: the cause and how it meets
    each criterion."""
    values, mobilised, impact = (m.strip() for m in meets)
    return "\n\n".join([
        gettext("Take on the cause “%(title)s” (%(territory)s).")
        % {"title": cause.title, "territory": cause.territory},
        "# " + gettext("In line with the movement's values"), values,
        "# " + gettext("Several people mobilised"), mobilised,
        "# " + gettext("A useful local impact"), impact,
    ])  # fmt: skip
