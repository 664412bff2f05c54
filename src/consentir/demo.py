"""Demo data: the citizen movement "Victoires Populaires", its board and two local collectives.

Idempotent: run it again and it changes nothing, and prints the same sign-in details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from consentir import db
from consentir.accounts import store as accounts
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.credentials import hash_password
from consentir.meetings import store as meetings
from consentir.spaces import store as spaces
from consentir.spaces.rules import Role
from consentir.spaces.store import Signature

DEMO_PASSWORD = "demo-consentir"  # noqa: S105 - printed for people trying the demo


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    town: str


PEOPLE = [
    Person("camille", "Camille Moreau", "Lyon"),
    Person("karim", "Karim Benali", "Villeurbanne"),
    Person("lea", "Léa Fontaine", "Lyon"),
    Person("thomas", "Thomas Girard", "Vénissieux"),
    Person("aicha", "Aïcha Diallo", "Villeurbanne"),
    Person("julien", "Julien Roche", "Lyon"),
    Person("ines", "Inès Laurent", "Bron"),
    Person("marc", "Marc Petit", "Villeurbanne"),
    Person("sophie", "Sophie Nguyen", "Lyon"),
    Person("hugo", "Hugo Lambert", "Caluire-et-Cuire"),
    Person("nadia", "Nadia Haddad", "Vaulx-en-Velin"),
    Person("pierre", "Pierre Dubois", "Lyon"),
]

CHARTER = """# Charte de coopération de Victoires Populaires

1. **Raison d'être.** Nous agissons ensemble pour la justice sociale et une vie locale où chacun
   a sa place.
2. **Décider par consentement.** Une proposition est adoptée quand personne n'a d'objection
   raisonnée : elle est « assez bonne pour maintenant, assez sûre pour essayer ».
3. **Écoute.** Chacun parle à son tour, on écoute sans interrompre, on cherche à comprendre.
4. **Mandats.** Les rôles sont confiés par élection sans candidat, pour une durée définie,
   et rendent compte au cercle qui les a confiés.
5. **Transparence.** Nos décisions et nos mandats sont consignés et consultables par les membres.
"""

# (slug, name, kind, prefix, parent slug, description, members: key → role)
SPACES = [
    (
        "victoires-populaires",
        "Victoires Populaires",
        "collective",
        "VP",
        None,
        "Mouvement citoyen de la métropole lyonnaise : justice sociale, mobilité, vie locale.",
        {p.key: Role.MEMBER for p in PEOPLE}
        | {"camille": Role.ADMIN, "karim": Role.FACILITATOR, "lea": Role.FACILITATOR},
    ),
    (
        "conseil-administration",
        "Conseil d'Administration",
        "governance",
        "CA",
        "victoires-populaires",
        "Le cercle qui confie les mandats et veille à la raison d'être du mouvement.",
        {"camille": Role.ADMIN, "karim": Role.FACILITATOR, "lea": Role.MEMBER,
         "thomas": Role.MEMBER, "aicha": Role.MEMBER},
    ),
    (
        "mobilite-villeurbanne",
        "Mobilité douce à Villeurbanne",
        "collective",
        "MOB",
        "victoires-populaires",
        "Des pistes cyclables continues et des trottoirs praticables autour des écoles.",
        {"karim": Role.ADMIN, "aicha": Role.FACILITATOR, "marc": Role.MEMBER,
         "nadia": Role.MEMBER, "hugo": Role.MEMBER},
    ),
    (
        "vie-locale-croix-rousse",
        "Vie locale à la Croix-Rousse",
        "collective",
        "VL",
        "victoires-populaires",
        "Une maison de quartier ouverte à tous et des fêtes de rue chaque saison.",
        {"lea": Role.ADMIN, "sophie": Role.FACILITATOR, "julien": Role.MEMBER,
         "pierre": Role.MEMBER, "ines": Role.MEMBER},
    ),
]  # fmt: skip


def email_of(person: Person) -> str:
    return f"{person.key}@demo.consentir.org"


async def load(pool: db.Pool) -> list[tuple[str, str, str]]:
    """Create the demo if it is not there; returns (name, email, role summary) per person."""
    async with db.transaction(pool) as conn:
        if await conn.fetchval("SELECT 1 FROM spaces WHERE slug = $1", SPACES[0][0]) is None:
            await _create(conn)
    return [(p.name, email_of(p), _roles(p.key)) for p in PEOPLE]


async def _create(conn: db.Connection) -> None:
    password_hash = await hash_password(DEMO_PASSWORD)
    users = {}
    for person in PEOPLE:
        users[person.key] = await accounts.create_user(
            conn,
            email=email_of(person),
            name=person.name,
            password_hash=password_hash,
            instance_admin=person.key == "camille",
            confirmed=True,
        )
    created: dict[str, spaces.Space] = {}
    for slug, name, kind, prefix, parent, description, roles in SPACES:
        admin = next(key for key, role in roles.items() if role is Role.ADMIN)
        space = await spaces.create_space(
            conn,
            actor_id=users[admin].id,
            name=name,
            slug=slug,
            kind=kind,  # type: ignore[arg-type]
            description=description,
            decision_prefix=prefix,
            parent_id=created[parent].id if parent else None,
        )
        created[slug] = space
        charter_id = None
        if parent is None:
            await spaces.publish_charter(
                conn, space.id, CHARTER, "Première version", expected=0,
                actor_id=users[admin].id,
            )  # fmt: skip
            charter_id = await spaces.current_charter_id(conn, space.id)
        for key, role in roles.items():
            if key != admin:
                await conn.execute(
                    "INSERT INTO memberships (space_id, user_id, role) VALUES ($1, $2, $3)",
                    space.id,
                    users[key].id,
                    role.value,
                )
            if charter_id is not None:
                person = next(p for p in PEOPLE if p.key == key)
                await spaces.sign_charter(
                    conn, space.id, charter_id, users[key].id,
                    Signature(person.name, person.town, date(2026, 9, 12)),
                )  # fmt: skip
    await _proposals(conn, created, {key: user.id for key, user in users.items()})


async def _proposals(
    conn: db.Connection, created: dict[str, spaces.Space], ids: dict[str, int]
) -> None:
    """Proposals at several stages, through the real process: one adopted after an objection
    was integrated, one in its objection round, one in clarification, one draft; and a
    planned meeting of the board to run the one in its objection round live."""
    board = created["conseil-administration"]

    def who(key: str, facilitates: bool = False) -> rules.Actor:
        return rules.Actor(ids[key], may_participate=True, may_facilitate=facilitates)

    camille, karim, lea, thomas, aicha = (
        who("camille", True), who("karim", True), who("lea"), who("thomas"), who("aicha")
    )  # fmt: skip

    async def step(space: spaces.Space, pid: int, actor: rules.Actor, action: rules.Action,
                   content: proposals.Content | None = None) -> None:  # fmt: skip
        async with conn.transaction():
            await proposals.act(conn, space, pid, actor, action, content)

    meeting = await proposals.create(conn, board, lea, proposals.Content(
        title="Une réunion mensuelle du conseil",
        driver="Nos décisions traînent d'un mois sur l'autre faute de rendez-vous fixe.",
        body="Le conseil se réunit **le premier lundi de chaque mois**, de 19 h à 21 h, "
             "à la maison des associations.",
    ))  # fmt: skip
    nobody: frozenset[int] = frozenset()
    await step(board, meeting, lea, rules.Submit(nobody))
    await step(board, meeting, thomas, rules.AskQuestion(),
               proposals.Content(text="Peut-on suivre la réunion à distance ?"))  # fmt: skip
    question = await conn.fetchval("SELECT id FROM questions WHERE proposal_id = $1", meeting)
    answer = "Oui, un lien de visio sera envoyé avec l'ordre du jour."
    await step(board, meeting, lea, rules.AnswerQuestion(question), proposals.Content(text=answer))
    await step(board, meeting, karim, rules.Advance(nobody))
    await step(board, meeting, aicha, rules.React(),
               proposals.Content(text="Très bien, un rythme fixe nous aidera."))  # fmt: skip
    await step(board, meeting, thomas, rules.React(passed=True))
    await step(board, meeting, karim, rules.Advance(nobody))
    for actor, stance, reason in (
        (camille, rules.Stance.CONSENT, ""),
        (karim, rules.Stance.CONCERN, "Deux heures, c'est long après le travail."),
        (aicha, rules.Stance.CONSENT, ""),
        (thomas, rules.Stance.OBJECTION, "Je travaille le lundi soir : je serais exclu."),
    ):
        await step(board, meeting, actor, rules.GivePosition(actor.user_id, stance, 1, reason))
    objection = await conn.fetchval("SELECT id FROM objections WHERE proposal_id = $1", meeting)
    await step(board, meeting, karim, rules.JudgeObjection(
        objection, True, "Elle empêcherait un membre du conseil de participer."))  # fmt: skip
    await step(board, meeting, karim, rules.CloseRound(datetime.now(UTC)))
    await step(board, meeting, lea, rules.PublishVersion(frozenset({objection})), proposals.Content(
        driver="Nos décisions traînent d'un mois sur l'autre faute de rendez-vous fixe.",
        body="Le conseil se réunit **le premier mardi de chaque mois**, de 19 h à 21 h, "
             "à la maison des associations.",
        note="Le mardi plutôt que le lundi, pour que Thomas puisse venir.",
    ))  # fmt: skip
    await step(board, meeting, karim, rules.OpenObjectRound(nobody))
    for actor in (camille, karim, aicha, thomas):
        await step(board, meeting, actor,
                   rules.GivePosition(actor.user_id, rules.Stance.CONSENT, 2))  # fmt: skip
    await step(board, meeting, karim, rules.CloseRound(datetime.now(UTC)))

    budget = await proposals.create(conn, board, thomas, proposals.Content(
        title="Un budget participatif pour 2027",
        driver="Les collectifs locaux manquent de moyens pour leurs actions.",
        body="Réserver 30 % du budget 2027 aux projets proposés par les collectifs locaux, "
             "attribués par consentement en assemblée.",
    ))  # fmt: skip
    await step(board, budget, thomas, rules.Submit(nobody))
    await step(board, budget, karim, rules.Advance(nobody))
    await step(board, budget, karim, rules.Advance(nobody))
    await step(board, budget, camille, rules.GivePosition(ids["camille"], rules.Stance.CONSENT, 1))
    await step(board, budget, lea, rules.GivePosition(ids["lea"], rules.Stance.CONSENT, 1))

    mobility = created["mobilite-villeurbanne"]
    await proposals.create(conn, mobility, who("marc"), proposals.Content(
        title="Une vélorution par trimestre",
        driver="Rendre visible le besoin de pistes cyclables continues.",
        body="Organiser une balade à vélo festive chaque trimestre, au départ de la mairie.",
    ))  # fmt: skip
    schools = await proposals.create(conn, mobility, who("nadia"), proposals.Content(
        title="Des rues aux écoles",
        driver="Les abords des écoles sont dangereux aux heures d'entrée et de sortie.",
        body="Demander à la mairie de fermer à la circulation la rue de chaque école "
             "aux heures d'entrée et de sortie.",
    ))  # fmt: skip
    await step(mobility, schools, who("nadia"), rules.Submit(nobody))

    # A meeting to run live: the board's next one, with the budget on its agenda.
    when = datetime.now(UTC).replace(hour=17, minute=0, second=0, microsecond=0)
    await meetings.create(conn, board.id, ids["karim"], meetings.Plan(
        "Conseil de décembre", when + timedelta(days=7), 120, "Maison des associations", "",
        ids["karim"], ids["lea"],
        [meetings.NewItem("proposal", "Un budget participatif pour 2027", budget),
         meetings.NewItem("information", "Nouvelles des collectifs locaux")],
    ))  # fmt: skip


def _roles(key: str) -> str:
    names = {Role.ADMIN: "admin", Role.FACILITATOR: "facilitateur·rice", Role.MEMBER: "membre"}
    return ", ".join(f"{slug}: {names[roles[key]]}" for slug, *_, roles in SPACES if key in roles)
