-- Roles and mandates (issue 11). A role is a space's standing function (présidence,
-- trésorerie…), its text versioned like a proposal's; a mandate gives one seat of a role to
-- one person for a term, and always names the decision that granted it.
--
-- PostgreSQL itself keeps the mandates sound, whatever writes them:
-- - no two holders of one seat at the same time, and nobody holding two seats of one role at
--   once: exclusion constraints on the term as it runs (btree_gist lets the role, seat and
--   holder take part in a GiST index beside the date range);
-- - a seat within the role's number of seats (a trigger: the number is in role_versions).
-- Future-dated mandates are allowed (a successor chosen before the term ends): only
-- overlapping terms are refused. A mandate grants its role's rights only while its term
-- covers the day: rights end with the term, with no job to run.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE roles (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id   bigint NOT NULL REFERENCES spaces (id),
    version    integer NOT NULL DEFAULT 1 CHECK (version >= 1),  -- the current text's number
    -- Recorded by an administrator as it existed before the instance (no decision here).
    preexisting boolean NOT NULL DEFAULT false,
    retired_on date,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, space_id)
);
CREATE INDEX roles_space_idx ON roles (space_id, id);

CREATE TABLE role_versions (
    role_id           bigint NOT NULL REFERENCES roles (id),
    number            integer NOT NULL CHECK (number >= 1),
    name              text NOT NULL CHECK (name <> '' AND length(name) <= 100),
    purpose           text NOT NULL,
    domain            text NOT NULL,  -- what the role decides alone
    accountabilities  text[] NOT NULL DEFAULT '{}',
    seats             integer NOT NULL CHECK (seats BETWEEN 1 AND 50),
    term_months       integer NOT NULL CHECK (term_months BETWEEN 1 AND 120),
    consecutive_terms integer CHECK (consecutive_terms BETWEEN 1 AND 20),  -- NULL: no limit
    eligibility       text NOT NULL DEFAULT '',
    decision_id       bigint REFERENCES decisions (id),  -- NULL: recorded as pre-existing
    created_by        bigint REFERENCES users (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role_id, number)
);

CREATE TABLE mandates (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id    bigint NOT NULL,
    role_id     bigint NOT NULL,
    seat        integer NOT NULL CHECK (seat >= 1),
    holder_id   bigint NOT NULL REFERENCES users (id),
    -- Dates are days; a range is [first day, day after the last day).
    granted     daterange NOT NULL
                CHECK (NOT isempty(granted) AND NOT lower_inf(granted) AND NOT upper_inf(granted)),
    -- The term as it runs: the granted one, cut short by an early end (empty when it ended
    -- before it began: a successor who resigned before taking the seat).
    term        daterange NOT NULL,
    decision_id bigint NOT NULL REFERENCES decisions (id),
    election_id bigint,
    ended_on    date,  -- the last day of a mandate that ended early
    end_reason  text CHECK (end_reason IN ('resigned', 'revoked', 'role_retired')),
    revoking_decision_id bigint REFERENCES decisions (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (role_id, space_id) REFERENCES roles (id, space_id),
    CHECK ((ended_on IS NULL) = (end_reason IS NULL)),
    CHECK (end_reason IS DISTINCT FROM 'revoked' OR revoking_decision_id IS NOT NULL),
    CHECK (term = CASE WHEN ended_on IS NULL THEN granted
                       ELSE granted * daterange(NULL, ended_on + 1) END),
    CONSTRAINT mandates_one_holder_per_seat
        EXCLUDE USING gist (role_id WITH =, seat WITH =, term WITH &&),
    CONSTRAINT mandates_one_seat_per_person
        EXCLUDE USING gist (role_id WITH =, holder_id WITH =, term WITH &&)
);
CREATE INDEX mandates_holder_idx ON mandates (holder_id, lower(granted) DESC);
CREATE INDEX mandates_space_idx ON mandates (space_id, role_id, seat, lower(granted));

CREATE FUNCTION mandates_seat_exists() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_seats integer;
BEGIN
    SELECT v.seats INTO v_seats
    FROM roles r JOIN role_versions v ON v.role_id = r.id AND v.number = r.version
    WHERE r.id = NEW.role_id;
    IF v_seats IS NULL OR NEW.seat > v_seats THEN
        RAISE EXCEPTION 'seat % does not exist in role % (% seats)', NEW.seat, NEW.role_id, v_seats
            USING ERRCODE = 'check_violation', CONSTRAINT = 'mandates_seat_within_role';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER mandates_seat_within_role
    BEFORE INSERT OR UPDATE OF role_id, seat ON mandates
    FOR EACH ROW EXECUTE FUNCTION mandates_seat_exists();
