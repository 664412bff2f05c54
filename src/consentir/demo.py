"""Demo data: the citizen movement "Victoires Populaires", its board and two local collectives.

Everything is made through the store functions people's actions go through (charters
published and signed, proposals brought to each stage of the process step by step), so the
journal tells the demo's story like any other. Idempotent: run it again and it changes
nothing, and prints the same sign-in details (`consentir demo --reset` starts it afresh).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from babel.dates import format_date

from consentir import db, demo_causes
from consentir.accounts import store as accounts
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.credentials import hash_password
from consentir.decisions.store import add_months
from consentir.elections.store import Described
from consentir.mandates import store as mandates
from consentir.mandates.rules import Term, term_of
from consentir.mandates.store import RoleText
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

BOARD_CHARTER = """# Charte du Conseil d'Administration

1. **Mandat.** Le conseil veille à la raison d'être de Victoires Populaires, confie les mandats
   et rend compte à l'assemblée des membres.
2. **Consentement.** Le conseil décide par consentement, en réunion ou en ligne ; toute objection
   raisonnée est examinée avant de conclure.
3. **Présence.** Chaque membre du conseil vient aux réunions mensuelles ou s'excuse à l'avance.
4. **Transparence.** Ordres du jour, comptes rendus et décisions sont publiés aux membres du
   mouvement dans les huit jours.
5. **Discrétion.** Ce qui est dit au conseil sur la situation personnelle de quelqu'un reste
   au conseil.
"""

# The spaces with a charter: its text, the note of its first version, and the day every
# member of the space signed it.
CHARTERS = {
    "victoires-populaires": (CHARTER, "Première version", date(2026, 9, 12)),
    "conseil-administration": (BOARD_CHARTER, "Adoptée à l'installation du conseil",
                               date(2026, 9, 19)),
}  # fmt: skip

# Spaces that have a colour of their own (the others keep the site's).
COLOURS = {"mobilite-villeurbanne": "#1f4e8c"}

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


# Where the demo shows each stage of the process: (space, proposal's current title).
# An election in the board's space, at the nominations (sealed).
ELECTION_TITLE = "Élection : Référent·e charte (siège 2)"

STAGES_SHOWN = {
    rules.Stage.DRAFT: ("mobilite-villeurbanne", "Une vélorution par trimestre"),
    rules.Stage.CLARIFY: ("mobilite-villeurbanne", "Des rues aux écoles"),
    rules.Stage.REACT: ("vie-locale-croix-rousse", "Une fête de rue pour le printemps"),
    rules.Stage.OBJECT: ("conseil-administration", "Un budget participatif pour 2027"),
    rules.Stage.INTEGRATE: ("vie-locale-croix-rousse", "Ouvrir la maison de quartier le dimanche"),
    rules.Stage.ADOPTED: ("conseil-administration", "Un conseil mensuel le premier mardi"),
    rules.Stage.WITHDRAWN: ("mobilite-villeurbanne", "Un parking vélo sécurisé à la gare"),
    rules.Stage.REJECTED: ("victoires-populaires", "Présenter une liste aux élections municipales"),
}


# The board's roles. Présidence, trésorerie and secrétariat existed before Consentir: an
# administrator records them as such (no decision here created them); the board creates
# référent·e charte by consent (`ROLE_PROPOSAL`), and its decision is the role's version 1.
PRESIDENCE = RoleText(
    name="Présidence",
    purpose="Représenter Victoires Populaires et veiller à ce que le conseil serve sa raison "
            "d'être.",
    domain="La représentation du mouvement auprès des partenaires, des élus et de la presse ; "
           "la signature des engagements décidés par le conseil.",
    accountabilities=[
        "Représenter le mouvement auprès des partenaires, des élus et de la presse.",
        "Signer les conventions et engagements décidés par le conseil.",
        "Préparer l'ordre du jour du conseil avec la personne qui facilite.",
        "Présenter le rapport moral à l'assemblée générale.",
    ],
    seats=1,
    term_months=24,
    consecutive_terms=2,
    eligibility="Être membre du conseil depuis un an au moins ; deux mandats consécutifs "
                "au plus.",
)  # fmt: skip
TRESORERIE = RoleText(
    name="Trésorerie",
    purpose="Tenir les finances du mouvement saines, lisibles et connues de ses membres.",
    domain="Les comptes bancaires, la comptabilité et les dépenses courantes prévues au "
           "budget voté.",
    accountabilities=[
        "Tenir la comptabilité et conserver les justificatifs.",
        "Engager les dépenses prévues au budget ; au-delà de 500 €, avec l'accord du conseil.",
        "Présenter l'état des comptes au conseil chaque trimestre.",
        "Préparer le budget annuel et le rapport financier de l'assemblée générale.",
    ],
    seats=1,
    term_months=24,
    eligibility="Être membre du conseil ; ne pas tenir en même temps la présidence.",
)  # fmt: skip
SECRETARIAT = RoleText(
    name="Secrétariat",
    purpose="Garder la mémoire du conseil et faire circuler l'information vers les membres.",
    domain="Les convocations, les comptes rendus et les archives du conseil.",
    accountabilities=[
        "Envoyer la convocation et l'ordre du jour une semaine avant chaque conseil.",
        "Rédiger le compte rendu de chaque réunion et le publier aux membres dans les huit "
        "jours.",
        "Tenir à jour la liste des membres et les archives du mouvement.",
    ],
    seats=1,
    term_months=24,
    eligibility="Être membre du conseil.",
)  # fmt: skip
REFERENT_CHARTE = RoleText(
    name="Référent·e charte",
    purpose="Être la personne vers qui se tourner quand la charte de coopération n'est pas "
            "respectée : écouter ce qui s'est passé, puis proposer à la personne concernée "
            "un entretien avec un membre du conseil, pour comprendre et convenir ensemble "
            "de la suite.",
    domain="Le recueil des signalements de manquement à la charte et l'organisation des "
           "entretiens qui en découlent.",
    accountabilities=[
        "Recevoir les signalements de manquement à la charte, avec discrétion.",
        "Proposer à la personne concernée un entretien avec un membre du conseil dans les "
        "quinze jours.",
        "Consigner la suite convenue, sans détail personnel, et en informer le conseil.",
        "Présenter la charte aux nouveaux membres du mouvement.",
    ],
    seats=2,
    term_months=12,
    eligibility="Être membre du mouvement et avoir signé sa charte ; ne pas traiter un "
                "signalement qui vous concerne.",
)  # fmt: skip
PREEXISTING_ROLES = [PRESIDENCE, TRESORERIE, SECRETARIAT]
ROLE_PROPOSAL = "Créer le rôle de référent·e charte"
TREASURY_LAST_DAY = 19  # the treasurer's term ends this many days after the demo is loaded


def mandates_title(year: int) -> str:
    """The board's proposal whose decision grants its mandates, named for its year."""
    return f"Mandats du conseil {year}"


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
        if slug in COLOURS:  # a space's own colour (issue 13 §5), as its settings set it
            space = await spaces.update_brand(
                conn, space, spaces.Brand(COLOURS[slug]),
                expected_version=space.version, actor_id=users[admin].id,
            )  # fmt: skip
        created[slug] = space
        charter_id = None
        if slug in CHARTERS:
            body, note, signed_on = CHARTERS[slug]
            await spaces.publish_charter(
                conn, space.id, body, note, expected=0, actor_id=users[admin].id
            )
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
                    Signature(person.name, person.town, signed_on),
                )  # fmt: skip
    await _proposals(conn, created, {key: user.id for key, user in users.items()})
    await demo_causes.load(conn, created, {key: user.id for key, user in users.items()})


async def _proposals(
    conn: db.Connection, created: dict[str, spaces.Space], ids: dict[str, int]
) -> None:
    """A proposal at every stage of the process, each brought there by its people through the
    real steps (`STAGES_SHOWN` says where each one is), and a planned meeting of the board to
    run the one in its objection round live."""

    def who(key: str, facilitates: bool = False) -> rules.Actor:
        return rules.Actor(ids[key], may_participate=True, may_facilitate=facilitates)

    async def step(space: spaces.Space, pid: int, actor: rules.Actor, action: rules.Action,
                   content: proposals.Content | None = None) -> None:  # fmt: skip
        """One step, as a form would send it: a step that moves the process names the
        revision it was decided on."""
        if isinstance(action, rules.MOVING_ACTIONS):
            seen = await conn.fetchval("SELECT revision FROM proposals WHERE id = $1", pid)
            action = replace(action, seen=seen)
        async with conn.transaction():
            await proposals.act(conn, space, pid, actor, action, content)

    async def position(space: spaces.Space, pid: int, actor: rules.Actor,
                       stance: rules.Stance, version: int, reason: str = "") -> None:  # fmt: skip
        await step(space, pid, actor, rules.GivePosition(actor.user_id, stance, version, reason))

    async def last_objection(pid: int) -> int:
        return int(await conn.fetchval(
            "SELECT max(id) FROM objections WHERE proposal_id = $1", pid))  # fmt: skip

    async def last_question(pid: int) -> int:
        return int(await conn.fetchval(
            "SELECT max(id) FROM questions WHERE proposal_id = $1", pid))  # fmt: skip

    nobody: frozenset[int] = frozenset()  # the store fills in who takes part
    consent, concern, objection = rules.Stance.CONSENT, rules.Stance.CONCERN, rules.Stance.OBJECTION

    # --- Conseil d'Administration: adopted after an objection was integrated (version 2,
    # with a new title); in its objection round, on the agenda of the next meeting.
    board = created["conseil-administration"]
    camille, karim, lea, thomas, aicha = (
        who("camille", True), who("karim", True), who("lea"), who("thomas"), who("aicha")
    )  # fmt: skip
    meeting = await proposals.create(conn, board, lea, proposals.Content(
        title="Une réunion mensuelle du conseil",
        driver="Nos décisions traînent d'un mois sur l'autre faute de rendez-vous fixe.",
        body="Le conseil se réunit **le premier lundi de chaque mois**, de 19 h à 21 h, "
             "à la maison des associations.",
    ))  # fmt: skip
    await step(board, meeting, lea, rules.Submit(nobody))
    await step(board, meeting, thomas, rules.AskQuestion(),
               proposals.Content(text="Peut-on suivre la réunion à distance ?"))  # fmt: skip
    answer = "Oui, un lien de visio sera envoyé avec l'ordre du jour."
    await step(board, meeting, lea, rules.AnswerQuestion(await last_question(meeting)),
               proposals.Content(text=answer))  # fmt: skip
    await step(board, meeting, karim, rules.Advance(nobody))
    await step(board, meeting, aicha, rules.React(),
               proposals.Content(text="Très bien, un rythme fixe nous aidera."))  # fmt: skip
    await step(board, meeting, thomas, rules.React(passed=True))
    await step(board, meeting, karim, rules.Advance(nobody))
    await position(board, meeting, camille, consent, 1)
    await position(board, meeting, karim, concern, 1, "Deux heures, c'est long après le travail.")
    await position(board, meeting, aicha, consent, 1)
    await position(board, meeting, thomas, objection, 1,
                   "Je travaille le lundi soir : je serais exclu.")  # fmt: skip
    mondays = await last_objection(meeting)
    await step(board, meeting, karim, rules.JudgeObjection(
        mondays, True, "Elle empêcherait un membre du conseil de participer."))  # fmt: skip
    await step(board, meeting, karim, rules.CloseRound(datetime.now(UTC)))
    await step(board, meeting, lea, rules.PublishVersion(frozenset({mondays})), proposals.Content(
        title="Un conseil mensuel le premier mardi",
        driver="Nos décisions traînent d'un mois sur l'autre faute de rendez-vous fixe.",
        body="Le conseil se réunit **le premier mardi de chaque mois**, de 19 h à 21 h, "
             "à la maison des associations.",
        note="Le mardi plutôt que le lundi, pour que Thomas puisse venir.",
    ))  # fmt: skip
    await step(board, meeting, karim, rules.OpenObjectRound(nobody))
    for actor in (camille, karim, aicha, thomas):
        await position(board, meeting, actor, consent, 2)
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
    await position(board, budget, camille, consent, 1)
    await position(board, budget, lea, consent, 1)

    # --- Mobilité douce à Villeurbanne: a draft; one in clarification with a question
    # waiting for its answer; one withdrawn by its proposer.
    mobility = created["mobilite-villeurbanne"]
    karim_mob, aicha_mob, marc, nadia, hugo = (
        who("karim", True), who("aicha", True), who("marc"), who("nadia"), who("hugo")
    )  # fmt: skip
    await proposals.create(conn, mobility, marc, proposals.Content(
        title="Une vélorution par trimestre",
        driver="Rendre visible le besoin de pistes cyclables continues.",
        body="Organiser une balade à vélo festive chaque trimestre, au départ de la mairie.",
    ))  # fmt: skip
    schools = await proposals.create(conn, mobility, nadia, proposals.Content(
        title="Des rues aux écoles",
        driver="Les abords des écoles sont dangereux aux heures d'entrée et de sortie.",
        body="Demander à la mairie de fermer à la circulation la rue de chaque école "
             "aux heures d'entrée et de sortie.",
    ))  # fmt: skip
    await step(mobility, schools, nadia, rules.Submit(nobody))
    await step(mobility, schools, hugo, rules.AskQuestion(), proposals.Content(
        text="Faut-il commencer par une école pilote avant de le demander partout ?"))  # fmt: skip

    parking = await proposals.create(conn, mobility, hugo, proposals.Content(
        title="Un parking vélo sécurisé à la gare",
        driver="Les vélos garés à la gare de Villeurbanne sont souvent volés ou abîmés.",
        body="Demander à la Métropole un abri fermé de 100 places, accessible avec la carte "
             "de transport.",
    ))  # fmt: skip
    await step(mobility, parking, hugo, rules.Submit(nobody))
    cost = "Qui paierait l'abri : la Métropole ou la SNCF ?"
    await step(mobility, parking, marc, rules.AskQuestion(), proposals.Content(text=cost))
    await step(mobility, parking, hugo, rules.AnswerQuestion(await last_question(parking)),
               proposals.Content(text="La Métropole, dans son plan vélo."))  # fmt: skip
    await step(mobility, parking, aicha_mob, rules.Advance(nobody))
    await step(mobility, parking, karim_mob, rules.React(), proposals.Content(
        text="La Métropole vient d'annoncer cet abri pour 2027 : notre demande est satisfaite."
    ))  # fmt: skip
    await step(mobility, parking, hugo, rules.Withdraw())

    # --- Vie locale à la Croix-Rousse: one in its reaction round; one waiting for its
    # proposer's version 2 after an objection was judged valid.
    local = created["vie-locale-croix-rousse"]
    lea_vl, sophie, julien, pierre, ines = (
        who("lea", True), who("sophie", True), who("julien"), who("pierre"), who("ines")
    )  # fmt: skip
    party = await proposals.create(conn, local, pierre, proposals.Content(
        title="Une fête de rue pour le printemps",
        driver="Les voisins de la montée de la Grande-Côte se croisent sans se connaître.",
        body="Organiser une fête de rue le premier samedi de mai : repas partagé, musique, "
             "jeux pour les enfants.",
    ))  # fmt: skip
    await step(local, party, pierre, rules.Submit(nobody))
    await step(local, party, ines, rules.AskQuestion(),
               proposals.Content(text="Faut-il une autorisation de la mairie ?"))  # fmt: skip
    await step(local, party, pierre, rules.AnswerQuestion(await last_question(party)),
               proposals.Content(text="Oui, une demande d'occupation de la voie, "
                                      "à déposer deux mois avant."))  # fmt: skip
    await step(local, party, lea_vl, rules.Advance(nobody))
    await step(local, party, julien, rules.React(),
               proposals.Content(text="Bonne idée ; je peux prêter une sono."))  # fmt: skip

    sundays = await proposals.create(conn, local, julien, proposals.Content(
        title="Ouvrir la maison de quartier le dimanche",
        driver="Le dimanche, les familles du quartier n'ont aucun lieu où se retrouver.",
        body="Ouvrir la maison de quartier **chaque dimanche de 14 h à 18 h**, avec un goûter "
             "partagé.",
    ))  # fmt: skip
    await step(local, sundays, julien, rules.Submit(nobody))
    await step(local, sundays, sophie, rules.Advance(nobody))
    await step(local, sundays, pierre, rules.React(),
               proposals.Content(text="Les enfants de l'immeuble en parlent déjà !"))  # fmt: skip
    await step(local, sundays, ines, rules.React(passed=True))
    await step(local, sundays, sophie, rules.Advance(nobody))
    await position(local, sundays, lea_vl, consent, 1)
    await position(local, sundays, sophie, consent, 1)
    await position(local, sundays, pierre, consent, 1)
    await position(local, sundays, ines, objection, 1,
                   "Personne n'est prévu pour l'accueil le dimanche : les bénévoles de la "
                   "semaine sont déjà épuisés.")  # fmt: skip
    await step(local, sundays, sophie, rules.JudgeObjection(
        await last_objection(sundays), True,
        "Ouvrir sans accueil mettrait le lieu et les bénévoles en difficulté."))  # fmt: skip
    await step(local, sundays, sophie, rules.CloseRound(datetime.now(UTC)))

    # --- Victoires Populaires: closed without consent during its objection round.
    movement = created["victoires-populaires"]
    elections = await proposals.create(conn, movement, pierre, proposals.Content(
        title="Présenter une liste aux élections municipales",
        driver="Nos idées pèseraient davantage au conseil municipal.",
        body="Le mouvement présente sa propre liste aux prochaines élections municipales.",
    ))  # fmt: skip
    await step(movement, elections, pierre, rules.Submit(nobody))
    await step(movement, elections, karim, rules.Advance(nobody))
    await step(movement, elections, who("sophie"), rules.React(),
               proposals.Content(text="Cela nous donnerait de la visibilité."))  # fmt: skip
    await step(movement, elections, karim, rules.Advance(nobody))
    await position(movement, elections, who("nadia"), consent, 1)
    await position(movement, elections, who("julien"), objection, 1,
                   "Le mouvement perdrait son indépendance : nous interpellons tous les "
                   "élus.")  # fmt: skip
    await step(movement, elections, karim, rules.JudgeObjection(
        await last_objection(elections), True,
        "L'indépendance vis-à-vis des élections est dans notre raison d'être."))  # fmt: skip
    await step(movement, elections, karim, rules.CloseWithoutConsent(
        "L'objection touche à notre raison d'être et aucune version ne peut y répondre : "
        "le mouvement ne présentera pas de liste."))  # fmt: skip

    # A meeting to run live: the board's next one, with the budget on its agenda.
    when = datetime.now(UTC).replace(hour=17, minute=0, second=0, microsecond=0)
    await meetings.create(conn, board.id, ids["karim"], meetings.Plan(
        "Conseil de décembre", when + timedelta(days=7), 120, "Maison des associations", "",
        ids["karim"], ids["lea"],
        [meetings.NewItem("proposal", "Un budget participatif pour 2027", budget),
         meetings.NewItem("information", "Nouvelles des collectifs locaux")],
    ))  # fmt: skip

    await _board_roles(conn, board, ids, who, step)


_Who = Callable[..., rules.Actor]
_Step = Callable[..., Awaitable[None]]


def _day(value: date) -> str:
    """A day as French writes it: « 1er mars 2027 », « 24 décembre 2026 »."""
    text = format_date(value, format="long", locale="fr")
    return "1er" + text[1:] if value.day == 1 else text


async def _board_roles(
    conn: db.Connection, board: spaces.Space, ids: dict[str, int], who: _Who, step: _Step
) -> None:
    """The board's roles, and its mandates granted by a decision: présidence, trésorerie and
    secrétariat recorded as pre-existing, référent·e charte created by consent; then the
    proposal "Mandats du conseil <year>", adopted by consent, whose decision grants the
    seats. Dates count from today: the treasurer's term ends within three weeks, and a former
    secretary resigned six weeks ago."""
    nobody: frozenset[int] = frozenset()  # the store fills in who takes part
    camille, karim, lea, thomas, aicha = (
        who("camille", True), who("karim", True), who("lea"), who("thomas"), who("aicha")
    )  # fmt: skip

    async def adopt(pid: int, facilitator: rules.Actor, voters: list[rules.Actor]) -> int:
        """Through the react and objection rounds, everyone consenting; the decision's id."""
        await step(board, pid, facilitator, rules.Advance(nobody))
        await step(board, pid, facilitator, rules.Advance(nobody))
        for voter in voters:
            await step(board, pid, voter, rules.GivePosition(
                voter.user_id, rules.Stance.CONSENT, 1))  # fmt: skip
        await step(board, pid, facilitator, rules.CloseRound(datetime.now(UTC)))
        return int(await conn.fetchval("SELECT id FROM decisions WHERE proposal_id = $1", pid))

    role_ids = {
        text.name: await mandates.record_preexisting_role(
            conn, board.id, text, actor_id=ids["camille"])
        for text in PREEXISTING_ROLES
    }  # fmt: skip

    referents = await proposals.create(conn, board, aicha, proposals.Content(
        title=ROLE_PROPOSAL,
        driver="Quand la charte n'est pas respectée, personne ne sait vers qui se tourner, "
               "et les tensions restent sans suite.",
        body="Créer le rôle de **référent·e charte**, à deux sièges, pour un an.",
        role=REFERENT_CHARTE,
    ))  # fmt: skip
    await step(board, referents, aicha, rules.Submit(nobody))
    await step(board, referents, thomas, rules.AskQuestion(),
               proposals.Content(text="Pourquoi deux sièges ?"))  # fmt: skip
    question = await conn.fetchval(
        "SELECT max(id) FROM questions WHERE proposal_id = $1", referents
    )
    await step(board, referents, aicha, rules.AnswerQuestion(question), proposals.Content(
        text="Pour que l'on puisse toujours s'adresser à quelqu'un d'autre si l'une des deux "
             "personnes est concernée."))  # fmt: skip
    await adopt(referents, karim, [camille, karim, lea, thomas])
    role_ids[REFERENT_CHARTE.name] = await conn.fetchval(
        "SELECT role_id FROM proposals WHERE id = $1", referents)  # fmt: skip

    # The terms: présidence and secrétariat since the assembly fourteen months ago; the
    # treasurer, elected at the one before, ends soon; Pierre Dubois left the secrétariat and
    # Aïcha Diallo holds it to the end of his term; Léa Fontaine takes a référent·e seat today.
    today = datetime.now(UTC).date()
    assembly = add_months(today.replace(day=1), -14)
    board_term = term_of(assembly, 24)
    treasury_end = today + timedelta(days=TREASURY_LAST_DAY + 1)
    treasury = Term(add_months(treasury_end, -24), treasury_end)
    resigned = today - timedelta(days=42)
    secretary = Term(resigned + timedelta(days=1), board_term.after_last)
    referent = term_of(today, REFERENT_CHARTE.term_months)
    grants = [  # (role, holder, term)
        (PRESIDENCE, "camille", board_term),
        (TRESORERIE, "thomas", treasury),
        (SECRETARIAT, "pierre", board_term),
        (SECRETARIAT, "aicha", secretary),
        (REFERENT_CHARTE, "lea", referent),
    ]

    def span(term: Term) -> str:
        return f"du {_day(term.first)} au {_day(term.last)}"

    granting = await proposals.create(conn, board, karim, proposals.Content(
        title=mandates_title(today.year),
        driver="Chaque membre doit pouvoir savoir qui tient les rôles du conseil, et jusqu'à "
               "quand.",
        body=f"Le conseil inscrit au registre les mandats de ses rôles :\n\n"
             f"- **Présidence** : Camille Moreau, {span(board_term)} ;\n"
             f"- **Trésorerie** : Thomas Girard, {span(treasury)} ;\n"
             f"- **Secrétariat** : Pierre Dubois, {span(Term(assembly, secretary.first))}, "
             f"date de sa démission ; puis Aïcha Diallo, {span(secretary)}, pour la fin de "
             f"ce mandat ;\n"
             f"- **Référent·e charte**, premier siège : Léa Fontaine, {span(referent)} ; "
             f"le second siège reste à pourvoir.",
    ))  # fmt: skip
    await step(board, granting, karim, rules.Submit(nobody))
    decision = await adopt(granting, camille, [camille, lea, thomas, aicha])
    for text, holder, term in grants:
        mandate = await mandates.grant(
            conn, board.id, role_ids[text.name], 1, ids[holder], term, decision_id=decision
        )
        if holder == "pierre":  # resigned, as he did that day
            await mandates.resign(conn, board.id, mandate, ids["pierre"], resigned, resigned)

    # The second référent·e seat is vacant: its election is at the nominations, sealed; two
    # of the board have nominated, the others have not yet.
    election = await proposals.create(conn, board, karim, proposals.Content(
        title=ELECTION_TITLE,
        driver="Le second siège de référent·e charte est vacant depuis la création du rôle.",
        body=f"Le rôle Référent·e charte, siège 2, {span(referent)}.",
    ), election=Described(role_ids[REFERENT_CHARTE.name], 2, referent))  # fmt: skip
    await step(board, election, karim, rules.Submit(nobody))
    await step(
        board,
        election,
        camille,
        rules.Nominate(
            ids["thomas"], "Thomas écoute sans juger, et il connaît la charte par cœur."
        ),
    )
    await step(
        board,
        election,
        aicha,
        rules.Nominate(
            ids["karim"], "Karim a déjà mené ce genre d'entretien à l'association de quartier."
        ),
    )


def _roles(key: str) -> str:
    names = {Role.ADMIN: "admin", Role.FACILITATOR: "facilitateur·rice", Role.MEMBER: "membre"}
    return ", ".join(f"{slug}: {names[roles[key]]}" for slug, *_, roles in SPACES if key in roles)
