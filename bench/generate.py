"""Build the benchmark database: a space of 60 signed members, one proposal carried through
the real consent process (3 versions, ~150 contributions, left open in an object round) and
a register of 100 000 decisions.

    .venv/bin/python bench/generate.py consentir_bench

The database is created fresh on DATABASE_URL's server (default
postgresql://postgres@127.0.0.1:5432/postgres); an existing one of that name is refused
unless --replace is given. The people, the space, its charter and the proposal go through
the app's own store functions (every journal event written); the 100 000 decisions and the
adopted proposals they come from are bulk-loaded with COPY and INSERT … SELECT (no journal
events for those). What to hit, and a session cookie, are printed and written to
bench/out/<name>.json, which bench/run.py reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg

from consentir import db, migrations
from consentir.accounts import store as accounts
from consentir.accounts.store import User
from consentir.consent import rules
from consentir.consent import store as proposals
from consentir.consent.rules import Actor, Stance
from consentir.consent.store import Content
from consentir.credentials import PASSWORD_HASHER
from consentir.decisions.search import fold, search_text
from consentir.decisions.store import add_months, number_of
from consentir.spaces import store as spaces
from consentir.spaces.rules import Role
from consentir.spaces.store import Signature, Space, SpaceSettings

DESCRIPTION = "Build the Consentir benchmark database."
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
OUT = Path(__file__).resolve().parent / "out"
PASSWORD = "bench-consentir-2026"
SLUG = "bench"
PREFIX = "BN"
NAME_RULE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

# The words the register search is measured with: COMMON is in about a quarter of the
# decisions, RARE in a handful.
COMMON_WORD = "réunion"
RARE_WORD = "apiculture"

FIRST_NAMES = (
    "Camille",
    "Louise",
    "Nadia",
    "Youssef",
    "Hélène",
    "Mathis",
    "Inès",
    "Théo",
    "Aïcha",
    "Baptiste",
    "Chloé",
    "Karim",
    "Léa",
    "Rémi",
    "Zoé",
    "Sékou",
    "Agathe",
    "Noé",
    "Maëlle",
    "Gaspard",
)
LAST_NAMES = (
    "Martin",
    "Bernard",
    "Nguyen",
    "Diallo",
    "Lefèvre",
    "Moreau",
    "Benali",
    "Roux",
    "Faure",
    "Girard",
    "Mercier",
    "Dupont",
)

# --- a small French vocabulary, for 100 000 decisions that read like decisions ------------

VERBS = (
    "Organiser",
    "Financer",
    "Créer",
    "Réviser",
    "Adopter",
    "Ouvrir",
    "Renouveler",
    "Soutenir",
    "Modifier",
    "Lancer",
    "Confier",
    "Suspendre",
    "Étendre",
    "Clarifier",
    "Mutualiser",
)
# (noun, determiner), the first ones far more frequent than the last ones (Zipf-like weights).
NOUNS = (
    ("réunion mensuelle", "la"),
    ("budget", "le"),
    ("cotisation", "la"),
    ("jardin partagé", "le"),
    ("atelier", "l'"),
    ("formation des bénévoles", "la"),
    ("local associatif", "le"),
    ("lettre d'information", "la"),
    ("permanence", "la"),
    ("trésorerie", "la"),
    ("fête de quartier", "la"),
    ("épicerie solidaire", "l'"),
    ("assemblée générale", "l'"),
    ("charte graphique", "la"),
    ("médiation", "la"),
    ("cantine", "la"),
    ("bibliothèque", "la"),
    ("compostage", "le"),
    ("covoiturage", "le"),
    ("ressourcerie", "la"),
    ("accueil des nouveaux", "l'"),
    ("site internet", "le"),
    ("calendrier", "le"),
    ("partenariat avec la mairie", "le"),
    ("festival d'été", "le"),
    ("marché paysan", "le"),
    ("prêt de matériel", "le"),
    ("assurance", "l'"),
    ("subvention régionale", "la"),
    ("coopérative énergétique", "la"),
)
NOUN_WEIGHTS = tuple(1.0 / (rank + 1) for rank in range(len(NOUNS)))
COMPLEMENTS = (
    "pour l'année à venir",
    "à titre d'essai",
    "jusqu'à la prochaine assemblée",
    "avec le collectif voisin",
    "dans le quartier nord",
    "pour six mois",
    "sans frais",
    "avec un budget plafonné",
    "en lien avec l'école",
    "pendant l'été",
)
DRIVERS = (
    "Les membres signalent que {a} ne répond plus aux besoins.",
    "Depuis la dernière assemblée, {a} pose problème à plusieurs collectifs.",
    "Personne ne sait qui décide de {a}, et cela ralentit tout.",
    "Le conseil a demandé une proposition sur {a} avant la fin du trimestre.",
    "Les bénévoles manquent de temps et {a} reste en suspens.",
)
SENTENCES = (
    "Nous proposons de confier {a} à un groupe de trois personnes, renouvelé chaque année.",
    "Un bilan aura lieu après trois mois pour décider de la suite.",
    "Le budget alloué à {a} ne dépassera pas {n} euros sans nouvelle décision.",
    "Les comptes rendus seront publiés sur {b} dans la semaine qui suit.",
    "Chaque membre peut demander la révision de cette décision à la prochaine assemblée.",
    "La permanence du samedi matin accueillera les questions sur {a}.",
    "{A} sera évalué avec les habitants du quartier et les partenaires.",
    "En cas de désaccord, une médiation est proposée avant tout vote.",
    "Les frais engagés pour {a} sont remboursés sur justificatif.",
    "Le collectif informe la mairie et les associations voisines de {a}.",
    "Une formation courte est organisée pour celles et ceux qui s'occupent de {b}.",
    "La décision s'applique dès son adoption et jusqu'à sa date de révision.",
)
# Words that appear in very few decisions (RARE_WORD among them).
RARE = (
    RARE_WORD,
    "xylophone",
    "kayak",
    "origami",
    "marionnettes",
    "astronomie",
    "calligraphie",
    "spéléologie",
    "herboristerie",
    "vannerie",
    "tricot",
    "ornithologie",
)


def _noun(rng: random.Random) -> tuple[str, str]:
    noun, det = rng.choices(NOUNS, NOUN_WEIGHTS)[0]
    return noun, (f"{det}{noun}" if det.endswith("'") else f"{det} {noun}")


def decision_text(rng: random.Random) -> tuple[str, str, list[str]]:
    """(title, driver, the body's sentences) of one made-up decision."""
    _, phrase = _noun(rng)
    title = f"{rng.choice(VERBS)} {phrase} {rng.choice(COMPLEMENTS)}"[:200]
    driver = rng.choice(DRIVERS).format(a=phrase)
    lines = []
    for template in rng.sample(SENTENCES, rng.randint(3, 5)):
        other = _noun(rng)[1]
        lines.append(
            template.format(
                a=phrase, A=phrase[0].upper() + phrase[1:], b=other, n=rng.randrange(50, 5000, 50)
            )
        )
    if rng.random() < 0.0015:  # ~150 decisions carry one of the rare words
        lines.append(f"Un atelier de {rng.choice(RARE)} est proposé aux enfants.")
    return title, driver, lines


_fold = lru_cache(maxsize=None)(fold)


def indexed_text(title: str, driver: str, sentences: list[str]) -> str:
    """search_text(title, driver, body) where body = " ".join(sentences), built from folded
    pieces (the texts repeat a lot; folding each of them whole would take ~20 s)."""
    body = " ".join(_fold(s) for s in sentences)
    return "\n".join((_fold(title), _fold(driver), body))


# --- the database --------------------------------------------------------------------------


def check_name(name: str) -> None:
    if not NAME_RULE.match(name) or name == "postgres" or name.startswith("template"):
        raise SystemExit(
            f"generate.py: refusing database name {name!r} (lower-case letters, digits and _; "
            "never postgres or template*)"
        )


async def recreate(server: str, name: str, *, replace: bool) -> str:
    conn = await db.connect(server)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and not replace:
            raise SystemExit(f"generate.py: database {name} exists; pass --replace to rebuild it")
        if exists:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return db.with_database(server, name)


async def drop(server: str, name: str) -> None:
    conn = await db.connect(server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def migrate(url: str) -> None:
    conn = await db.connect(url)
    try:
        await migrations.migrate(conn)
    finally:
        await conn.close()


async def people_and_space(pool: asyncpg.Pool, count: int) -> tuple[Space, list[User]]:
    """`count` people (one argon2 hash for all), a space they all belong to, its charter
    signed by everyone. users[0] administers the space, users[1] facilitates it."""
    password_hash = PASSWORD_HASHER.hash(PASSWORD)
    users: list[User] = []
    async with db.transaction(pool) as conn:
        for i in range(count):
            name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[i % len(LAST_NAMES)]}"
            users.append(
                await accounts.create_user(
                    conn,
                    email=f"p{i:03d}@bench.consentir.org",
                    name=f"{name} {i}",
                    password_hash=password_hash,
                    confirmed=True,
                )
            )
        space = await spaces.create_space(
            conn,
            actor_id=users[0].id,
            name="Collectif du banc d'essai",
            slug=SLUG,
            kind="collective",
            description="Le collectif où l'on mesure Consentir.",
            decision_prefix=PREFIX,
        )
        roles = [
            (space.id, u.id, (Role.FACILITATOR if i == 1 else Role.MEMBER).value)
            for i, u in enumerate(users)
            if i > 0
        ]
        await conn.executemany(
            "INSERT INTO memberships (space_id, user_id, role) VALUES ($1, $2, $3)", roles
        )
        await spaces.publish_charter(
            conn,
            space.id,
            "# Charte\n\nNous décidons par consentement.",
            "",
            expected=0,
            actor_id=users[0].id,
        )
        charter_id = await spaces.current_charter_id(conn, space.id)
        assert charter_id is not None
        for user in users:
            await spaces.sign_charter(
                conn,
                space.id,
                charter_id,
                user.id,
                Signature(user.name, "Lyon", date(2026, 1, 15)),
            )
        # Positions are shown while the round is open, so the page shows every contribution.
        changes = SpaceSettings(
            name=space.name,
            description=space.description,
            review_delay_months=space.review_delay_months,
            silence_is_consent=space.silence_is_consent,
            decision_prefix=space.decision_prefix,
            parent_members_included=space.parent_members_included,
            hide_positions=False,
        )
        space = await spaces.update_space(
            conn, space, changes, expected_version=space.version, actor_id=users[0].id
        )
    return space, users


PROPOSAL = Content(
    title="Ouvrir le local associatif le samedi",
    driver="Le local reste fermé le week-end alors que la moitié des membres ne peut venir "
    "qu'à ce moment-là.\n\nLes réunions du jeudi soir excluent les parents et ceux qui "
    "travaillent en horaires décalés.",
    body="## Ce que nous proposons\n\nOuvrir le **local associatif** chaque samedi de 10 h à "
    "13 h, à titre d'essai pendant six mois.\n\n- une permanence tenue à tour de rôle par deux "
    "bénévoles ;\n- un cahier de liaison pour les questions ;\n- un bilan en assemblée à la fin "
    "de l'essai.\n\nLe budget (chauffage, ménage) est plafonné à 600 euros.",
)


def _version(n: int) -> Content:
    hours = {2: "de 9 h 30 à 12 h 30", 3: "de 9 h 30 à 12 h 30, sauf en août"}[n]
    note = {2: "Horaires avancés pour le marché.", 3: "Fermeture en août, faute de bénévoles."}[n]
    return Content(
        driver=PROPOSAL.driver,
        body=PROPOSAL.body.replace("de 10 h à 13 h", hours),
        note=note,
    )


async def consent_process(pool: asyncpg.Pool, space: Space, users: list[User]) -> dict[str, Any]:
    """One proposal through the real process: 30 questions and their answers, 40 reactions,
    three object rounds (the text changes twice, restarting the round) with 20, 20 and 15
    positions, objections among them, some judged; left open in the third object round."""
    rng = random.Random(7)
    admin = Actor(users[0].id, may_participate=True, may_facilitate=True)
    facilitator = Actor(users[1].id, may_participate=True, may_facilitate=True)
    proposer = Actor(users[2].id, may_participate=True, may_facilitate=False)
    members = [Actor(u.id, True, False) for u in users[3:]]  # 57 people
    # "objections": how many of the positions were objections (each also has its row in
    # `objections`); the contributions are questions + answers + reactions + positions.
    counts = {"questions": 0, "answers": 0, "reactions": 0, "positions": 0, "objections": 0}

    async def act(actor: Actor, action: rules.Action, content: Content | None = None) -> None:
        async with db.transaction(pool) as conn:
            await proposals.act(conn, space, proposal_id, actor, action, content)

    async with db.transaction(pool) as conn:
        proposal_id = await proposals.create(conn, space, proposer, PROPOSAL)
    await act(proposer, rules.Submit(frozenset()))

    for i, who in enumerate(members[:30]):
        await act(
            who,
            rules.AskQuestion(),
            Content(
                text=f"Question {i + 1} : qui tient la "
                f"permanence si {rng.choice(('un bénévole', 'la trésorière', 'personne'))} "
                "est absent, et comment le saura-t-on ?"
            ),
        )
        counts["questions"] += 1
    async with pool.acquire() as conn:
        asked = await proposals.load(conn, space.id, proposal_id)
    for question in asked.state.questions:
        await act(
            proposer,
            rules.AnswerQuestion(question.id),
            Content(
                text="Le cahier de liaison et la liste de diffusion le diront "
                "la veille ; un binôme de réserve est prévu."
            ),
        )
        counts["answers"] += 1

    await act(facilitator, rules.Advance(frozenset()))
    for i, who in enumerate(members[10:50]):
        if i % 7 == 6:
            await act(who, rules.React(passed=True))
        else:
            await act(
                who,
                rules.React(),
                Content(
                    text=f"Réaction {i + 1} : bonne idée, mais "
                    "pensons au chauffage et aux clés du local."
                ),
            )
        counts["reactions"] += 1

    await act(facilitator, rules.Advance(frozenset()))
    plan = ((1, members[0:20], 3, 2), (2, members[20:40], 2, 1), (3, members[37:52], 2, 0))
    for version, people, objecting, judged in plan:
        if version > 1:
            await act(proposer, rules.PublishVersion(frozenset()), _version(version))
        for i, who in enumerate(people):
            if i < objecting:
                stance, reason = (
                    Stance.OBJECTION,
                    (
                        f"Objection {i + 1} sur la version {version} : le samedi matin est le seul "
                        "moment où le local sert déjà au club de lecture."
                    ),
                )
            elif i % 6 == 5:
                stance, reason = Stance.CONCERN, "Attention à l'épuisement des bénévoles."
            else:
                stance, reason = Stance.CONSENT, ""
            await act(who, rules.GivePosition(who.user_id, stance, version, reason))
            counts["positions"] += 1
            counts["objections"] += stance is Stance.OBJECTION
        async with pool.acquire() as conn:
            state = (await proposals.load(conn, space.id, proposal_id)).state
        raised = [
            o
            for o in state.objections
            if o.version == version and o.status is rules.ObjectionStatus.RAISED
        ]
        for n, objection in enumerate(raised[:judged]):
            await act(
                admin if n % 2 else facilitator,
                rules.JudgeObjection(
                    objection.id, valid=n == 0, reason="Examinée en réunion de facilitation."
                ),
            )
    # The viewer: a member on the round's list who has not answered the open round yet.
    viewer = members[-1]
    counts["total"] = sum(counts[k] for k in ("questions", "answers", "reactions", "positions"))
    return {"proposal_id": proposal_id, "viewer_id": viewer.user_id, "counts": counts}


STAGING = """
CREATE TEMP TABLE staging (
    n           integer PRIMARY KEY,
    proposal_id bigint,
    proposer_id bigint NOT NULL,
    title       text NOT NULL,
    driver      text NOT NULL,
    body        text NOT NULL,
    search_text text NOT NULL,
    adopted_at  timestamptz NOT NULL,
    review_on   date NOT NULL,
    year        integer NOT NULL,
    seq         integer NOT NULL,
    number      text NOT NULL,
    status      text NOT NULL
)
"""

BULK = (
    "UPDATE staging SET proposal_id = nextval(pg_get_serial_sequence('proposals', 'id'))",
    """INSERT INTO proposals
           (id, space_id, proposer_id, title, stage, version, created_at, updated_at, closed_at,
            revision)
       OVERRIDING SYSTEM VALUE
       SELECT proposal_id, $1, proposer_id, title, 'adopted', 1,
              adopted_at - interval '20 days', adopted_at, adopted_at, 12
       FROM staging ORDER BY n""",
    """INSERT INTO proposal_versions
           (proposal_id, number, title, driver, body, author_id, created_at)
       SELECT proposal_id, 1, title, driver, body, proposer_id, adopted_at - interval '20 days'
       FROM staging ORDER BY n""",
    """INSERT INTO decisions (space_id, proposal_id, version, year, seq, number, title, driver,
                              body, adopted_at, review_on, status, search_text)
       SELECT $1, proposal_id, 1, year, seq, number, title, driver, body, adopted_at,
              review_on, status, search_text
       FROM staging ORDER BY n""",
    """INSERT INTO decision_counters (space_id, year, last_seq)
       SELECT $1, year, max(seq) FROM staging GROUP BY year
       ON CONFLICT (space_id, year) DO UPDATE
           SET last_seq = greatest(decision_counters.last_seq, excluded.last_seq)""",
)


def decision_rows(count: int, people: list[int], now: datetime) -> list[tuple[Any, ...]]:
    """`count` decisions adopted over the ten years before `now`, numbered per year."""
    rng = random.Random(2026)
    span = timedelta(days=3650).total_seconds()
    moments = sorted(now - timedelta(seconds=rng.random() * span) for _ in range(count))
    rows: list[tuple[Any, ...]] = []
    seq_of_year: dict[int, int] = {}
    for n, adopted_at in enumerate(moments):
        year = adopted_at.year
        seq = seq_of_year[year] = seq_of_year.get(year, 0) + 1
        title, driver, sentences = decision_text(rng)
        body = " ".join(sentences)
        indexed = indexed_text(title, driver, sentences)
        if n % 1000 == 0:  # the app's own function says the same
            assert indexed == search_text(title, driver, body), (title, driver, body)
        roll = rng.random()
        status = "repealed" if roll < 0.03 else "superseded" if roll < 0.1 else "in_force"
        rows.append(
            (
                n,
                None,
                rng.choice(people),
                title,
                driver,
                body,
                indexed,
                adopted_at,
                add_months(adopted_at.date(), 6),
                year,
                seq,
                number_of(PREFIX, year, seq),
                status,
            )
        )
    return rows


async def register(pool: asyncpg.Pool, space: Space, users: list[User], count: int) -> float:
    started = time.perf_counter()
    rows = decision_rows(count, [u.id for u in users], datetime.now(UTC) - timedelta(days=1))
    built = time.perf_counter() - started
    async with db.transaction(pool) as conn:
        await conn.execute(STAGING)
        await conn.copy_records_to_table("staging", records=rows)
        for statement in BULK:
            await conn.execute(statement, *([space.id] if "$1" in statement else []))
        await conn.execute("DROP TABLE staging")
    print(
        f"  {count} decisions: texts built in {built:.1f} s, loaded in "
        f"{time.perf_counter() - started - built:.1f} s"
    )
    return built


async def word_counts(pool: asyncpg.Pool, space: Space) -> dict[str, int]:
    async with pool.acquire() as conn:
        return {
            word: int(
                await conn.fetchval(
                    "SELECT count(*) FROM decisions WHERE space_id = $1"
                    " AND search @@ plainto_tsquery('french', $2)",
                    space.id,
                    search_text(word),
                )
            )
            for word in (COMMON_WORD, RARE_WORD)
        }


async def build(
    server: str, name: str, *, decisions: int, participants: int, replace: bool
) -> dict[str, Any]:
    url = await recreate(server, name, replace=replace)
    try:
        return await fill(url, name, decisions=decisions, participants=participants)
    except BaseException:
        await drop(server, name)  # never leave a half-built database behind
        raise


async def fill(url: str, name: str, *, decisions: int, participants: int) -> dict[str, Any]:
    started = time.perf_counter()
    await migrate(url)
    print(f"database {name} created and migrated")
    pool = await db.create_pool(url, min_size=1, max_size=2)
    try:
        space, users = await people_and_space(pool, participants)
        print(f"  space /s/{space.slug}: {len(users)} members, charter signed by all")
        process = await consent_process(pool, space, users)
        print(f"  proposal {process['proposal_id']}: {process['counts']}")
        await register(pool, space, users, decisions)
        viewer = next(u for u in users if u.id == process["viewer_id"])
        async with db.transaction(pool) as conn:
            token = await accounts.start_session(conn, viewer, replaces=None, user_agent="bench")
        counts = await word_counts(pool, space)
    finally:
        await pool.close()
    conn = await db.connect(url)
    try:
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    print(f"  vacuumed and analysed; built in {time.perf_counter() - started:.0f} s")
    proposal = f"/s/{space.slug}/proposals/{process['proposal_id']}"
    register_url = f"/s/{space.slug}/decisions"
    return {
        "database": name,
        "database_url": url,
        "slug": space.slug,
        "proposal_id": process["proposal_id"],
        "contributions": process["counts"],
        "decisions": decisions,
        "viewer": {"id": viewer.id, "email": viewer.email},
        "password": PASSWORD,
        "session_cookie": f"session={token}",
        "words": {
            "common": [COMMON_WORD, counts[COMMON_WORD]],
            "rare": [RARE_WORD, counts[RARE_WORD]],
        },
        "paths": {
            "proposal": proposal,
            "register": register_url,
            "search_common": f"{register_url}?q={quote(COMMON_WORD)}",
            "search_rare": f"{register_url}?q={quote(RARE_WORD)}",
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("name", help="the database to create (e.g. consentir_bench)")
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--participants", type=int, default=60)
    parser.add_argument("--replace", action="store_true", help="drop and rebuild it if it exists")
    parser.add_argument("--drop", action="store_true", help="only drop the database, then stop")
    args = parser.parse_args()
    check_name(args.name)
    if args.participants < 58:
        raise SystemExit("generate.py: the proposal's process needs at least 58 participants")
    server = os.environ.get("DATABASE_URL") or DEFAULT_SERVER
    if args.drop:
        asyncio.run(drop(server, args.name))
        print(f"database {args.name} dropped")
        return 0
    found = asyncio.run(
        build(
            server,
            args.name,
            decisions=args.decisions,
            participants=args.participants,
            replace=args.replace,
        )
    )
    OUT.mkdir(exist_ok=True)
    target = OUT / f"{args.name}.json"
    target.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    base = "http://127.0.0.1:<port>"
    print(f"\nwritten to {target}")
    for key, path in found["paths"].items():
        print(f"  {key:14} {base}{path}")
    common, rare = found["words"]["common"], found["words"]["rare"]
    print(f"  words: {common[0]!r} in {common[1]} decisions, {rare[0]!r} in {rare[1]}")
    print(f"  viewer {found['viewer']['email']} (password {PASSWORD})")
    print(f"  cookie: {found['session_cookie']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
