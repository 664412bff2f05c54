-- Causes (issue 12): a collective accompanies a local cause through five steps (field
-- observation, objectives with impact criteria, an action plan chosen by consent, evaluation,
-- celebration). Every step that matters is a proposal on the consent engine, linked to its
-- cause by `cause_proposals` (its purpose), and adopted into the register; what a cause has
-- reached is derived from those decisions, never stored twice (causes/store.py reads it, the
-- pure rules in causes/rules.py decide what is open).

CREATE TABLE causes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id    bigint NOT NULL REFERENCES spaces (id),
    title       text NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 200),
    territory   text NOT NULL CHECK (length(trim(territory)) BETWEEN 1 AND 200),
    -- One of the movement's five themes (by code) or a free one, as written.
    theme       text NOT NULL CHECK (length(trim(theme)) BETWEEN 1 AND 80),
    summary     text NOT NULL DEFAULT '' CHECK (length(summary) <= 20000),
    created_by  bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, space_id)
);
CREATE INDEX causes_space_idx ON causes (space_id, id DESC);

-- Who follows a cause (notified of its decisions, measurements and steps); those who carry
-- it follow it too.
CREATE TABLE cause_people (
    cause_id   bigint NOT NULL REFERENCES causes (id),
    user_id    bigint NOT NULL REFERENCES users (id),
    carries    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cause_id, user_id)
);
CREATE INDEX cause_people_user_idx ON cause_people (user_id, cause_id);

-- The proposals of a cause, each with its purpose: taking it on (answering the three
-- criteria), adopting objectives and their criteria, choosing a scenario, adopting the
-- evaluation's interpretation.
ALTER TABLE proposals
    DROP CONSTRAINT proposals_kind_check,
    ADD CONSTRAINT proposals_kind_check CHECK (kind IN (
        'ordinary', 'role', 'election', 'review', 'revocation', 'cause', 'choice'));

CREATE TABLE cause_proposals (
    proposal_id     bigint PRIMARY KEY,
    cause_id        bigint NOT NULL,
    space_id        bigint NOT NULL,
    purpose         text NOT NULL
        CHECK (purpose IN ('take_on', 'objectives', 'choice', 'evaluation')),
    -- Taking it on: how the cause meets each of the three criteria.
    meets_values    text CHECK (length(meets_values) <= 5000),
    meets_mobilised text CHECK (length(meets_mobilised) <= 5000),
    meets_impact    text CHECK (length(meets_impact) <= 5000),
    -- The evaluation: whether its adoption reopens the plan (a new scenario version).
    reopens_plan    boolean NOT NULL DEFAULT false,
    FOREIGN KEY (proposal_id, space_id) REFERENCES proposals (id, space_id),
    FOREIGN KEY (cause_id, space_id) REFERENCES causes (id, space_id),
    CHECK (purpose <> 'take_on' OR (length(trim(meets_values)) > 0
                                    AND length(trim(meets_mobilised)) > 0
                                    AND length(trim(meets_impact)) > 0))
);
CREATE INDEX cause_proposals_cause_idx ON cause_proposals (cause_id, purpose, proposal_id);

-- Field observation: facts, testimonies, figures, documents, with their source and date.
CREATE TABLE observations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cause_id    bigint NOT NULL REFERENCES causes (id),
    kind        text NOT NULL CHECK (kind IN ('fact', 'testimony', 'figure', 'document')),
    title       text NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 200),
    body        text NOT NULL DEFAULT '' CHECK (length(body) <= 20000),
    source      text NOT NULL CHECK (length(trim(source)) BETWEEN 1 AND 500),
    observed_on date NOT NULL,
    url         text CHECK (url ~ '^https?://' AND length(url) <= 2000),
    author_id   bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX observations_cause_idx ON observations (cause_id, observed_on DESC, id DESC);

-- The actors around the cause. A private individual is never named with a stance: their
-- group label is what the map and the table show.
CREATE TABLE actors (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cause_id    bigint NOT NULL REFERENCES causes (id),
    kind        text NOT NULL
        CHECK (kind IN ('person', 'organisation', 'institution', 'collective', 'private')),
    name        text NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    public_role text NOT NULL DEFAULT '' CHECK (length(public_role) <= 200),
    group_label text NOT NULL DEFAULT '' CHECK (length(group_label) <= 200),
    created_by  bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'private' OR length(trim(group_label)) > 0),
    UNIQUE (id, cause_id)
);
CREATE INDEX actors_cause_idx ON actors (cause_id, id);

-- Assessments are kept over time (append-only): the map shows the latest, with an arrow
-- from the one before.
CREATE TABLE actor_assessments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id    bigint NOT NULL REFERENCES actors (id),
    stance      smallint NOT NULL CHECK (stance BETWEEN -2 AND 2),
    influence   smallint NOT NULL CHECK (influence BETWEEN 0 AND 3),
    interest    text NOT NULL DEFAULT '' CHECK (length(interest) <= 2000),
    role        text NOT NULL CHECK (role IN ('ally', 'opponent', 'target', 'partner', 'public')),
    assessed_by bigint NOT NULL REFERENCES users (id),
    assessed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX actor_assessments_actor_idx ON actor_assessments (actor_id, assessed_at DESC, id DESC);

CREATE TABLE actor_links (
    cause_id    bigint NOT NULL,
    from_actor  bigint NOT NULL,
    to_actor    bigint NOT NULL,
    label       text NOT NULL CHECK (length(trim(label)) BETWEEN 1 AND 200),
    created_by  bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cause_id, from_actor, to_actor),
    CHECK (from_actor <> to_actor),
    FOREIGN KEY (from_actor, cause_id) REFERENCES actors (id, cause_id),
    FOREIGN KEY (to_actor, cause_id) REFERENCES actors (id, cause_id)
);

-- Objectives, each with what counts as a victory. An objective is adopted by the decision of
-- the proposal that carried it (`proposal_id`); until it is proposed it may be edited, then
-- it is kept as adopted (a change is a new objective, by a new decision).
CREATE TABLE objectives (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cause_id    bigint NOT NULL REFERENCES causes (id),
    horizon     text NOT NULL CHECK (horizon IN ('long', 'intermediate', 'short')),
    title       text NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 300),
    victory     text NOT NULL CHECK (length(trim(victory)) BETWEEN 1 AND 5000),
    proposal_id bigint REFERENCES proposals (id),
    created_by  bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, cause_id)
);
CREATE INDEX objectives_cause_idx ON objectives (cause_id, id);
CREATE INDEX objectives_proposal_idx ON objectives (proposal_id) WHERE proposal_id IS NOT NULL;

-- Impact criteria: a number (unit, direction, baseline and target with their dates), an
-- ordinal ladder (steps in order; baseline and target are step indexes), or yes/no (0/1).
CREATE TABLE impact_criteria (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    objective_id bigint NOT NULL,
    cause_id     bigint NOT NULL,
    name         text NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    kind         text NOT NULL CHECK (kind IN ('number', 'ladder', 'yesno')),
    unit         text NOT NULL DEFAULT '' CHECK (length(unit) <= 40),
    direction    text NOT NULL DEFAULT 'up' CHECK (direction IN ('up', 'down')),
    ladder       text[] NOT NULL DEFAULT '{}',
    baseline     numeric,
    baseline_on  date,
    target       numeric,
    target_on    date,
    source       text NOT NULL DEFAULT '' CHECK (length(source) <= 500),
    method       text NOT NULL DEFAULT '' CHECK (length(method) <= 2000),
    created_by   bigint NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (objective_id, cause_id) REFERENCES objectives (id, cause_id),
    CHECK (kind <> 'ladder' OR cardinality(ladder) >= 2),
    CHECK ((baseline IS NULL) = (baseline_on IS NULL)),
    CHECK ((target IS NULL) = (target_on IS NULL)),
    UNIQUE (id, cause_id)
);
CREATE INDEX impact_criteria_objective_idx ON impact_criteria (objective_id, id);
CREATE INDEX impact_criteria_cause_idx ON impact_criteria (cause_id, id);

-- Measurements are append-only: a correction is a new row naming the one it corrects.
CREATE TABLE measurements (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    criterion_id bigint NOT NULL,
    cause_id     bigint NOT NULL,
    measured_on  date NOT NULL,
    value        numeric NOT NULL,
    source       text NOT NULL CHECK (length(trim(source)) BETWEEN 1 AND 500),
    confidence   text NOT NULL CHECK (confidence IN ('low', 'medium', 'high')),
    corrects     bigint REFERENCES measurements (id),
    author_id    bigint NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (criterion_id, cause_id) REFERENCES impact_criteria (id, cause_id)
);
CREATE INDEX measurements_criterion_idx ON measurements (criterion_id, measured_on, id);
CREATE UNIQUE INDEX measurements_corrected_once_idx ON measurements (corrects)
    WHERE corrects IS NOT NULL;

-- Scenarios of the action plan (A, B, C…), versioned like proposals: immutable versions,
-- each with a note on what changed.
CREATE TABLE scenarios (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cause_id    bigint NOT NULL REFERENCES causes (id),
    letter      text NOT NULL CHECK (letter ~ '^[A-Z]{1,2}$'),
    title       text NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 200),
    created_by  bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Set aside when another scenario is chosen (still readable).
    set_aside_at timestamptz,
    UNIQUE (cause_id, letter),
    UNIQUE (id, cause_id)
);

CREATE TABLE scenario_versions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scenario_id bigint NOT NULL REFERENCES scenarios (id),
    number      integer NOT NULL CHECK (number >= 1),
    summary     text NOT NULL CHECK (length(trim(summary)) BETWEEN 1 AND 20000),
    assumptions text NOT NULL DEFAULT '' CHECK (length(assumptions) <= 20000),
    risks       text NOT NULL DEFAULT '' CHECK (length(risks) <= 20000),
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    author_id   bigint NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (scenario_id, number),
    CHECK (number = 1 OR length(trim(note)) > 0)
);

-- A version's actions: what, who (a member or a role), when, means and cost, the criteria it
-- serves, the expected effect.
CREATE TABLE scenario_actions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version_id  bigint NOT NULL REFERENCES scenario_versions (id),
    position    integer NOT NULL,
    what        text NOT NULL CHECK (length(trim(what)) BETWEEN 1 AND 500),
    who_user    bigint REFERENCES users (id),
    who_role    bigint REFERENCES roles (id),
    due_on      date,
    means       text NOT NULL DEFAULT '' CHECK (length(means) <= 2000),
    cost        numeric(12, 2) CHECK (cost >= 0),
    expected    text NOT NULL DEFAULT '' CHECK (length(expected) <= 2000),
    criteria    bigint[] NOT NULL DEFAULT '{}',  -- impact_criteria ids of the cause
    UNIQUE (version_id, position),
    CHECK (who_user IS NULL OR who_role IS NULL)
);

-- Versions and their actions are kept as written.
CREATE FUNCTION cause_rows_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are kept as written: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER scenario_versions_kept BEFORE UPDATE OR DELETE ON scenario_versions
    FOR EACH ROW EXECUTE FUNCTION cause_rows_kept();
CREATE TRIGGER scenario_actions_kept BEFORE UPDATE OR DELETE ON scenario_actions
    FOR EACH ROW EXECUTE FUNCTION cause_rows_kept();
CREATE TRIGGER measurements_kept BEFORE UPDATE OR DELETE ON measurements
    FOR EACH ROW EXECUTE FUNCTION cause_rows_kept();
CREATE TRIGGER actor_assessments_kept BEFORE UPDATE OR DELETE ON actor_assessments
    FOR EACH ROW EXECUTE FUNCTION cause_rows_kept();

-- Choosing a scenario: a proposal of kind "choice" on the consent engine, with an election's
-- stages before its consent round: clarify (questions per scenario), preferences (sealed,
-- each with a reason), the reasons round, the change round; then the facilitator proposes
-- one scenario's version, and each later version of the proposal names the version it
-- proposes. Which scenarios may be preferred is fixed when the choice opens.
CREATE TABLE scenario_choices (
    proposal_id bigint PRIMARY KEY REFERENCES cause_proposals (proposal_id),
    cause_id    bigint NOT NULL REFERENCES causes (id),
    eligible    bigint[] NOT NULL DEFAULT '{}',  -- scenario ids
    -- Who states a preference and answers the consent rounds: fixed when the choice opens.
    participants bigint[] NOT NULL DEFAULT '{}'
);
CREATE INDEX scenario_choices_cause_idx ON scenario_choices (cause_id);

ALTER TABLE proposal_versions
    ADD COLUMN scenario_version_id bigint REFERENCES scenario_versions (id);
ALTER TABLE questions
    ADD COLUMN scenario_id bigint REFERENCES scenarios (id);

CREATE TABLE preferences (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id   bigint NOT NULL REFERENCES scenario_choices (proposal_id),
    round_id      bigint NOT NULL REFERENCES rounds (id),
    voter_id      bigint NOT NULL REFERENCES users (id),
    scenario_id   bigint REFERENCES scenarios (id),  -- NULL: no preference
    reason        text NOT NULL CHECK (length(trim(reason)) BETWEEN 1 AND 5000),
    changed       boolean NOT NULL DEFAULT false,  -- moved in the change round
    created_at    timestamptz NOT NULL DEFAULT now(),
    superseded_at timestamptz
);
CREATE UNIQUE INDEX preferences_current_idx ON preferences (proposal_id, voter_id)
    WHERE superseded_at IS NULL;
CREATE TRIGGER preferences_on_the_list BEFORE INSERT ON preferences
    FOR EACH ROW EXECUTE FUNCTION nominations_on_the_list();
-- A preference names a scenario the choice is about.
CREATE FUNCTION preferences_of_the_choice() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.scenario_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM scenario_choices
        WHERE proposal_id = NEW.proposal_id AND NEW.scenario_id = ANY (eligible)) THEN
        RAISE EXCEPTION 'scenario % is not one of choice %', NEW.scenario_id, NEW.proposal_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'preferences_of_the_choice';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER preferences_of_the_choice BEFORE INSERT ON preferences
    FOR EACH ROW EXECUTE FUNCTION preferences_of_the_choice();

-- The cause's tracked action list, created by the adoption of a scenario choice from the
-- chosen version's actions (in the same transaction).
CREATE TABLE action_items (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cause_id      bigint NOT NULL REFERENCES causes (id),
    decision_id   bigint NOT NULL REFERENCES decisions (id),
    source_action bigint NOT NULL REFERENCES scenario_actions (id),
    position      integer NOT NULL,
    what          text NOT NULL,
    owner_user    bigint REFERENCES users (id),
    owner_role    bigint REFERENCES roles (id),
    due_on        date,
    status        text NOT NULL DEFAULT 'planned'
        CHECK (status IN ('planned', 'doing', 'done', 'dropped')),
    evidence      text NOT NULL DEFAULT '' CHECK (length(evidence) <= 5000),
    reminded_on   date,  -- the owner's last reminder (once per threshold)
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (decision_id, source_action)
);
CREATE INDEX action_items_cause_idx ON action_items (cause_id, position);
CREATE INDEX action_items_due_idx ON action_items (due_on)
    WHERE status IN ('planned', 'doing');

-- The celebration: an event with every stakeholder.
CREATE TABLE celebrations (
    cause_id     bigint PRIMARY KEY REFERENCES causes (id),
    held_on      date NOT NULL,
    place        text NOT NULL CHECK (length(trim(place)) BETWEEN 1 AND 300),
    story        text NOT NULL DEFAULT '' CHECK (length(story) <= 20000),
    invited      bigint[] NOT NULL DEFAULT '{}',  -- actor ids
    updated_by   bigint NOT NULL REFERENCES users (id),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
