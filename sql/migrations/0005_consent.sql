-- The consent process: proposals, their versions, rounds, questions, reactions, positions,
-- objections, and the decisions adoption creates. The rules live in consent/rules.py; the
-- database guards what it can: foreign keys bind every answer to its round and version,
-- unique keys allow one current answer per person per round, checks require reasons.

-- Positions are hidden until the round closes unless the space says otherwise.
ALTER TABLE spaces ADD COLUMN hide_positions boolean NOT NULL DEFAULT true;

CREATE TABLE proposals (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id      bigint NOT NULL REFERENCES spaces (id),
    proposer_id   bigint NOT NULL REFERENCES users (id),
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    stage         text NOT NULL DEFAULT 'draft' CHECK (stage IN (
                      'draft', 'clarify', 'react', 'object', 'integrate',
                      'adopted', 'withdrawn', 'rejected')),
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),  -- the current version
    closed_reason text CHECK (closed_reason IS NULL OR length(closed_reason) <= 2000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    -- Optimistic concurrency: every change checks and bumps it.
    revision      integer NOT NULL DEFAULT 1,
    CHECK ((stage IN ('adopted', 'withdrawn', 'rejected')) = (closed_at IS NOT NULL)),
    CHECK (stage <> 'rejected' OR length(trim(closed_reason)) > 0),
    UNIQUE (id, space_id)
);
CREATE INDEX proposals_space_idx ON proposals (space_id, updated_at DESC, id DESC);

-- Versions are immutable once the proposal leaves the draft stage.
CREATE TABLE proposal_versions (
    proposal_id bigint NOT NULL REFERENCES proposals (id),
    number      integer NOT NULL CHECK (number >= 1),
    driver      text NOT NULL CHECK (length(driver) BETWEEN 1 AND 10000),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 50000),
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    author_id   bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (proposal_id, number)
);

CREATE FUNCTION proposal_versions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (SELECT stage FROM proposals WHERE id = OLD.proposal_id) = 'draft'
       AND NEW.proposal_id = OLD.proposal_id AND NEW.number = OLD.number THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a published version of a proposal cannot change'
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER proposal_versions_immutable BEFORE UPDATE OR DELETE ON proposal_versions
    FOR EACH ROW EXECUTE FUNCTION proposal_versions_immutable();

CREATE TABLE rounds (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('clarify', 'react', 'object')),
    version     integer NOT NULL,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    opened_by   bigint REFERENCES users (id),
    deadline    timestamptz,
    reminded_at timestamptz,
    overdue_at  timestamptz,  -- the deadline passed but the rules kept the round open
    closed_at   timestamptz,
    closed_by   bigint REFERENCES users (id),
    outcome     text CHECK (outcome IN ('adopted', 'integrate', 'advanced', 'restarted', 'ended')),
    CHECK ((closed_at IS NULL) = (outcome IS NULL)),
    FOREIGN KEY (proposal_id, version) REFERENCES proposal_versions (proposal_id, number),
    UNIQUE (id, version)
);
CREATE INDEX rounds_proposal_idx ON rounds (proposal_id, id);
-- One open round per proposal.
CREATE UNIQUE INDEX rounds_one_open_idx ON rounds (proposal_id) WHERE closed_at IS NULL;
-- The deadline task looks for open rounds by deadline.
CREATE INDEX rounds_deadline_idx ON rounds (deadline)
    WHERE closed_at IS NULL AND deadline IS NOT NULL AND overdue_at IS NULL;

-- Who may answer a round: frozen when it opens.
CREATE TABLE round_participants (
    round_id bigint NOT NULL REFERENCES rounds (id),
    user_id  bigint NOT NULL REFERENCES users (id),
    PRIMARY KEY (round_id, user_id)
);
CREATE INDEX round_participants_user_idx ON round_participants (user_id);

-- Answers go to open rounds only.
CREATE FUNCTION round_must_be_open() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM rounds WHERE id = NEW.round_id AND closed_at IS NULL) THEN
        RAISE EXCEPTION 'round % is closed', NEW.round_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TABLE questions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id bigint NOT NULL REFERENCES proposals (id),
    round_id    bigint NOT NULL,
    author_id   bigint NOT NULL,
    text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 5000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    answer      text CHECK (length(answer) BETWEEN 1 AND 10000),
    answered_at timestamptz,
    CHECK ((answer IS NULL) = (answered_at IS NULL)),
    FOREIGN KEY (round_id, author_id) REFERENCES round_participants (round_id, user_id)
);
CREATE INDEX questions_proposal_idx ON questions (proposal_id, id);
CREATE TRIGGER questions_round_open BEFORE INSERT ON questions
    FOR EACH ROW EXECUTE FUNCTION round_must_be_open();

CREATE TABLE reactions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id   bigint NOT NULL,
    author_id  bigint NOT NULL,
    text       text NOT NULL DEFAULT '' CHECK (length(text) <= 5000),
    passed     boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (passed OR length(trim(text)) > 0),
    UNIQUE (round_id, author_id),
    FOREIGN KEY (round_id, author_id) REFERENCES round_participants (round_id, user_id)
);
CREATE TRIGGER reactions_round_open BEFORE INSERT ON reactions
    FOR EACH ROW EXECUTE FUNCTION round_must_be_open();

-- A position is given on one round and the version that round is about; a change keeps the
-- old row (superseded_at set) so the history stays.
CREATE TABLE positions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    round_id      bigint NOT NULL,
    version       integer NOT NULL,
    user_id       bigint NOT NULL,
    stance        text NOT NULL CHECK (stance IN ('consent', 'concern', 'objection')),
    reason        text NOT NULL DEFAULT '' CHECK (length(reason) <= 5000),
    -- Who recorded it: differs when given on someone's behalf; NULL for consent by silence,
    -- recorded by the deadline task.
    recorded_by   bigint REFERENCES users (id),
    silent        boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    superseded_at timestamptz,
    CHECK (stance <> 'objection' OR length(trim(reason)) > 0),
    FOREIGN KEY (round_id, version) REFERENCES rounds (id, version),
    FOREIGN KEY (round_id, user_id) REFERENCES round_participants (round_id, user_id)
);
CREATE UNIQUE INDEX positions_current_idx ON positions (round_id, user_id) WHERE superseded_at IS NULL;
CREATE TRIGGER positions_round_open BEFORE INSERT ON positions
    FOR EACH ROW EXECUTE FUNCTION round_must_be_open();

CREATE TABLE objections (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id          bigint NOT NULL REFERENCES proposals (id),
    round_id             bigint NOT NULL REFERENCES rounds (id),
    position_id          bigint NOT NULL REFERENCES positions (id),
    objector_id          bigint NOT NULL REFERENCES users (id),
    version              integer NOT NULL,
    reason               text NOT NULL CHECK (length(trim(reason)) > 0),
    status               text NOT NULL DEFAULT 'raised' CHECK (status IN (
                             'raised', 'valid', 'not_valid', 'withdrawn', 'integrated')),
    judged_by            bigint REFERENCES users (id),
    judged_at            timestamptz,
    judgement            text CHECK (judgement IS NULL OR length(trim(judgement)) > 0),
    answered_in          integer,   -- the version that says it answers this objection
    proposer_confirmed_at timestamptz,
    objector_confirmed_at timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (proposal_id, version) REFERENCES proposal_versions (proposal_id, number),
    FOREIGN KEY (proposal_id, answered_in) REFERENCES proposal_versions (proposal_id, number),
    CHECK (status NOT IN ('valid', 'not_valid') OR judgement IS NOT NULL),
    CHECK (status <> 'integrated' OR (answered_in IS NOT NULL AND objector_confirmed_at IS NOT NULL))
);
CREATE INDEX objections_proposal_idx ON objections (proposal_id, id);

-- Decision numbers: one counter row per space and year, locked while a number is taken, so
-- numbers have no gap and no duplicate whatever the concurrency.
CREATE TABLE decision_counters (
    space_id bigint NOT NULL REFERENCES spaces (id),
    year     integer NOT NULL,
    last_seq integer NOT NULL CHECK (last_seq >= 1),
    PRIMARY KEY (space_id, year)
);

CREATE TABLE decisions (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id      bigint NOT NULL REFERENCES spaces (id),
    proposal_id   bigint NOT NULL UNIQUE,
    version       integer NOT NULL,
    year          integer NOT NULL,
    seq           integer NOT NULL CHECK (seq >= 1),
    number        text NOT NULL,
    title         text NOT NULL,
    driver        text NOT NULL,
    body          text NOT NULL,
    adopted_at    timestamptz NOT NULL DEFAULT now(),
    review_on     date NOT NULL,
    status        text NOT NULL DEFAULT 'in_force' CHECK (status IN (
                      'in_force', 'superseded', 'repealed')),
    superseded_by bigint REFERENCES decisions (id),
    -- Accent-free lower-case words of title, driver and body (normalised in Python, so the
    -- search works on servers without the unaccent extension), indexed for French search.
    search_text   text NOT NULL,
    search        tsvector GENERATED ALWAYS AS (to_tsvector('french', search_text)) STORED,
    UNIQUE (space_id, year, seq),
    UNIQUE (space_id, number),
    FOREIGN KEY (proposal_id, space_id) REFERENCES proposals (id, space_id),
    FOREIGN KEY (proposal_id, version) REFERENCES proposal_versions (proposal_id, number)
);
CREATE INDEX decisions_register_idx ON decisions (space_id, adopted_at DESC, id DESC);
CREATE INDEX decisions_status_idx ON decisions (space_id, status, adopted_at DESC, id DESC);
CREATE INDEX decisions_review_idx ON decisions (space_id, review_on, id);
CREATE INDEX decisions_search_idx ON decisions USING gin (search);

CREATE TABLE decision_supersedes (
    decision_id   bigint NOT NULL REFERENCES decisions (id),
    superseded_id bigint NOT NULL REFERENCES decisions (id),
    PRIMARY KEY (decision_id, superseded_id),
    CHECK (decision_id <> superseded_id)
);

-- The decisions a proposal will replace once adopted (chosen by its proposer).
CREATE TABLE proposal_supersedes (
    proposal_id bigint NOT NULL REFERENCES proposals (id),
    decision_id bigint NOT NULL REFERENCES decisions (id),
    PRIMARY KEY (proposal_id, decision_id)
);

-- Idempotency-Key for API writes and form submissions: the first answer is kept and replayed.
CREATE TABLE idempotency_keys (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request    bytea NOT NULL,        -- sha-256 of method, path and body
    status     integer NOT NULL,
    body       bytea NOT NULL,
    location   text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
