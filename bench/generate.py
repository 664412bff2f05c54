"""Build the benchmark database: a space of 60 signed members, one proposal carried through
the real consent process (3 versions, 155 contributions, left open in an object round), a
second one with --contributions (default 1 000) the same way, and a register of --decisions
(default 1 000 000) decisions.

    .venv/bin/python bench/generate.py consentir_bench
    .venv/bin/python bench/generate.py consentir_small --decisions 20000 --contributions 200

The database is created fresh on DATABASE_URL's server (default
postgresql://postgres@127.0.0.1:5432/postgres); an existing one of that name is refused
unless --replace is given. The people, the space, its charter and the proposals go through
the app's own store functions (every journal event written); the decisions and the adopted
proposals they come from are built set-based by the database (generate_series, INSERT …
SELECT; no journal events for those, see README). What to hit, and a session cookie, are
printed and written to bench/out/<name>.json, which run.py, live.py and writes.py read.
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


async def large_process(
    pool: asyncpg.Pool, space: Space, users: list[User], contributions: int
) -> dict[str, Any]:
    """A second proposal through the same real process, with `contributions` contributions
    (default 1 000): the proposer answers every question, 56 members react and give a
    position in the object round of version 1, which stays open (the viewer, the last
    member, has not answered); the rest are questions and their answers."""
    admin = Actor(users[0].id, may_participate=True, may_facilitate=True)
    proposer = Actor(users[2].id, may_participate=True, may_facilitate=False)
    members = [Actor(u.id, True, False) for u in users[3:]]
    voices = members[:56]  # every member but the viewer
    questions = max(1, (contributions - 2 * len(voices)) // 2)
    reactions = min(len(voices), contributions - 2 * questions)
    positions = min(len(voices), max(0, contributions - 2 * questions - reactions))
    counts = {"questions": 0, "answers": 0, "reactions": 0, "positions": 0, "objections": 0}

    async with db.transaction(pool) as conn:
        proposal_id = await proposals.create(
            conn,
            space,
            proposer,
            Content(
                title="Réorganiser les permanences", driver=PROPOSAL.driver, body=PROPOSAL.body
            ),
        )

    async def act(actor: Actor, action: rules.Action, content: Content | None = None) -> None:
        async with db.transaction(pool) as conn:
            await proposals.act(conn, space, proposal_id, actor, action, content)

    await act(proposer, rules.Submit(frozenset()))
    for i in range(questions):
        text = f"Question {i + 1} : comment la permanence n° {i % 52 + 1} sera-t-elle tenue ?"
        await act(voices[i % len(voices)], rules.AskQuestion(), Content(text=text))
        counts["questions"] += 1
    async with pool.acquire() as conn:
        asked = await proposals.load(conn, space.id, proposal_id)
    for question in asked.state.questions:
        await act(
            proposer,
            rules.AnswerQuestion(question.id),
            Content(text=f"Réponse à la question {question.id} : le planning partagé le dira."),
        )
        counts["answers"] += 1
    await act(admin, rules.Advance(frozenset()))
    for i, who in enumerate(voices[:reactions]):
        if i % 7 == 6:
            await act(who, rules.React(passed=True))
        else:
            await act(
                who, rules.React(), Content(text=f"Réaction {i + 1} : d'accord sur le principe.")
            )
        counts["reactions"] += 1
    await act(admin, rules.Advance(frozenset()))
    for i, who in enumerate(voices[:positions]):
        if i < 2:
            stance, reason = Stance.OBJECTION, f"Objection {i + 1} : trop de permanences le soir."
        elif i % 6 == 5:
            stance, reason = Stance.CONCERN, "Attention aux bénévoles."
        else:
            stance, reason = Stance.CONSENT, ""
        await act(who, rules.GivePosition(who.user_id, stance, 1, reason))
        counts["positions"] += 1
        counts["objections"] += stance is Stance.OBJECTION
    counts["total"] = sum(counts[k] for k in ("questions", "answers", "reactions", "positions"))
    return {"proposal_id": proposal_id, "counts": counts}


# --- the register: N decisions built by the database itself (set-based) --------------------
#
# One INSERT … SELECT over generate_series builds every decision's texts from the vocabulary
# above (passed as arrays, each with its folded form), so that no row crosses the wire:
# 1 000 000 decisions in a couple of minutes. `search_text` is assembled from the folded
# pieces, exactly as `decisions.search.search_text(title, driver, body)` would fold the whole
# (folding is per character); rows spread over the set are checked against that function.
# The secondary indexes of the three tables are dropped during the load and built again
# after it (the same definitions, read from the catalogue): building a GIN index once is far
# cheaper than maintaining it row by row.

STAGING = """
CREATE TEMP TABLE staging AS
WITH picks AS (
    SELECT g,
           $2::timestamptz - random() * interval '3650 days' AS adopted_at,
           1 + floor(random() * cardinality($4::text[]))::int AS verb,
           width_bucket(random(), $8::float8[]) + 1 AS noun,
           1 + floor(random() * cardinality($9::text[]))::int AS complement,
           1 + floor(random() * cardinality($11::text[]))::int AS driver,
           3 + floor(random() * 3)::int AS sentences,
           floor(random() * cardinality($13::text[]))::int AS first,
           (ARRAY[1, 5, 7, 11])[1 + floor(random() * 4)::int] AS step,
           CASE WHEN random() < 0.0015
                THEN 1 + floor(random() * cardinality($15::text[]))::int END AS rare,
           random() AS status_roll,
           $3::bigint[] AS people,
           1 + floor(random() * cardinality($3::bigint[]))::int AS person
    FROM generate_series(1, $1) AS g
),
texts AS (
    SELECT p.*,
           left($4[verb] || ' ' || $6[noun] || ' ' || $9[complement], 200) AS title,
           $4_f[verb] || ' ' || $6_f[noun] || ' ' || $9_f[complement] AS title_f,
           replace($11[driver], '{a}', $6[noun]) AS driver_text,
           replace($11_f[driver], '{a}', $6_f[noun]) AS driver_f,
           body.text || coalesce(' Un atelier de ' || $15[rare] || ' est proposé aux enfants.', '')
               AS body,
           body.folded
               || coalesce(' un atelier de ' || $15_f[rare] || ' est propose aux enfants.', '')
               AS body_f
    FROM picks AS p
    CROSS JOIN LATERAL (
        SELECT string_agg(s.text, ' ' ORDER BY s.j) AS text,
               string_agg(s.folded, ' ' ORDER BY s.j) AS folded
        FROM (
            SELECT j,
                   replace(replace(replace(replace($13[k], '{a}', $6[p.noun]),
                       '{A}', upper(left($6[p.noun], 1)) || substr($6[p.noun], 2)),
                       '{b}', $6[other]), '{n}', amount::text) AS text,
                   replace(replace(replace(replace($13_f[k], '{a}', $6_f[p.noun]),
                       '{A}', $6_f[p.noun]), '{b}', $6_f[other]), '{n}', amount::text) AS folded
            FROM (
                SELECT j, 1 + (p.first + j * p.step) % cardinality($13::text[]) AS k,
                       width_bucket(random() + 0 * p.g, $8::float8[]) + 1 AS other,
                       50 * (1 + floor(random() * 99)::int) AS amount
                FROM generate_series(0, p.sentences - 1) AS j
            ) AS chosen
        ) AS s
    ) AS body
),
dated AS (
    SELECT t.*,
           extract(year FROM adopted_at AT TIME ZONE 'UTC')::int AS year,
           row_number() OVER (ORDER BY adopted_at, g) AS n
    FROM texts AS t
)
SELECT n, nextval(pg_get_serial_sequence('proposals', 'id')) AS proposal_id,
       nextval(pg_get_serial_sequence('decisions', 'id')) AS decision_id,
       people[person] AS proposer_id, title, driver_text AS driver, body,
       title_f || E'\\n' || driver_f || E'\\n' || body_f AS search_text,
       adopted_at,
       ((adopted_at AT TIME ZONE 'UTC')::date + interval '6 months')::date AS review_on,
       year, seq,
       $16 || '-' || year || '-' || CASE WHEN seq < 1000 THEN lpad(seq::text, 3, '0')
                                         ELSE seq::text END AS number,
       CASE WHEN status_roll < 0.03 THEN 'repealed'
            WHEN status_roll < 0.1 THEN 'superseded' ELSE 'in_force' END AS status
FROM (SELECT d.*, row_number() OVER (PARTITION BY year ORDER BY adopted_at, g) AS seq
      FROM dated AS d) AS numbered
ORDER BY n
"""

BULK = (
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
    """INSERT INTO decisions (id, space_id, proposal_id, version, year, seq, number, title,
                              driver, body, adopted_at, review_on, review_announced_on,
                              search_text)
       OVERRIDING SYSTEM VALUE
       SELECT decision_id, $1, proposal_id, 1, year, seq, number, title, driver, body,
              adopted_at, review_on, CASE WHEN review_on <= current_date THEN review_on END,
              search_text
       FROM staging ORDER BY n""",
    # A superseded or repealed decision is ended by a later one (its link names it), as the
    # review of a decision does; the last decisions of the set stay in force.
    """INSERT INTO decision_links (target_id, decision_id, space_id, kind, created_at)
       SELECT s.decision_id, later.decision_id, $1,
              CASE s.status WHEN 'superseded' THEN 'supersedes' ELSE 'repeals' END,
              later.adopted_at
       FROM staging AS s
       JOIN staging AS later ON later.n = s.n + 1 + s.n % 97
       WHERE s.status <> 'in_force'
       ORDER BY s.n""",
    """INSERT INTO decision_counters (space_id, year, last_seq)
       SELECT $1, year, max(seq) FROM staging GROUP BY year
       ON CONFLICT (space_id, year) DO UPDATE
           SET last_seq = greatest(decision_counters.last_seq, excluded.last_seq)""",
)

# The indexes that back no constraint (dropped during the load, built again after it).
SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index AS i
WHERE i.indrelid = ANY(
    ARRAY['decisions', 'proposals', 'proposal_versions', 'decision_links']::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
"""


def _staging_sql() -> str:
    """STAGING with the folded arrays' placeholders ($4_f …) numbered."""
    folded = {"$4_f": "$5", "$6_f": "$7", "$9_f": "$10", "$11_f": "$12", "$13_f": "$14",
              "$15_f": "$17"}  # fmt: skip
    sql = STAGING
    for name, number in folded.items():
        sql = sql.replace(name, number)
    return re.sub(r"(\$\d+)\[", r"(\1::text[])[", sql).replace("$16 ||", "$16::text ||")


def vocabulary() -> list[Any]:
    """The arrays STAGING reads, $4 … $17 (each list followed by its folded form)."""
    phrases = [f"{det}{noun}" if det.endswith("'") else f"{det} {noun}" for noun, det in NOUNS]
    total = sum(NOUN_WEIGHTS)
    bounds, acc = [], 0.0
    for weight in NOUN_WEIGHTS[:-1]:
        acc += weight / total
        bounds.append(acc)
    return [
        list(VERBS), [fold(v) for v in VERBS],  # $4, $5
        phrases, [fold(p) for p in phrases],  # $6, $7
        bounds,  # $8: cumulative weights (Zipf-like), for width_bucket
        list(COMPLEMENTS), [fold(c) for c in COMPLEMENTS],  # $9, $10
        list(DRIVERS), [fold(d) for d in DRIVERS],  # $11, $12
        list(SENTENCES), [fold(s) for s in SENTENCES],  # $13, $14
        list(RARE),  # $15
        PREFIX,  # $16
        [fold(r) for r in RARE],  # $17
    ]  # fmt: skip


async def register(pool: asyncpg.Pool, space: Space, users: list[User], count: int) -> float:
    """`count` adopted decisions over the ten years before yesterday, numbered per year, with
    the adopted proposals and versions their foreign keys need (no journal events for them:
    the journal is not replayed by the register). Returns the seconds it took."""
    started = time.perf_counter()
    now = datetime.now(UTC) - timedelta(days=1)
    async with db.transaction(pool) as conn:
        await conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        await conn.execute("SET LOCAL work_mem = '256MB'")
        await conn.execute("SELECT setseed(0.2026)")
        indexes = await conn.fetch(SECONDARY_INDEXES)
        for index in indexes:
            await conn.execute(f"DROP INDEX {index['name']}")
        await conn.execute(_staging_sql(), count, now, [u.id for u in users], *vocabulary())
        staged = time.perf_counter()
        await check_sample(conn, count)
        steps = []
        for statement in BULK:
            step = time.perf_counter()
            await conn.execute(statement, *([space.id] if "$1" in statement else []))
            steps.append(f"{statement.split()[2]} {time.perf_counter() - step:.1f} s")
        loaded = time.perf_counter()
        for index in indexes:
            await conn.execute(index["definition"])
        await conn.execute("DROP TABLE staging")
    done = time.perf_counter()
    print(
        f"  {count} decisions: texts built in {staged - started:.1f} s, loaded in "
        f"{loaded - staged:.1f} s ({', '.join(steps)}), {len(indexes)} indexes built in "
        f"{done - loaded:.1f} s"
    )
    return done - started


async def check_sample(conn: Any, count: int) -> None:
    """The folded text assembled in SQL is what the app's own function gives, on ~200 rows
    spread over the set (and on every row carrying a rare word); numbers and review dates
    are those of the app's functions."""
    every = max(1, count // 200)
    rows = await conn.fetch(
        "SELECT title, driver, body, search_text, year, seq, number, adopted_at, review_on"
        " FROM staging WHERE n % $1 = 0 OR body LIKE '%Un atelier de%' OR seq IN (999, 1000)",
        every,
    )
    for r in rows:
        expected = search_text(r["title"], r["driver"], r["body"])
        assert r["search_text"] == expected, (r["search_text"], expected)
        assert r["number"] == number_of(PREFIX, r["year"], r["seq"]), r["number"]
        day = r["adopted_at"].astimezone(UTC).date()
        assert r["review_on"] == add_months(day, 6), (day, r["review_on"])


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
    server: str,
    name: str,
    *,
    decisions: int,
    participants: int,
    contributions: int,
    replace: bool,
) -> dict[str, Any]:
    url = await recreate(server, name, replace=replace)
    try:
        return await fill(
            url, name, decisions=decisions, participants=participants, contributions=contributions
        )
    except BaseException:
        await drop(server, name)  # never leave a half-built database behind
        raise


async def fill(
    url: str, name: str, *, decisions: int, participants: int, contributions: int
) -> dict[str, Any]:
    started = time.perf_counter()
    await migrate(url)
    print(f"database {name} created and migrated")
    # The bulk statements run for minutes at 1 M decisions: not the app's 30 s limit.
    db.COMMAND_SECONDS = 3600.0
    pool = await db.create_pool(url, min_size=1, max_size=2)
    try:
        space, users = await people_and_space(pool, participants)
        print(f"  space /s/{space.slug}: {len(users)} members, charter signed by all")
        process = await consent_process(pool, space, users)
        print(f"  proposal {process['proposal_id']}: {process['counts']}")
        large: dict[str, Any] | None = None
        if contributions:
            step = time.perf_counter()
            large = await large_process(pool, space, users, contributions)
            print(
                f"  proposal {large['proposal_id']}: {large['counts']}, through the real process"
                f" in {time.perf_counter() - step:.0f} s"
            )
        seconds = await register(pool, space, users, decisions) if decisions else 0.0
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
    paths = {
        "proposal": proposal,
        "register": register_url,
        "search_common": f"{register_url}?q={quote(COMMON_WORD)}",
        "search_rare": f"{register_url}?q={quote(RARE_WORD)}",
    }
    if large is not None:
        paths["proposal_large"] = f"/s/{space.slug}/proposals/{large['proposal_id']}"
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
        "paths": paths,
        "large_proposal": large,
        "seconds": {
            "register": round(seconds, 1),
            "total": round(time.perf_counter() - started, 1),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=DESCRIPTION)
    parser.add_argument("name", help="the database to create (e.g. consentir_bench)")
    parser.add_argument(
        "--decisions", type=int, default=1_000_000, help="adopted decisions in the register"
    )
    parser.add_argument(
        "--contributions",
        type=int,
        default=1_000,
        help="contributions to the second proposal (0: no second proposal)",
    )
    parser.add_argument("--participants", type=int, default=60)
    parser.add_argument("--replace", action="store_true", help="drop and rebuild it if it exists")
    parser.add_argument("--drop", action="store_true", help="only drop the database, then stop")
    args = parser.parse_args()
    check_name(args.name)
    if not 0 <= args.decisions <= 5_000_000:
        raise SystemExit("generate.py: --decisions 0–5000000")
    if args.contributions and not 120 <= args.contributions <= 5_000:
        raise SystemExit("generate.py: --contributions 0, or 120–5000")
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
            contributions=args.contributions,
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
