"""Who may do what: every route, asked by every kind of person.

The table below has one row per route. A route added without a row fails
`test_every_route_has_a_rule`, so no page or API call ships without its access rule.
Refused requests must also leave no trace: the journal does not grow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar

from consentir import db
from consentir.app import create_app
from consentir.causes import acting, objectives, observing
from consentir.causes import store as causes
from consentir.causes.objectives import CriterionText, ObjectiveText
from consentir.causes.observing import ActorText, AssessmentText
from consentir.causes.store import CauseText
from consentir.config import Settings
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term
from consentir.spaces import store as spaces
from consentir.spaces.store import Space
from consentir.web import i18n
from tests import causes_setup
from tests.helpers import TEST_SECRET
from tests.scenario import ROLES, Scenario, adopt_proposal
from tests.web import Client, act_as, csrf_token

OK = "ok"  # 2xx, or a redirect that is not to the sign-in page
SIGNIN = "signin"  # pages: redirected to sign in; API: 401
FORBIDDEN = "forbidden"  # 403
MISSING = "missing"  # 404 (also for what exists but may not be seen)
CONFLICT = "conflict"  # 409: allowed, but refused by a rule of the process


def roles(**outcomes: str) -> dict[str, str]:
    default = outcomes.pop("default", OK)
    return {role: outcomes.get(role, default) for role in ROLES}


PUBLIC = roles()
SIGNED_IN = roles(anonymous=SIGNIN)
VIEW_SPACE = roles(anonymous=SIGNIN, outsider=MISSING)
ADMIN_OF_SPACE = roles(
    anonymous=SIGNIN, outsider=MISSING, unsigned=FORBIDDEN, member=FORBIDDEN,
    facilitator=FORBIDDEN,
)  # fmt: skip
INSTANCE_ADMIN = roles(default=FORBIDDEN, anonymous=SIGNIN, instance_admin=OK)
API_SIGNED_IN = roles(anonymous=SIGNIN)
API_VIEW_SPACE = roles(anonymous=SIGNIN, outsider=MISSING)
# Those who may act in the space (members who signed its charter).
PARTICIPANTS = roles(
    anonymous=SIGNIN, outsider=MISSING, unsigned=FORBIDDEN, instance_admin=FORBIDDEN
)
# A draft: its proposer edits it; facilitators see it; for everyone else it does not exist.
DRAFT_EDIT = roles(
    anonymous=SIGNIN, outsider=MISSING, unsigned=MISSING, facilitator=FORBIDDEN,
    admin=FORBIDDEN, instance_admin=MISSING,
)  # fmt: skip
# A clarifying question: those on the round's list; not the proposer (member).
ASK = roles(
    anonymous=SIGNIN, outsider=MISSING, unsigned=FORBIDDEN, member=FORBIDDEN,
    instance_admin=FORBIDDEN,
)  # fmt: skip
NEW_PROPOSAL = {"title": "Vélos", "driver": "Pourquoi", "body": "Quoi"}
# Each step of the API on the scenario's proposal (clarify stage): who may. A step refused by
# the process itself answers 409 (`conflict`) once the person may see the proposal.
STAGE_REFUSES = roles(default=CONFLICT, anonymous=SIGNIN, outsider=MISSING)
NO_SUCH_OBJECTION = roles(default=MISSING, anonymous=SIGNIN)
# Answering: the proposer only; the scenario's proposal has no question yet.
PROPOSER = roles(default=FORBIDDEN, anonymous=SIGNIN, outsider=MISSING, member=MISSING)
# The steps that move the process, sent with the proposal's revision (2: created, submitted):
# the facilitators move it on or close it, the proposer publishes or withdraws; a step the
# clarify stage does not allow is a conflict for the facilitators, forbidden to the others.
REVISION = 2
MOVE_ON = roles(default=FORBIDDEN, anonymous=SIGNIN, outsider=MISSING, facilitator=OK, admin=OK)
NOT_NOW = roles(default=FORBIDDEN, anonymous=SIGNIN, outsider=MISSING, facilitator=CONFLICT,
                admin=CONFLICT)  # fmt: skip
OWN = roles(default=FORBIDDEN, anonymous=SIGNIN, outsider=MISSING, member=OK)
API_STEPS: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("ask", ASK, {"text": "Où ?"}),
    ("submit", STAGE_REFUSES, {}),
    ("answer", PROPOSER, {"question_id": 1, "text": "Ici."}),
    ("react", STAGE_REFUSES, {"text": "Bien."}),
    ("position", STAGE_REFUSES, {"stance": "consent", "version": 1}),
    ("withdraw-objection", NO_SUCH_OBJECTION, {"objection_id": 1}),
    ("confirm", NO_SUCH_OBJECTION, {"objection_id": 1}),
    ("deadline", roles(anonymous=SIGNIN, outsider=MISSING, unsigned=FORBIDDEN, member=FORBIDDEN,
                       instance_admin=FORBIDDEN), {"deadline": None}),  # facilitators
    ("advance", MOVE_ON, {"revision": REVISION}),
    ("close", MOVE_ON, {"revision": REVISION, "reason": "Hors sujet."}),
    ("judge", NOT_NOW, {"revision": REVISION, "objection_id": 1, "verdict": "valid",
                        "reason": "Connue."}),
    ("open-object-round", NOT_NOW, {"revision": REVISION}),
    ("close-round", NOT_NOW, {"revision": REVISION}),
    ("publish", OWN, {"revision": REVISION, "driver": "Pourquoi", "body": "Autrement."}),
    ("withdraw", OWN, {"revision": REVISION}),
    # An election's steps, on this ordinary proposal: refused by the process (not an
    # election) for whoever may see it.
    ("nominate", STAGE_REFUSES, {"nominee": 1, "reason": "Disponible."}),
    ("reveal", STAGE_REFUSES, {"revision": REVISION}),
    ("open-change-round", STAGE_REFUSES, {"revision": REVISION}),
    ("propose-holder", STAGE_REFUSES, {"revision": REVISION, "nominee": 1, "reason": "Oui."}),
]  # fmt: skip
# A decision: the scenario's proposal is adopted first (see _request).
FACILITATORS = roles(
    anonymous=SIGNIN, outsider=MISSING, unsigned=FORBIDDEN, member=FORBIDDEN,
    instance_admin=FORBIDDEN,
)  # fmt: skip

# Causes (issue 12): the actors are the members' business; a member who may take part writes.
MEMBERS_ONLY = roles(anonymous=SIGNIN, outsider=MISSING, instance_admin=MISSING)
MEMBERS_TAKING_PART = roles(
    anonymous=SIGNIN, outsider=MISSING, unsigned=FORBIDDEN, instance_admin=MISSING
)
CAUSES_API = "/api/v1/spaces/{slug:str}/causes"
CAUSES = "/api/v1/spaces/alpha/causes"
MEETS = {"meets_values": "Justice", "meets_mobilised": "Douze parents",
         "meets_impact": "Deux écoles"}  # fmt: skip
OBJECTIVE = {"horizon": "long", "title": "Des rues apaisées", "victory": "Moins de voitures."}
CRITERION = {"name": "Enfants à vélo", "unit": "enfants", "baseline": "4",
             "baseline_on": "2026-09-01", "target": "40", "target_on": "2027-06-01"}  # fmt: skip
INTERPRETATION = {"conclusions": "Le trajet est plus sûr.", "changes": "Rien."}


@dataclass
class Rule:
    method: str
    path: str  # the route's template, as Litestar lists it
    outcomes: dict[str, str]
    url: str = ""  # the concrete address; defaults to `path`
    data: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    streamed: bool = False  # an endless response: checked elsewhere (see its rule)
    # Each allowed role may write in turn on one database: what one writes does not change
    # the next one's answer (a second observation, a new assessment), so they are all
    # checked in test_access, without a database of their own each.
    again: bool = False


RULES = [
    Rule("GET", "/", PUBLIC),
    Rule("GET", "/healthz", PUBLIC),
    Rule("GET", "/favicon.ico", PUBLIC),
    Rule("GET", "/schema", PUBLIC),
    Rule("GET", "/schema/openapi.json", PUBLIC),
    Rule("GET", "/schema/{path:str}", roles(default=MISSING), url="/schema/nothing-here"),
    Rule("GET", "/static/{file_path:path}", PUBLIC, url="/static/consentir.css"),
    Rule("POST", "/lang", PUBLIC, data={"lang": "en", "next": "/"}),
    Rule("GET", "/signin", PUBLIC),
    # Wrong password each time: after 5 failures for one account, the limiter answers 429.
    Rule("POST", "/signin",
         roles(default="bad_request", admin="too_many", instance_admin="too_many"),
         data={"email": "x@example.org", "password": "wrong"}),
    Rule("POST", "/signout", PUBLIC),
    # Sign-up is closed unless the instance opens it (SIGNUP_OPEN): then it is public.
    Rule("GET", "/signup", roles(default=MISSING)),
    Rule("POST", "/signup", roles(default=MISSING), data={"name": "N", "email": "n@example.org",
                                                        "password": "long enough pw"}),
    Rule("GET", "/password/forgot", PUBLIC),
    Rule("POST", "/password/forgot", PUBLIC, data={"email": "member@example.org"}),
    Rule("GET", "/password/reset/{token:str}", PUBLIC, url="/password/reset/{reset_token}"),
    Rule("POST", "/password/reset/{token:str}", PUBLIC, url="/password/reset/{reset_token}",
         data={"password": "a brand new password"}),
    Rule("GET", "/email/{purpose:str}/{token:str}", PUBLIC, url="/email/confirm/{confirm_token}"),
    Rule("POST", "/email/{purpose:str}/{token:str}", PUBLIC, url="/email/change/{change_token}"),
    Rule("GET", "/notifications", SIGNED_IN),
    # Someone's notification: theirs only (the facilitator's, here); 404 for anyone else.
    Rule("POST", "/notifications/{notification_id:int}/open",
         roles(default=MISSING, anonymous=SIGNIN, facilitator=OK),
         url="/notifications/{notification_id}/open"),
    Rule("POST", "/notifications/read", SIGNED_IN, data={"up_to": "1"}),
    Rule("GET", "/notifications/settings", SIGNED_IN),
    Rule("POST", "/notifications/settings", SIGNED_IN, data={"mode-1-news": "none"}),
    # Unsubscribing needs a signed link, whoever asks (tests/test_notifications.py).
    Rule("GET", "/notifications/unsubscribe", roles(default="bad_request")),
    Rule("POST", "/notifications/unsubscribe", roles(default="bad_request"),
         url="/notifications/unsubscribe?u=3&s=1.news&t=forged"),
    Rule("GET", "/profile", SIGNED_IN),
    Rule("POST", "/profile", SIGNED_IN, data={"name": "Renamed", "locale": "en"}),
    Rule("POST", "/profile/email", SIGNED_IN, data={"email": "somewhere@example.org"}),
    Rule("POST", "/profile/confirmation", SIGNED_IN),
    Rule("POST", "/profile/tokens", SIGNED_IN, data={"token_name": "script"}),
    # A wrong current password: refused (400) for everyone signed in, nothing changes.
    Rule("POST", "/profile/password", roles(default="bad_request", anonymous=SIGNIN),
         data={"password_current": "not it", "password_new": "a brand new password",
               "password_again": "a brand new password"}),
    # Only the owner may revoke a token; for anyone else it does not exist.
    Rule("POST", "/profile/tokens/{token_id:int}/revoke",
         roles(default=MISSING, anonymous=SIGNIN, member=OK),
         url="/profile/tokens/{member_token_id}/revoke"),
    Rule("GET", "/spaces", SIGNED_IN),
    Rule("GET", "/spaces/new", INSTANCE_ADMIN),
    Rule("POST", "/spaces", INSTANCE_ADMIN, data={"name": "Gamma", "kind": "collective",
                                                "decision_prefix": "GA"}),
    Rule("GET", "/s/{slug:str}", VIEW_SPACE, url="/s/alpha"),
    Rule("GET", "/s/{slug:str}/members", VIEW_SPACE, url="/s/alpha/members"),
    Rule("GET", "/s/{slug:str}/charter", VIEW_SPACE, url="/s/alpha/charter"),
    Rule("POST", "/s/{slug:str}/charter/sign",
         roles(anonymous=SIGNIN, outsider=MISSING, instance_admin=FORBIDDEN),
         url="/s/alpha/charter/sign",
         data={"charter_version": "1", "signed_name": "N", "place": "Lyon",
               "signed_on": "2026-11-23"}),
    Rule("GET", "/s/{slug:str}/charter/edit", ADMIN_OF_SPACE, url="/s/alpha/charter/edit"),
    Rule("POST", "/s/{slug:str}/charter", ADMIN_OF_SPACE, url="/s/alpha/charter",
         data={"body": "# Charte v2", "expected_version": "1", "note": "v2"}),
    Rule("GET", "/s/{slug:str}/settings", ADMIN_OF_SPACE, url="/s/alpha/settings"),
    Rule("POST", "/s/{slug:str}/settings", ADMIN_OF_SPACE, url="/s/alpha/settings",
         data={"name": "Alpha bis", "decision_prefix": "AL", "version": "1"}),
    # The space's look (tests/test_space_brand.py): set by who may edit the space; its
    # stylesheet read like its pages; alpha has no logo, so its address is a 404 to all.
    Rule("POST", "/s/{slug:str}/settings/appearance", ADMIN_OF_SPACE,
         url="/s/alpha/settings/appearance",
         data={"version": "1", "accent_colour": "#7a1f5c", "accent_colour_was": "",
               "accent_picker": "#1f5f8b", "accent_picker_was": "#1f5f8b"}),
    Rule("GET", "/s/{slug:str}/theme.css", VIEW_SPACE, url="/s/alpha/theme.css"),
    Rule("GET", "/s/{slug:str}/logo", roles(default=MISSING, anonymous=SIGNIN),
         url="/s/alpha/logo"),
    Rule("GET", "/s/{slug:str}/spaces/new", ADMIN_OF_SPACE, url="/s/alpha/spaces/new"),
    Rule("POST", "/s/{slug:str}/spaces", ADMIN_OF_SPACE, url="/s/alpha/spaces",
         data={"name": "Cercle", "kind": "governance", "decision_prefix": "CE"}),
    Rule("POST", "/s/{slug:str}/invitations", ADMIN_OF_SPACE, url="/s/alpha/invitations",
         data={"email": "new@example.org", "role": "member"}),
    Rule("POST", "/s/{slug:str}/invitations/{invitation_id:int}/revoke", ADMIN_OF_SPACE,
         url="/s/alpha/invitations/{invitation_id}/revoke"),
    Rule("POST", "/s/{slug:str}/members/{user_id:int}/role", ADMIN_OF_SPACE,
         url="/s/alpha/members/{target_id}/role", data={"role": "facilitator"}),
    Rule("POST", "/s/{slug:str}/members/{user_id:int}/remove", ADMIN_OF_SPACE,
         url="/s/alpha/members/{target_id}/remove"),
    # The only administrator may not leave (the space would have none).
    Rule("POST", "/s/{slug:str}/leave",
         roles(anonymous=SIGNIN, outsider=MISSING, admin=CONFLICT, instance_admin=FORBIDDEN),
         url="/s/alpha/leave"),
    Rule("GET", "/invitations/{token:str}", PUBLIC, url="/invitations/{invitation_token}"),
    # The invitation is for invitee@example.org: anyone signed in as someone else is refused.
    Rule("POST", "/invitations/{token:str}", roles(default=FORBIDDEN, anonymous=OK),
         url="/invitations/{invitation_token}",
         data={"name": "Invitee", "password": "invitee password", "signed_name": "Invitee",
               "place": "Lyon", "signed_on": "2026-11-23"}),
    Rule("GET", "/api/v1/me", API_SIGNED_IN),
    Rule("GET", "/api/v1/spaces", API_SIGNED_IN),
    Rule("GET", "/api/v1/spaces/{slug:str}", API_VIEW_SPACE, url="/api/v1/spaces/alpha"),
    Rule("GET", "/api/v1/spaces/{slug:str}/members", API_VIEW_SPACE,
         url="/api/v1/spaces/alpha/members"),
    Rule("POST", "/api/v1/spaces/{slug:str}/invitations",
         roles(anonymous=SIGNIN, outsider=MISSING, unsigned=FORBIDDEN, member=FORBIDDEN,
               facilitator=FORBIDDEN),
         url="/api/v1/spaces/alpha/invitations", json={"email": "api@example.org"}),
    # The consent process.
    Rule("GET", "/s/{slug:str}/proposals", VIEW_SPACE, url="/s/alpha/proposals"),
    Rule("GET", "/s/{slug:str}/proposals/new", PARTICIPANTS, url="/s/alpha/proposals/new"),
    Rule("POST", "/s/{slug:str}/proposals", PARTICIPANTS, url="/s/alpha/proposals",
         data=NEW_PROPOSAL),
    Rule("POST", "/s/{slug:str}/preview", VIEW_SPACE, url="/s/alpha/preview",
         data={"body": "*texte*"}),
    Rule("GET", "/s/{slug:str}/proposals/{proposal_id:int}", VIEW_SPACE,
         url="/s/alpha/proposals/{proposal_id}"),
    Rule("GET", "/s/{slug:str}/proposals/{proposal_id:int}/diff", VIEW_SPACE,
         url="/s/alpha/proposals/{proposal_id}/diff"),
    Rule("GET", "/s/{slug:str}/proposals/{proposal_id:int}/round", VIEW_SPACE,
         url="/s/alpha/proposals/{proposal_id}/round"),
    Rule("GET", "/s/{slug:str}/proposals/{proposal_id:int}/edit", DRAFT_EDIT,
         url="/s/alpha/proposals/{draft_id}/edit"),
    Rule("POST", "/s/{slug:str}/proposals/{proposal_id:int}/edit", DRAFT_EDIT,
         url="/s/alpha/proposals/{draft_id}/edit", data={**NEW_PROPOSAL, "revision": "1"}),
    Rule("POST", "/s/{slug:str}/proposals/{proposal_id:int}/{verb:str}", ASK,
         url="/s/alpha/proposals/{proposal_id}/ask", data={"text": "Où ?"}),
    # A step's address opened by GET: back to the proposal (303) for whoever sees the space.
    Rule("GET", "/s/{slug:str}/proposals/{proposal_id:int}/{verb:str}", VIEW_SPACE,
         url="/s/alpha/proposals/{proposal_id}/ask"),
    Rule("GET", "/api/v1/spaces/{slug:str}/proposals", API_VIEW_SPACE,
         url="/api/v1/spaces/alpha/proposals"),
    Rule("POST", "/api/v1/spaces/{slug:str}/proposals", PARTICIPANTS,
         url="/api/v1/spaces/alpha/proposals", json=NEW_PROPOSAL),
    Rule("GET", "/api/v1/spaces/{slug:str}/proposals/{proposal_id:int}", API_VIEW_SPACE,
         url="/api/v1/spaces/alpha/proposals/{proposal_id}"),
    *(Rule("POST", f"/api/v1/spaces/{{slug:str}}/proposals/{{proposal_id:int}}/steps/{verb}",
           outcomes, json=body, url=f"/api/v1/spaces/alpha/proposals/{{proposal_id}}/steps/{verb}")
      for verb, outcomes, body in API_STEPS),
    # The decision register.
    Rule("GET", "/s/{slug:str}/decisions", VIEW_SPACE, url="/s/alpha/decisions?q=jardin"),
    Rule("GET", "/s/{slug:str}/decisions/export", VIEW_SPACE,
         url="/s/alpha/decisions/export?format=csv"),
    Rule("GET", "/s/{slug:str}/decisions/{number:str}", VIEW_SPACE,
         url="/s/alpha/decisions/{decision_number}"),
    Rule("GET", "/s/{slug:str}/decisions/{number:str}/print", VIEW_SPACE,
         url="/s/alpha/decisions/{decision_number}/print"),
    Rule("POST", "/s/{slug:str}/decisions/{number:str}/review", FACILITATORS,
         url="/s/alpha/decisions/{decision_number}/review", data={"review_on": "2099-01-01"}),
    # Opening a review of a decision (a draft proposal of kind "review"): the facilitators.
    Rule("GET", "/s/{slug:str}/decisions/{number:str}/reviews/new", FACILITATORS,
         url="/s/alpha/decisions/{decision_number}/reviews/new?outcome=amend"),
    Rule("POST", "/s/{slug:str}/decisions/{number:str}/reviews/new", FACILITATORS,
         url="/s/alpha/decisions/{decision_number}/reviews/new",
         data={"outcome": "confirm", "next_review_on": "2099-01-01", "title": "Reconduction",
               "driver": "Sa date est venue.", "body": "Elle reste en vigueur."}),
    Rule("GET", "/api/v1/spaces/{slug:str}/decisions", API_VIEW_SPACE,
         url="/api/v1/spaces/alpha/decisions?q=jardin"),
    Rule("GET", "/api/v1/spaces/{slug:str}/decisions/{number:str}", API_VIEW_SPACE,
         url="/api/v1/spaces/alpha/decisions/{decision_number}"),
    # Meetings (the scenario's meeting is planned, facilitated by facilitator; admin is its
    # secretary).
    Rule("GET", "/s/{slug:str}/meetings", VIEW_SPACE, url="/s/alpha/meetings"),
    Rule("GET", "/s/{slug:str}/meetings/new", FACILITATORS, url="/s/alpha/meetings/new"),
    Rule("POST", "/s/{slug:str}/meetings", FACILITATORS, url="/s/alpha/meetings",
         data={"title": "Séance", "starts_at": "2026-12-24T18:00"}),
    Rule("GET", "/s/{slug:str}/meetings/{meeting_id:int}", VIEW_SPACE,
         url="/s/alpha/meetings/{meeting_id}"),
    Rule("GET", "/s/{slug:str}/meetings/{meeting_id:int}/console", FACILITATORS,
         url="/s/alpha/meetings/{meeting_id}/console"),
    Rule("GET", "/s/{slug:str}/meetings/{meeting_id:int}/screen", VIEW_SPACE,
         url="/s/alpha/meetings/{meeting_id}/screen"),
    Rule("GET", "/s/{slug:str}/meetings/{meeting_id:int}/live", VIEW_SPACE,
         url="/s/alpha/meetings/{meeting_id}/live"),
    Rule("GET", "/s/{slug:str}/meetings/{meeting_id:int}/meeting.ics", VIEW_SPACE,
         url="/s/alpha/meetings/{meeting_id}/meeting.ics"),
    Rule("POST", "/s/{slug:str}/meetings/{meeting_id:int}/{verb:str}", FACILITATORS,
         url="/s/alpha/meetings/{meeting_id}/presence",
         data={"person": "{facilitator_id}", "presence": "present"}),
    # Minutes before they are published: the facilitators and the secretary only.
    Rule("GET", "/s/{slug:str}/meetings/{meeting_id:int}/minutes",
         roles(anonymous=SIGNIN, outsider=MISSING, unsigned=MISSING, member=MISSING,
               instance_admin=MISSING), url="/s/alpha/meetings/{meeting_id}/minutes"),
    Rule("GET", "/s/{slug:str}/meetings/{meeting_id:int}/minutes.md",
         roles(anonymous=SIGNIN, outsider=MISSING, unsigned=MISSING, member=MISSING,
               instance_admin=MISSING), url="/s/alpha/meetings/{meeting_id}/minutes.md"),
    # Roles and mandates: `member` holds a seat of the role (see _prepare).
    Rule("GET", "/s/{slug:str}/roles", VIEW_SPACE, url="/s/alpha/roles"),
    Rule("GET", "/s/{slug:str}/roles/{role_id:int}", VIEW_SPACE, url="/s/alpha/roles/{role_id}"),
    Rule("GET", "/s/{slug:str}/roles/new", ADMIN_OF_SPACE, url="/s/alpha/roles/new"),
    Rule("POST", "/s/{slug:str}/roles/new", ADMIN_OF_SPACE, url="/s/alpha/roles/new",
         data={"name": "Secrétariat", "purpose": "Les registres.", "seats": "1",
               "term_months": "12"}),
    # Describing an election (a draft): the space's facilitators.
    Rule("GET", "/s/{slug:str}/roles/{role_id:int}/elections/new", FACILITATORS,
         url="/s/alpha/roles/{role_id}/elections/new"),
    Rule("POST", "/s/{slug:str}/roles/{role_id:int}/elections/new", FACILITATORS,
         url="/s/alpha/roles/{role_id}/elections/new",
         data={"seat": "1", "first": "2090-01-01", "last": "2090-12-31"}),
    Rule("GET", "/mandates", SIGNED_IN),
    # Resigning is the holder's own step: for anyone else who sees the space, refused.
    Rule("POST", "/s/{slug:str}/mandates/{mandate_id:int}/resign",
         roles(default=FORBIDDEN, anonymous=SIGNIN, outsider=MISSING, member=OK),
         url="/s/alpha/mandates/{mandate_id}/resign", data={"last_day": "{mandate_last_day}"}),
    # The mandate register and its exports (filtered by the role whose seat `member` holds).
    Rule("GET", "/s/{slug:str}/mandates", VIEW_SPACE, url="/s/alpha/mandates?role={role_id}"),
    Rule("GET", "/s/{slug:str}/mandates.csv", VIEW_SPACE,
         url="/s/alpha/mandates.csv?role={role_id}&status=current"),
    Rule("GET", "/s/{slug:str}/mandates.json", VIEW_SPACE,
         url="/s/alpha/mandates.json?role={role_id}"),
    Rule("GET", "/api/v1/spaces/{slug:str}/roles", API_VIEW_SPACE,
         url="/api/v1/spaces/alpha/roles"),
    Rule("GET", "/api/v1/spaces/{slug:str}/roles/{role_id:int}", API_VIEW_SPACE,
         url="/api/v1/spaces/alpha/roles/{role_id}"),
    Rule("POST", "/api/v1/spaces/{slug:str}/roles", ADMIN_OF_SPACE,
         url="/api/v1/spaces/alpha/roles",
         json={"name": "Secrétariat", "purpose": "Les registres.", "seats": 1, "term_months": 12}),
    Rule("POST", "/api/v1/spaces/{slug:str}/roles/{role_id:int}/elections", FACILITATORS,
         url="/api/v1/spaces/alpha/roles/{role_id}/elections",
         json={"seat": 1, "first": "2090-01-01", "last": "2090-12-31"}),
    Rule("GET", "/api/v1/mandates", API_SIGNED_IN),
    Rule("GET", "/api/v1/spaces/{slug:str}/mandates", API_VIEW_SPACE,
         url="/api/v1/spaces/alpha/mandates"),
    Rule("POST", "/api/v1/spaces/{slug:str}/mandates/{mandate_id:int}/resign",
         roles(default=FORBIDDEN, anonymous=SIGNIN, outsider=MISSING, member=OK),
         url="/api/v1/spaces/alpha/mandates/{mandate_id}/resign",
         json={"last_day": "{mandate_last_day}"}),
    # Proposing to revoke a mandate (a draft proposal of kind "revocation"): like any
    # proposal, those who may take part.
    Rule("GET", "/s/{slug:str}/mandates/{mandate_id:int}/revoke", PARTICIPANTS,
         url="/s/alpha/mandates/{mandate_id}/revoke"),
    Rule("POST", "/s/{slug:str}/mandates/{mandate_id:int}/revoke", PARTICIPANTS,
         url="/s/alpha/mandates/{mandate_id}/revoke",
         data={"driver": "La caisse n'est plus tenue.", "last_day": "{mandate_last_day}"}),
    Rule("POST", "/api/v1/spaces/{slug:str}/mandates/{mandate_id:int}/revocations",
         PARTICIPANTS, url="/api/v1/spaces/alpha/mandates/{mandate_id}/revocations",
         json={"driver": "La caisse n'est plus tenue."}),
    # Causes (issue 12). Each address names the cause it needs, built once per database by
    # _prepare through tests/causes_setup.py: {proposed} a cause proposed by `member` (who
    # carries it), not taken on; {taken} a cause taken on, with two actors ({actor_id},
    # {other_actor_id}) and a draft objective ({objective_id}) with a complete criterion
    # ({criterion_id}); {planned} its objectives adopted, the plan open, with two scenarios
    # ({scenario_id} the first); {chosen} a scenario chosen by decision: its action list
    # ({item_id}, `member`'s) and its adopted criterion ({measured}); {evaluated} its
    # evaluation adopted. Whoever sees the space reads a cause; those who may take part write;
    # the actors are the members' business (404 for anyone else, the instance's
    # administrators included); opening the scenario choice is the facilitators'. (These rows
    # come after the decisions': in one database, the scenario's decision is adopted first.)
    Rule("GET", "/s/{slug:str}/causes", VIEW_SPACE, url="/s/alpha/causes"),
    Rule("GET", "/s/{slug:str}/causes/new", PARTICIPANTS, url="/s/alpha/causes/new"),
    Rule("POST", "/s/{slug:str}/causes/new", PARTICIPANTS, url="/s/alpha/causes/new",
         data={"title": "Bancs", "territory": "Lyon", "theme": "mobility"}, again=True),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}", VIEW_SPACE,
         url="/s/alpha/causes/{chosen}"),
    # Editing a cause: those who carry it (`member`) and the facilitators.
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/edit", PARTICIPANTS,
         url="/s/alpha/causes/{proposed}/edit"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/edit", PARTICIPANTS,
         url="/s/alpha/causes/{proposed}/edit",
         data={"title": "Bancs", "territory": "Lyon", "theme": "other",
               "theme_other": "Écologie"}, again=True),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/follow", PARTICIPANTS,
         url="/s/alpha/causes/{proposed}/follow", data={"on": "1"}, again=True),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/take-on", PARTICIPANTS,
         url="/s/alpha/causes/{proposed}/take-on"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/take-on", PARTICIPANTS,
         url="/s/alpha/causes/{proposed}/take-on", data=MEETS),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/observation", VIEW_SPACE,
         url="/s/alpha/causes/{taken}/observation"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/observations", PARTICIPANTS,
         url="/s/alpha/causes/{taken}/observations",
         data={"kind": "fact", "title": "Vu", "source": "Terrain", "observed_on": "2026-11-01"},
         again=True),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/actors", MEMBERS_TAKING_PART,
         url="/s/alpha/causes/{taken}/actors",
         data={"actor_kind": "organisation", "name": "Préfecture", "stance": "0",
               "influence": "1", "role": "target"}, again=True),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/actors/{actor_id:int}", MEMBERS_ONLY,
         url="/s/alpha/causes/{taken}/actors/{actor_id}"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/actors/{actor_id:int}/assessments",
         MEMBERS_TAKING_PART, url="/s/alpha/causes/{taken}/actors/{actor_id}/assessments",
         data={"stance": "1", "influence": "2", "role": "ally"}, again=True),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/actors/{actor_id:int}/links",
         MEMBERS_TAKING_PART, url="/s/alpha/causes/{taken}/actors/{actor_id}/links",
         data={"other": "{other_actor_id}", "label": "finance"}),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/objectives", VIEW_SPACE,
         url="/s/alpha/causes/{taken}/objectives"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/objectives", PARTICIPANTS,
         url="/s/alpha/causes/{taken}/objectives", data=OBJECTIVE, again=True),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/objectives/{objective_id:int}/edit",
         PARTICIPANTS, url="/s/alpha/causes/{taken}/objectives/{objective_id}/edit"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/objectives/{objective_id:int}/edit",
         PARTICIPANTS, url="/s/alpha/causes/{taken}/objectives/{objective_id}/edit",
         data=OBJECTIVE, again=True),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/objectives/{objective_id:int}/delete",
         PARTICIPANTS, url="/s/alpha/causes/{taken}/objectives/{objective_id}/delete"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/objectives/propose", PARTICIPANTS,
         url="/s/alpha/causes/{taken}/objectives/propose"),
    Rule("GET",
         "/s/{slug:str}/causes/{cause_id:int}/objectives/{objective_id:int}/criteria/new",
         PARTICIPANTS, url="/s/alpha/causes/{taken}/objectives/{objective_id}/criteria/new"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/objectives/{objective_id:int}/criteria",
         PARTICIPANTS, url="/s/alpha/causes/{taken}/objectives/{objective_id}/criteria",
         data={"kind": "yesno", "name": "La mairie nous reçoit"}, again=True),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/objectives/{objective_id:int}/criteria/"
                "{criterion_id:int}/edit", PARTICIPANTS,
         url="/s/alpha/causes/{taken}/objectives/{objective_id}/criteria/{criterion_id}/edit"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/objectives/{objective_id:int}/criteria/"
                 "{criterion_id:int}/edit", PARTICIPANTS,
         url="/s/alpha/causes/{taken}/objectives/{objective_id}/criteria/{criterion_id}/edit",
         data=CRITERION, again=True),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/objectives/{objective_id:int}/criteria/"
                 "{criterion_id:int}/delete", PARTICIPANTS,
         url="/s/alpha/causes/{taken}/objectives/{objective_id}/criteria/{criterion_id}/delete"),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/scenarios", VIEW_SPACE,
         url="/s/alpha/causes/{planned}/scenarios"),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/scenarios/compare", VIEW_SPACE,
         url="/s/alpha/causes/{planned}/scenarios/compare"),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/scenarios/new", PARTICIPANTS,
         url="/s/alpha/causes/{planned}/scenarios/new"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/scenarios", PARTICIPANTS,
         url="/s/alpha/causes/{planned}/scenarios",
         data={"title": "Pédibus", "summary": "À pied.", "blocks": "1",
               "action-0-what": "Tracer le trajet"}, again=True),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/scenarios/{scenario_id:int}", VIEW_SPACE,
         url="/s/alpha/causes/{planned}/scenarios/{scenario_id}"),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/scenarios/{scenario_id:int}/versions/new",
         PARTICIPANTS, url="/s/alpha/causes/{planned}/scenarios/{scenario_id}/versions/new"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/scenarios/{scenario_id:int}/versions",
         PARTICIPANTS, url="/s/alpha/causes/{planned}/scenarios/{scenario_id}/versions",
         data={"summary": "Plus court.", "note": "Raccourci.", "blocks": "0"}, again=True),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/choice/new", FACILITATORS,
         url="/s/alpha/causes/{planned}/choice/new"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/choice/new", FACILITATORS,
         url="/s/alpha/causes/{planned}/choice/new"),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/actions", VIEW_SPACE,
         url="/s/alpha/causes/{chosen}/actions"),
    # An action: its owner (`member`) and the facilitators.
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/actions/{item_id:int}", PARTICIPANTS,
         url="/s/alpha/causes/{chosen}/actions/{item_id}",
         data={"status": "done", "evidence": "Photo."}, again=True),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/evaluation", VIEW_SPACE,
         url="/s/alpha/causes/{chosen}/evaluation?measure={measured}"),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/evaluation.csv", VIEW_SPACE,
         url="/s/alpha/causes/{chosen}/evaluation.csv"),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/evaluation/{criterion_id:int}/measure",
         PARTICIPANTS, url="/s/alpha/causes/{chosen}/evaluation/{measured}/measure",
         data={"measured_on": "2026-11-01", "value": "12", "source": "Comptage"}, again=True),
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/evaluation/interpretation",
         PARTICIPANTS, url="/s/alpha/causes/{chosen}/evaluation/interpretation",
         data=INTERPRETATION),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/celebration", VIEW_SPACE,
         url="/s/alpha/causes/{evaluated}/celebration"),
    # Preparing the celebration: those who carry the cause (`member`) and the facilitators.
    Rule("POST", "/s/{slug:str}/causes/{cause_id:int}/celebration", PARTICIPANTS,
         url="/s/alpha/causes/{evaluated}/celebration",
         data={"held_on": "2027-09-12", "place": "Place du marché"}, again=True),
    Rule("GET", "/s/{slug:str}/causes/{cause_id:int}/bilan", VIEW_SPACE,
         url="/s/alpha/causes/{evaluated}/bilan"),
    # The same through the API.
    Rule("GET", CAUSES_API, API_VIEW_SPACE, url="/api/v1/spaces/alpha/causes"),
    Rule("POST", CAUSES_API, PARTICIPANTS, url="/api/v1/spaces/alpha/causes",
         json={"title": "Bancs", "territory": "Lyon", "theme": "mobility"}, again=True),
    Rule("GET", CAUSES_API + "/{cause_id:int}", API_VIEW_SPACE, url=CAUSES + "/{chosen}"),
    Rule("POST", CAUSES_API + "/{cause_id:int}/take-on", PARTICIPANTS,
         url=CAUSES + "/{proposed}/take-on", json=MEETS),
    Rule("POST", CAUSES_API + "/{cause_id:int}/follow", PARTICIPANTS,
         url=CAUSES + "/{proposed}/follow", json={"carries": True}, again=True),
    Rule("DELETE", CAUSES_API + "/{cause_id:int}/follow", PARTICIPANTS,
         url=CAUSES + "/{proposed}/follow", again=True),
    Rule("GET", CAUSES_API + "/{cause_id:int}/observations", API_VIEW_SPACE,
         url=CAUSES + "/{taken}/observations"),
    Rule("POST", CAUSES_API + "/{cause_id:int}/observations", PARTICIPANTS,
         url=CAUSES + "/{taken}/observations",
         json={"kind": "fact", "title": "Vu", "source": "Terrain", "observed_on": "2026-11-01"},
         again=True),
    Rule("GET", CAUSES_API + "/{cause_id:int}/actors", MEMBERS_ONLY,
         url=CAUSES + "/{taken}/actors"),
    Rule("GET", CAUSES_API + "/{cause_id:int}/actors/{actor_id:int}", MEMBERS_ONLY,
         url=CAUSES + "/{taken}/actors/{actor_id}"),
    Rule("POST", CAUSES_API + "/{cause_id:int}/actors", MEMBERS_TAKING_PART,
         url=CAUSES + "/{taken}/actors",
         json={"kind": "organisation", "name": "Préfecture",
               "assessment": {"stance": 0, "influence": 1, "role": "target"}}, again=True),
    Rule("POST", CAUSES_API + "/{cause_id:int}/actors/{actor_id:int}/assessments",
         MEMBERS_TAKING_PART, url=CAUSES + "/{taken}/actors/{actor_id}/assessments",
         json={"stance": 1, "influence": 2, "role": "ally"}, again=True),
    Rule("POST", CAUSES_API + "/{cause_id:int}/actors/{actor_id:int}/links",
         MEMBERS_TAKING_PART, url=CAUSES + "/{taken}/actors/{actor_id}/links",
         json={"other": "{other_actor_id}", "label": "finance"}),
    Rule("GET", CAUSES_API + "/{cause_id:int}/objectives", API_VIEW_SPACE,
         url=CAUSES + "/{taken}/objectives"),
    Rule("GET", CAUSES_API + "/{cause_id:int}/objectives/{objective_id:int}", API_VIEW_SPACE,
         url=CAUSES + "/{taken}/objectives/{objective_id}"),
    Rule("POST", CAUSES_API + "/{cause_id:int}/objectives", PARTICIPANTS,
         url=CAUSES + "/{taken}/objectives", json=OBJECTIVE, again=True),
    Rule("POST", CAUSES_API + "/{cause_id:int}/objectives/{objective_id:int}/criteria",
         PARTICIPANTS, url=CAUSES + "/{taken}/objectives/{objective_id}/criteria",
         json={"kind": "yesno", "name": "La mairie nous reçoit"}, again=True),
    Rule("POST", CAUSES_API + "/{cause_id:int}/objectives/propose", PARTICIPANTS,
         url=CAUSES + "/{taken}/objectives/propose"),
    Rule("GET", CAUSES_API + "/{cause_id:int}/criteria/{criterion_id:int}/measurements",
         API_VIEW_SPACE, url=CAUSES + "/{chosen}/criteria/{measured}/measurements"),
    Rule("POST", CAUSES_API + "/{cause_id:int}/criteria/{criterion_id:int}/measurements",
         PARTICIPANTS, url=CAUSES + "/{chosen}/criteria/{measured}/measurements",
         json={"measured_on": "2026-11-01", "value": 12, "source": "Comptage"}, again=True),
    Rule("GET", CAUSES_API + "/{cause_id:int}/scenarios", API_VIEW_SPACE,
         url=CAUSES + "/{planned}/scenarios"),
    Rule("GET", CAUSES_API + "/{cause_id:int}/scenarios/compare", API_VIEW_SPACE,
         url=CAUSES + "/{planned}/scenarios/compare"),
    Rule("GET", CAUSES_API + "/{cause_id:int}/scenarios/{scenario_id:int}", API_VIEW_SPACE,
         url=CAUSES + "/{planned}/scenarios/{scenario_id}"),
    Rule("POST", CAUSES_API + "/{cause_id:int}/scenarios", PARTICIPANTS,
         url=CAUSES + "/{planned}/scenarios",
         json={"title": "Pédibus", "summary": "À pied.",
               "actions": [{"what": "Tracer le trajet"}]}, again=True),
    Rule("POST", CAUSES_API + "/{cause_id:int}/scenarios/{scenario_id:int}/versions",
         PARTICIPANTS, url=CAUSES + "/{planned}/scenarios/{scenario_id}/versions",
         json={"summary": "Plus court.", "note": "Raccourci."}, again=True),
    Rule("POST", CAUSES_API + "/{cause_id:int}/choices", FACILITATORS,
         url=CAUSES + "/{planned}/choices", json={}),
    Rule("GET", CAUSES_API + "/{cause_id:int}/actions", API_VIEW_SPACE,
         url=CAUSES + "/{chosen}/actions"),
    Rule("POST", CAUSES_API + "/{cause_id:int}/actions/{item_id:int}", PARTICIPANTS,
         url=CAUSES + "/{chosen}/actions/{item_id}", json={"status": "doing"}, again=True),
    Rule("POST", CAUSES_API + "/{cause_id:int}/evaluation/interpretation", PARTICIPANTS,
         url=CAUSES + "/{chosen}/evaluation/interpretation", json=INTERPRETATION),
    # An endless stream: its access is checked on a real server by
    # tests/test_live.py::test_only_those_who_may_see_the_space_open_its_stream.
    Rule("GET", "/live/s/{slug:str}", VIEW_SPACE, url="/live/s/alpha", streamed=True),
]  # fmt: skip


def _key(rule: Rule) -> str:
    return f"{rule.method} {rule.path}"


def _app_routes(app: Litestar) -> set[str]:
    found = set()
    for route in app.routes:
        for method in getattr(route, "methods", set()):
            if method not in ("HEAD", "OPTIONS"):
                found.add(f"{method} {route.path}")
    return found


def test_every_route_has_a_rule(tmp_path: Any) -> None:
    app = create_app(
        Settings(database_url="postgresql://x@127.0.0.1/x", secret_key=TEST_SECRET,
                 data_dir=str(tmp_path))
    )  # fmt: skip
    listed = {_key(rule) for rule in RULES}
    assert len(listed) == len(RULES), "a route is listed twice"
    missing = sorted(_app_routes(app) - listed)
    assert not missing, f"routes without an access rule: {missing}"
    gone = sorted(listed - _app_routes(app))
    assert not gone, f"rules for routes that no longer exist: {gone}"


def _url(rule: Rule, world: Scenario, made: dict[str, int]) -> str:
    return _fill(rule.url or rule.path, world, made)


def _fill(text: str, world: Scenario, made: dict[str, int]) -> str:
    """An address or a form value with the scenario's ids and tokens put in, and the ids of
    what _prepare made in this database (`made`)."""
    return text.format(
        reset_token=world.reset_token,
        confirm_token=world.confirm_token,
        change_token=world.change_token,
        invitation_token=world.invitation_token,
        invitation_id=world.invitation_id,
        target_id=world.target_id,
        member_token_id=world.api_token_ids["member"],
        draft_id=world.draft_id,
        proposal_id=world.proposal_id,
        meeting_id=world.meeting_id,
        facilitator_id=world.user_ids["facilitator"],
        notification_id=world.notification_id,
        decision_number=f"AL-{datetime.now(UTC).year}-001",
        **_mandate,
        **made,
    )


def _json_value(value: Any, world: Scenario, made: dict[str, int]) -> Any:
    """A JSON value with the ids put in: a value that is only a placeholder of an id
    ("{other_actor_id}") becomes the number."""
    if not isinstance(value, str):
        return value
    filled = _fill(value, world, made)
    return int(filled) if value.startswith("{") and filled.isdigit() else filled


def _outcome(response: Any, api: bool) -> str:
    status = response.status_code
    location = response.headers.get("location", "")
    if status == 401 or (status in (302, 303) and location.startswith("/signin")):
        return SIGNIN
    if status in (200, 201, 204) or status in (302, 303):
        return OK
    return {400: "bad_request", 403: FORBIDDEN, 404: MISSING, 409: CONFLICT, 429: "too_many"}.get(
        status, f"status {status}"
    )


_adopted: set[str] = set()  # databases where the scenario's proposal was adopted
_mandated: set[str] = set()  # databases where `member` was given a seat of a role
# The role, the mandate and a last day to resign on (the same in every copy of the scenario).
_mandate: dict[str, Any] = {}


async def _prepare(client: Client, rule: Rule, world: Scenario) -> dict[str, int]:
    """Rules about a decision need one: the scenario's proposal is adopted, once per database.
    Rules about a role or a mandate: a role of alpha whose seat `member` holds, granted by
    that decision. Rules about a cause: the cause they name (see CAUSE_STAGES), made once per
    database; the ids made there, for _fill."""
    mandated = "{role_id}" in rule.url or "{mandate_id}" in rule.url
    asked = f"{rule.url} {rule.data} {rule.json}"
    database = client.app.state.settings.database_url
    made = _made.setdefault(database, {})
    stages = [s for s in CAUSE_STAGES if "{" + s + "}" in asked and s not in made]
    if "{decision_number}" in rule.url or mandated or stages:
        pool = await db.create_pool(database, min_size=1, max_size=1)
        try:
            if "{decision_number}" in rule.url or mandated:
                if database not in _adopted:
                    await adopt_proposal(pool, world)
                    _adopted.add(database)
                if mandated and database not in _mandated:
                    await _give_a_seat(pool, world)
                    _mandated.add(database)
            for stage in stages:
                made.update(await CAUSE_STAGES[stage](pool, world))
        finally:
            await pool.close()
    return made


async def _give_a_seat(pool: Any, world: Scenario) -> None:
    today = datetime.now(i18n.display_zone).date()
    async with db.transaction(pool) as conn:
        alpha = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'alpha'")
        decision = await conn.fetchval("SELECT min(id) FROM decisions WHERE space_id = $1", alpha)
        role_id = await mandates.record_preexisting_role(
            conn,
            alpha,
            mandates.RoleText("Trésorerie", "Les comptes.", "", [], 1, 12),
            actor_id=world.user_ids["admin"],
        )
        term = Term(today - timedelta(days=30), today + timedelta(days=335))
        mandate_id = await mandates.grant(
            conn, alpha, role_id, 1, world.user_ids["member"], term, decision_id=decision
        )
    made = {
        "role_id": role_id,
        "mandate_id": mandate_id,
        "mandate_last_day": (today + timedelta(days=30)).isoformat(),
    }
    assert _mandate in ({}, made), "the scenario's copies differ"
    _mandate.update(made)


# What the causes' rules need, by the placeholder naming their cause: each made once per
# database (a copy of the scenario), through the stores (tests/causes_setup.py).
_made: dict[str, dict[str, int]] = {}  # database → placeholder → id


async def _alpha(pool: Any) -> Space:
    async with pool.acquire() as conn:
        view = await spaces.space_view(conn, "alpha", None, instance_admin=False)
    assert view is not None
    return view.space


async def _proposed(pool: Any, world: Scenario) -> dict[str, int]:
    return {"proposed": await causes_setup.new_cause(pool, await _alpha(pool), world)}


async def _taken(pool: Any, world: Scenario) -> dict[str, int]:
    """A cause taken on, two actors, and a draft objective with a complete criterion."""
    alpha = await _alpha(pool)
    cause_id = await causes_setup.taken_on_cause(pool, alpha, world, "Rue apaisée")
    member = world.user_ids["member"]
    first = AssessmentText(stance=0, influence=1, role="public")
    async with db.transaction(pool) as conn:
        actors = [
            await observing.add_actor(conn, alpha.id, cause_id, member,
                                      ActorText(kind=kind, name=name), first)
            for kind, name in (("institution", "Mairie"), ("collective", "Parents d'élèves"))
        ]  # fmt: skip
        objective_id = await objectives.add_objective(
            conn, alpha.id, cause_id, member,
            ObjectiveText("short", "Des trajets sûrs", "Les enfants vont à l'école à vélo."),
        )  # fmt: skip
        criterion_id = await objectives.add_criterion(
            conn, alpha.id, cause_id, objective_id, member,
            CriterionText(name="Enfants à vélo", kind="number", unit="enfants",
                          baseline=Decimal(4), baseline_on=date(2026, 9, 1),
                          target=Decimal(40), target_on=date(2027, 6, 1)),
        )  # fmt: skip
    return {"taken": cause_id, "actor_id": actors[0], "other_actor_id": actors[1],
            "objective_id": objective_id, "criterion_id": criterion_id}  # fmt: skip


async def _planned(pool: Any, world: Scenario) -> dict[str, int]:
    """A cause whose plan is open, with two scenarios (to compare)."""
    alpha = await _alpha(pool)
    cause_id, criterion_id = await causes_setup.planned_cause(pool, alpha, world)
    first = await causes_setup.draft_scenario(pool, alpha, world, cause_id, criterion_id, "Piste")
    await causes_setup.draft_scenario(pool, alpha, world, cause_id, criterion_id, "Zone 30")
    return {"planned": cause_id, "scenario_id": first}


async def _chosen(pool: Any, world: Scenario) -> dict[str, int]:
    """A cause whose scenario was chosen: its action list (the first action, `member`'s) and
    the criterion it measures."""
    alpha = await _alpha(pool)
    cause_id, criterion_id = await causes_setup.chosen_cause(pool, alpha, world)
    async with pool.acquire() as conn:
        item = (await acting.items(conn, cause_id, date.today()))[0]
    assert item.owner_user == world.user_ids["member"]
    return {"chosen": cause_id, "item_id": item.id, "measured": criterion_id}


async def _evaluated(pool: Any, world: Scenario) -> dict[str, int]:
    return {"evaluated": await causes_setup.evaluated_cause(pool, await _alpha(pool), world)}


CAUSE_STAGES: dict[str, Callable[[Any, Scenario], Awaitable[dict[str, int]]]] = {
    "proposed": _proposed,
    "taken": _taken,
    "planned": _planned,
    "chosen": _chosen,
    "evaluated": _evaluated,
}


async def _request(
    client: Client, rule: Rule, world: Scenario, role: str, token: str,
    made: dict[str, int] | None = None,
) -> Any:  # fmt: skip
    """The rule's request as `role`; `made`: the ids to put in, instead of _prepare's."""
    if made is None:
        made = await _prepare(client, rule, world)
    url = _url(rule, world, made)
    if url.startswith("/api/"):
        headers = {}
        if role != "anonymous":
            headers["authorization"] = f"Bearer {world.api_tokens[role]}"
        client.cookies.delete("session")
        body = rule.json
        if body is not None:
            body = {k: _json_value(v, world, made) for k, v in body.items()}
        return await client.request(rule.method, url, json=body, headers=headers)
    act_as(client, world, role)
    if rule.method == "GET":
        return await client.get(url, follow_redirects=False)
    data = {k: _fill(v, world, made) if isinstance(v, str) else v for k, v in rule.data.items()}
    return await client.post(url, data={**data, "_csrf_token": token}, follow_redirects=False)


async def _journal_size(url: str) -> int:
    conn = await db.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM journal"))
    finally:
        await conn.close()


# Reading (GET) is checked by test_reading_for_every_role: one database per role, not per rule.
WRITES = [rule for rule in RULES if rule.method != "GET" and not rule.streamed]


@pytest.mark.parametrize("rule", WRITES, ids=_key)
async def test_access(
    rule: Rule,
    scenario_client: Client,
    scenario_database: tuple[str, Scenario],
    world: Scenario,
) -> None:
    """Refusals first, on one database (they must change nothing); then each allowed role."""
    token = await csrf_token(scenario_client)
    refused = [r for r in ROLES if rule.outcomes[r] != OK]
    await _prepare(scenario_client, rule, world)
    before = await _journal_size(scenario_database[0])
    for role in refused:
        response = await _request(scenario_client, rule, world, role, token)
        got = _outcome(response, rule.path.startswith("/api/"))
        assert got == rule.outcomes[role], f"{role}: expected {rule.outcomes[role]}, got {got}"
    if rule.path not in ("/signin", "/lang", "/signout"):
        assert await _journal_size(scenario_database[0]) == before, "a refused request wrote"
    allowed = [r for r in ROLES if rule.outcomes[r] == OK]
    # A state change by one role may change the next one's answer: the first allowed role
    # acts here; the others are checked in test_access_allowed on databases of their own,
    # unless the rule says they may act in turn (`again`).
    for role in allowed if rule.again else allowed[:1]:
        response = await _request(scenario_client, rule, world, role, token)
        assert _outcome(response, False) == OK, f"{role}: got {response.status_code}"


ALLOWED_WRITES = [
    (rule, role)
    for rule in RULES
    if rule.method == "POST" and not rule.again
    for role in [r for r in ROLES if rule.outcomes[r] == OK][1:]
]


@pytest.mark.parametrize(
    ("rule", "role"), ALLOWED_WRITES, ids=[f"{_key(r)} as {role}" for r, role in ALLOWED_WRITES]
)
async def test_access_allowed(
    rule: Rule, role: str, scenario_client: Client, world: Scenario
) -> None:
    token = await csrf_token(scenario_client)
    response = await _request(scenario_client, rule, world, role, token)
    assert _outcome(response, False) == OK, f"{role}: got {response.status_code}"


@pytest.mark.parametrize("role", ROLES)
async def test_reading_for_every_role(role: str, scenario_client: Client, world: Scenario) -> None:
    """GET routes have no side effect, so each role asks every one of them on one database:
    each answers as its rule says, refused or allowed."""
    for rule in RULES:
        if rule.method == "GET" and not rule.streamed:
            response = await _request(scenario_client, rule, world, role, "")
            got = _outcome(response, rule.path.startswith("/api/"))
            expected = rule.outcomes[role]
            assert got == expected, f"{_key(rule)}: expected {expected}, got {got}"


# The placeholders naming a cause, and those naming something of a cause, in an address.
CAUSE_PLACES = tuple("{" + stage + "}" for stage in CAUSE_STAGES)
OF_A_CAUSE = ("{actor_id}", "{objective_id}", "{criterion_id}", "{scenario_id}", "{item_id}",
              "{measured}")  # fmt: skip


async def test_what_another_space_or_cause_holds_is_missing_on_every_cause_route(
    scenario_client: Client, scenario_database: tuple[str, Scenario], world: Scenario
) -> None:
    """Asked by alpha's administrator (who may do everything there): a cause of another
    space through alpha's addresses, and an actor, objective, criterion, scenario or action
    of another cause through one of alpha's causes whose every step is open, are missing
    (404) on every route of the causes, and nothing is written."""
    token = await csrf_token(scenario_client)
    ruled = [rule for rule in RULES if any(place in rule.url for place in CAUSE_PLACES)]
    for rule in ruled:
        await _prepare(scenario_client, rule, world)
    made = _made[scenario_database[0]]
    pool = await db.create_pool(scenario_database[0], min_size=1, max_size=1)
    try:
        async with db.transaction(pool) as conn:
            beta = await conn.fetchval("SELECT id FROM spaces WHERE slug = 'beta'")
            elsewhere = await causes.create(conn, beta, world.user_ids["beta_owner"],
                                            CauseText("Ailleurs", "Paris", "mobility"))  # fmt: skip
    finally:
        await pool.close()
    before = await _journal_size(scenario_database[0])
    for rule in ruled:
        asked = [{**made, **dict.fromkeys(CAUSE_STAGES, elsewhere)}]
        if any(place in rule.url.partition("?")[0] for place in OF_A_CAUSE):
            asked.append({**made, **dict.fromkeys(CAUSE_STAGES, made["evaluated"])})
        for ids in asked:
            response = await _request(scenario_client, rule, world, "admin", token, ids)
            assert _outcome(response, False) == MISSING, f"{_key(rule)}: {response.status_code}"
    assert await _journal_size(scenario_database[0]) == before, "a refused request wrote"
