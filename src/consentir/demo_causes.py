"""Demo causes (issue 12), each brought where it stands through the real steps: the stores and
the consent engine, as people would through the pages.

- Mobilité douce à Villeurbanne carries "Une piste cyclable sûre rue Paul-Bert": taken on,
  observed (facts, a testimony, figures, a document; an actor map where the deputy mayor has
  moved), two objectives adopted with their criteria and baselines, scenarios A and B (B in
  its version 2), compared, and their choice in its preferences round (sealed).
- Vie locale à la Croix-Rousse carries "De l'ombre et des bancs place Colbert": its scenario
  chosen by consent, its actions mostly done, its criteria measured over the months, the
  evaluation's interpretation adopted: ready to celebrate.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import msgspec

from consentir import db
from consentir.causes import acting, choosing, measuring, objectives, observing, proposing
from consentir.causes import scenarios as scenario_store
from consentir.causes import store as causes
from consentir.causes.evaluate_routes import InterpretationForm, propose_interpretation
from consentir.causes.objectives import CriterionText, ObjectiveText
from consentir.causes.observing import ActorText, AssessmentText, LinkText, ObservationText
from consentir.causes.scenarios import ActionIn, ScenarioText
from consentir.causes.store import CauseText
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.consent.store import Content
from consentir.spaces.store import Space

BIKE_LANE = "Une piste cyclable sûre rue Paul-Bert"
SHADE = "De l'ombre et des bancs place Colbert"


class _Journey:
    """Steps taken in one space, each in its own savepoint, as its people would take them."""

    def __init__(self, conn: db.Connection, space: Space, ids: dict[str, int],
                 facilitator: str) -> None:  # fmt: skip
        self.conn, self.space, self.ids = conn, space, ids
        self.facilitator = self.actor(facilitator, facilitates=True)

    def actor(self, key: str, *, facilitates: bool = False) -> rules.Actor:
        return rules.Actor(self.ids[key], may_participate=True, may_facilitate=facilitates)

    async def step(self, pid: int, actor: rules.Actor, action: rules.Action,
                   content: Content | None = None) -> None:  # fmt: skip
        if isinstance(action, rules.MOVING_ACTIONS):
            seen = await self.conn.fetchval("SELECT revision FROM proposals WHERE id = $1", pid)
            action = replace(action, seen=seen)
        async with self.conn.transaction():
            await proposals.act(self.conn, self.space, pid, actor, action, content)

    async def listed(self, pid: int) -> list[int]:
        """Who is on the open round's list."""
        rows = await self.conn.fetch(
            """SELECT rp.user_id FROM rounds r JOIN round_participants rp ON rp.round_id = r.id
               WHERE r.proposal_id = $1 AND r.closed_at IS NULL ORDER BY rp.user_id""",
            pid,
        )
        return [r["user_id"] for r in rows]

    def by_id(self, user_id: int) -> rules.Actor:
        key = next(k for k, v in self.ids.items() if v == user_id)
        return self.actor(key, facilitates=user_id == self.facilitator.user_id)

    async def consent_all(self, pid: int) -> None:
        """Everyone on the open consent round's list consents; the facilitator closes it."""
        version = await self.conn.fetchval("SELECT version FROM proposals WHERE id = $1", pid)
        for user_id in await self.listed(pid):
            stance = rules.GivePosition(user_id, rules.Stance.CONSENT, version)
            await self.step(pid, self.by_id(user_id), stance)
        await self.step(pid, self.facilitator, rules.CloseRound(datetime.now(UTC)))

    async def adopt(self, pid: int, proposer: rules.Actor) -> None:
        """A draft through clarify, react and consent, with no objection."""
        nobody: frozenset[int] = frozenset()
        await self.step(pid, proposer, rules.Submit(nobody))
        await self.step(pid, self.facilitator, rules.Advance(nobody))
        await self.step(pid, self.facilitator, rules.Advance(nobody))
        await self.consent_all(pid)

    async def cause(self, carrier: str, text: CauseText, meets: tuple[str, str, str]) -> int:
        """A cause proposed by `carrier`, taken on by decision."""
        async with self.conn.transaction():
            cause_id = await causes.create(self.conn, self.space.id, self.ids[carrier], text)
            locked = await causes.lock(self.conn, self.space.id, cause_id)
            content = Content(
                title=f"Porter la cause : {text.title}",
                driver="Les personnes concernées nous ont sollicités.",
                body=proposing.take_on_text(locked, meets),
            )
            pid = await proposing.propose(self.conn, self.space, self.actor(carrier), locked,
                                          "take_on", content, meets=meets)  # fmt: skip
        await self.adopt(pid, self.actor(carrier))
        return cause_id

    async def objectives(
        self, cause_id: int, author: str,
        written: list[tuple[ObjectiveText, list[CriterionText]]],
    ) -> list[int]:  # fmt: skip
        """Objectives with their criteria, adopted by decision; the criteria's ids."""
        criteria = []
        async with self.conn.transaction():
            for objective, its_criteria in written:
                oid = await objectives.add_objective(self.conn, self.space.id, cause_id,
                                                     self.ids[author], objective)  # fmt: skip
                for criterion in its_criteria:
                    criteria.append(
                        await objectives.add_criterion(
                            self.conn, self.space.id, cause_id, oid, self.ids[author], criterion
                        )
                    )
            pid = await objectives.propose(self.conn, self.space, self.actor(author), cause_id)
        await self.adopt(pid, self.actor(author))
        return criteria

    async def scenario(self, cause_id: int, author: str, text: ScenarioText) -> int:
        async with self.conn.transaction():
            written = await scenario_store.create(self.conn, self.space.id, cause_id,
                                                  self.ids[author], text)  # fmt: skip
        return written.scenario_id

    async def open_choice(self, cause_id: int) -> int:
        """The scenario choice opened by the facilitator, its questions round open."""
        async with self.conn.transaction():
            locked = await causes.lock(self.conn, self.space.id, cause_id)
            content = Content(
                title=f"Choix du plan d'action : {locked.title}",
                driver="Les scénarios sont écrits : choisissons celui que nous porterons.",
                body="Chacun·e dit quel scénario il ou elle préfère, et pourquoi ; un scénario"
                " est ensuite proposé au consentement.",
            )
            pid = await choosing.open_choice(self.conn, self.space, self.facilitator, locked,
                                             content)  # fmt: skip
        await self.step(pid, self.facilitator, rules.Submit(frozenset()))
        return pid

    async def measure(self, cause_id: int, criterion_id: int, key: str, on: date,
                      value: Decimal | int, source: str) -> None:  # fmt: skip
        new = measuring.NewMeasurement(criterion_id=criterion_id, measured_on=on, value=value,
                                       source=source, confidence="high")  # fmt: skip
        async with self.conn.transaction():
            await measuring.add(self.conn, self.space.id, cause_id, self.actor(key), new,
                                date.today())  # fmt: skip


async def load(conn: db.Connection, created: dict[str, Space], ids: dict[str, int]) -> None:
    await _bike_lane(_Journey(conn, created["mobilite-villeurbanne"], ids, "aicha"))
    await _shade(_Journey(conn, created["vie-locale-croix-rousse"], ids, "sophie"))


async def _bike_lane(j: _Journey) -> None:
    today = date.today()
    cause_id = await j.cause("marc", CauseText(
        title=BIKE_LANE, territory="Villeurbanne, rue Paul-Bert", theme="mobility",
        summary="Entre l'école Jean-Jaurès et le collège, la rue Paul-Bert n'a **aucune piste"
                " cyclable** : les enfants roulent au milieu des voitures ou sur le trottoir.",
    ), (
        "La sécurité de tous sur la route est une question de justice : les enfants et les"
        " cyclistes n'ont pas à payer le prix d'une rue pensée pour les voitures.",
        "Vingt-trois parents d'élèves, l'association du quartier et deux enseignantes.",
        "Six cents élèves passent chaque jour rue Paul-Bert ; une piste sûre changerait leur"
        " trajet et celui des habitants.",
    ))  # fmt: skip
    member = j.ids["marc"]
    observed = [
        ObservationText(kind="figure", title="312 voitures entre 8 h et 9 h",
                        source="Comptage des parents, devant l'école",
                        observed_on=today - timedelta(days=40),
                        body="Comptage fait un mardi, de 8 h à 9 h : 312 voitures, 41 vélos."),
        ObservationText(kind="testimony", title="« Je n'ose plus laisser ma fille y aller »",
                        source="Une mère d'élève, à la sortie de l'école",
                        observed_on=today - timedelta(days=35)),
        ObservationText(kind="fact", title="Deux accidents de vélo cette année",
                        source="Main courante de la police municipale",
                        observed_on=today - timedelta(days=30)),
        ObservationText(kind="document", title="Le plan vélo de la Métropole",
                        source="Métropole de Lyon", observed_on=today - timedelta(days=20),
                        url="https://www.example.org/plan-velo",
                        body="La rue Paul-Bert y figure comme « liaison à étudier »."),
    ]  # fmt: skip
    actors: dict[str, int] = {}
    async with j.conn.transaction():
        for text in observed:
            await observing.add_observation(j.conn, j.space.id, cause_id, member, text)
        for key, actor, first in (
            ("mairie", ActorText(kind="institution", name="Mairie de Villeurbanne"),
             AssessmentText(stance=0, influence=3, role="target",
                            interest="Tenir son plan vélo sans fâcher les commerçants.")),
            ("adjoint", ActorText(kind="person", name="Paul Mercier",
                                  public_role="adjoint au maire chargé des mobilités"),
             AssessmentText(stance=-1, influence=3, role="target")),
            ("parents", ActorText(kind="collective", name="Parents d'élèves Jean-Jaurès"),
             AssessmentText(stance=2, influence=1, role="ally")),
            ("commercants", ActorText(kind="organisation", name="Union des commerçants"),
             AssessmentText(stance=-2, influence=2, role="opponent",
                            interest="Garder les places de stationnement.")),
            ("metropole", ActorText(kind="institution", name="Métropole de Lyon"),
             AssessmentText(stance=1, influence=3, role="partner")),
            ("riverains", ActorText(kind="private", group_label="Riverains de la rue"),
             AssessmentText(stance=0, influence=1, role="public")),
        ):  # fmt: skip
            actors[key] = await observing.add_actor(j.conn, j.space.id, cause_id, member,
                                                    actor, first)  # fmt: skip
        # The deputy mayor moved after the first meeting.
        await observing.assess(j.conn, j.space.id, cause_id, actors["adjoint"], j.ids["aicha"],
                               AssessmentText(stance=1, influence=3, role="target",
                                              interest="A promis d'étudier la piste."))  # fmt: skip
        for source, label in (("metropole", "finance la voirie"), ("adjoint", "élu de")):
            link = LinkText(other=actors["mairie"], label=label)
            await observing.link(j.conn, j.space.id, cause_id, actors[source], member, link)
    start, end = today - timedelta(days=45), today + timedelta(days=300)
    criteria = await j.objectives(cause_id, "marc", [
        (ObjectiveText("long", "Une rue où les enfants roulent en sécurité",
                       "Une piste séparée de la route, de l'école au collège."),
         [CriterionText(name="Enfants venant à vélo", kind="number", unit="enfants",
                        baseline=Decimal(41), baseline_on=start, target=Decimal(120),
                        target_on=end, source="Comptage des parents",
                        method="Un mardi par mois, de 8 h à 9 h, devant l'école")]),
        (ObjectiveText("short", "Être entendus par la mairie",
                       "La piste est inscrite au budget de l'an prochain."),
         [CriterionText(name="Écoute de la mairie", kind="ladder",
                        steps=("la mairie ne répond pas", "la mairie nous reçoit",
                               "la mairie étudie la piste", "la piste est au budget"),
                        baseline=Decimal(0), baseline_on=start, target=Decimal(3),
                        target_on=end, source="Courriers et comptes rendus")]),
    ])  # fmt: skip
    kids, town_hall = criteria
    a = await j.scenario(cause_id, "marc", ScenarioText(
        title="Une piste peinte tout de suite",
        summary="Demander une **piste peinte** dès cet été, le temps d'obtenir mieux.",
        assumptions="La mairie accepte une solution rapide et peu chère.",
        risks="Une peinture ne protège pas vraiment ; les voitures s'y garent.",
        actions=[
            ActionIn(what="Écrire à l'adjoint aux mobilités", who_user=j.ids["marc"],
                     due_on=today + timedelta(days=14), criteria=[town_hall]),
            ActionIn(what="Compter les vélos chaque mois", who_user=j.ids["nadia"],
                     due_on=today + timedelta(days=30), criteria=[kids]),
        ],
    ))  # fmt: skip
    version_1 = ScenarioText(
        title="Une piste séparée, portée par les parents",
        summary="Obtenir une **piste séparée par des bordures**, en mobilisant les parents.",
        assumptions="Les parents se mobilisent ; la Métropole finance.",
        risks="Plus long : deux ans de travaux possibles.",
        actions=[
            ActionIn(what="Réunir les parents d'élèves", who_user=j.ids["nadia"],
                     due_on=today + timedelta(days=21), cost=Decimal(80), criteria=[kids]),
            ActionIn(what="Présenter le projet en conseil de quartier",
                     who_user=j.ids["hugo"], due_on=today + timedelta(days=45),
                     criteria=[town_hall]),
        ],
    )  # fmt: skip
    b = await j.scenario(cause_id, "nadia", version_1)
    version_2 = msgspec.structs.replace(
        version_1, title="",
        summary=version_1.summary.rstrip(".") + ", et une **vélorution** pour la rendre visible.",
        note="Ajoute la vélorution proposée par Hugo, et son coût.",
        actions=[*version_1.actions, ActionIn(
            what="Organiser une vélorution rue Paul-Bert", who_user=j.ids["hugo"],
            due_on=today + timedelta(days=60), cost=Decimal(150), criteria=[kids, town_hall])],
    )  # fmt: skip
    async with j.conn.transaction():
        await scenario_store.add_version(
            j.conn, j.space.id, cause_id, b, j.ids["nadia"], version_2, base=1
        )
    # The choice: a question about B answered, then the preferences round (sealed: two of
    # the five have said theirs).
    pid = await j.open_choice(cause_id)
    asked = Content(text="Qui paie les bordures de la piste séparée ?", scenario=b)
    await j.step(pid, j.actor("hugo"), rules.AskQuestion(), asked)
    question = await j.conn.fetchval("SELECT max(id) FROM questions WHERE proposal_id = $1", pid)
    await j.step(pid, j.facilitator, rules.AnswerQuestion(question),
                 Content(text="La Métropole, si la mairie en fait la demande."))  # fmt: skip
    await j.step(pid, j.facilitator, rules.Advance(frozenset()))
    await j.step(pid, j.actor("nadia"), rules.Nominate(b, "Les parents sont prêts à s'y mettre."))
    await j.step(pid, j.actor("marc"), rules.Nominate(a, "Il faut quelque chose dès cet été."))


async def _shade(j: _Journey) -> None:
    today = date.today()
    cause_id = await j.cause("julien", CauseText(
        title=SHADE, territory="Lyon 4e, place Colbert", theme="living_together",
        summary="La place Colbert est une dalle brûlante l'été : ni ombre, ni banc. Les"
                " anciens n'y restent plus et les enfants jouent ailleurs.",
    ), (
        "Un espace public où chacun peut s'asseoir, c'est le mieux vivre ensemble.",
        "Quinze habitants, le club des anciens et l'école Michel-Servet.",
        "Une place rendue à ceux qui y vivent, plus fraîche l'été.",
    ))  # fmt: skip
    start = today - timedelta(days=330)
    target_on = today + timedelta(days=30)
    benches, trees = await j.objectives(cause_id, "julien", [
        (ObjectiveText("short", "Une place où l'on s'arrête",
                       "Des bancs à l'ombre, occupés les après-midi d'été."),
         [CriterionText(name="Bancs installés", kind="number", unit="bancs",
                        baseline=Decimal(0), baseline_on=start, target=Decimal(8),
                        target_on=target_on, source="Relevé sur place",
                        method="Compter les bancs en place, chaque mois"),
          CriterionText(name="Arbres plantés", kind="number", unit="arbres",
                        baseline=Decimal(2), baseline_on=start, target=Decimal(10),
                        target_on=target_on, source="Relevé sur place")]),
    ])  # fmt: skip
    chantier = await j.scenario(cause_id, "julien", ScenarioText(
        title="Un chantier participatif",
        summary="Construire les bancs ensemble et obtenir de la mairie les arbres.",
        assumptions="La mairie fournit le bois et plante les arbres.",
        risks="Le bois arrive en retard.",
        actions=[
            ActionIn(what="Atelier de construction des bancs", who_user=j.ids["julien"],
                     due_on=today - timedelta(days=120), cost=Decimal(600),
                     criteria=[benches]),
            ActionIn(what="Pétition pour des arbres", who_user=j.ids["ines"],
                     due_on=today - timedelta(days=200), criteria=[trees]),
            ActionIn(what="Rencontre avec la mairie du 4e", who_user=j.ids["sophie"],
                     due_on=today - timedelta(days=150), criteria=[trees]),
            ActionIn(what="Fête d'inauguration des bancs", who_user=j.ids["pierre"],
                     due_on=today + timedelta(days=20)),
        ],
    ))  # fmt: skip
    pid = await j.open_choice(cause_id)
    await j.step(pid, j.facilitator, rules.Advance(frozenset()))
    for user_id in await j.listed(pid):
        await j.step(pid, j.by_id(user_id), rules.Nominate(chantier, "Le seul écrit, et bon."))
    await j.step(pid, j.facilitator, rules.Reveal(datetime.now(UTC)))
    await j.step(pid, j.facilitator, rules.ProposeHolder(
        chantier, "Tout le monde le préfère : il fait participer le quartier."))  # fmt: skip
    await j.consent_all(pid)
    items = await j.conn.fetch(
        "SELECT id, owner_user FROM action_items WHERE cause_id = $1 ORDER BY position", cause_id
    )
    progress: tuple[tuple[acting.Status, str], ...] = (
        ("done", "Huit bancs construits en deux samedis."),
        ("done", "312 signatures remises au maire."),
        ("done", "Compte rendu de la rencontre envoyé aux habitants."),
        ("doing", ""),
    )
    async with j.conn.transaction():
        for item, (status, evidence) in zip(items, progress, strict=True):
            await acting.update(j.conn, j.space.id, cause_id, item["id"], j.facilitator,
                                acting.Change(status, evidence))  # fmt: skip
    for months_ago, placed, planted in ((9, 0, 2), (6, 3, 2), (4, 5, 6), (2, 7, 9), (0, 8, 9)):
        on = today - timedelta(days=30 * months_ago)
        await j.measure(cause_id, benches, "julien", on, placed, "Relevé sur place")
        await j.measure(cause_id, trees, "ines", on, planted, "Relevé sur place")
    async with j.conn.transaction():
        evaluation = await propose_interpretation(j.conn, j.space, j.actor("julien"), cause_id,
                                                  InterpretationForm(
            conclusions="Les huit bancs sont là et la place revit les après-midi. Il manque"
                        " un arbre : la mairie en plantera un à l'automne.",
            changes="Nous suivons la plantation du dernier arbre, puis nous célébrons.",
        ))  # fmt: skip
    await j.adopt(evaluation, j.actor("julien"))
