-- Elections without candidates (issue 11): an election is a proposal of kind "election" on
-- the consent engine. Before its consent round come its own stages: nominations (sealed),
-- the reasons round, the change round; each later version proposes a holder (and the term),
-- and adoption grants the mandate in the same transaction (consent/store.py).

ALTER TABLE proposals
    DROP CONSTRAINT proposals_stage_check,
    ADD CONSTRAINT proposals_stage_check CHECK (stage IN (
        'draft', 'clarify', 'react', 'object', 'integrate', 'nominate', 'reasons', 'change',
        'adopted', 'withdrawn', 'rejected')),
    DROP CONSTRAINT proposals_kind_check,
    ADD CONSTRAINT proposals_kind_check CHECK (kind IN ('ordinary', 'role', 'election')),
    -- A role proposal names the role it changes; an election, the role it fills.
    DROP CONSTRAINT proposals_role_only_for_roles,
    ADD CONSTRAINT proposals_role_only_for_roles CHECK (kind <> 'ordinary' OR role_id IS NULL),
    ADD CONSTRAINT proposals_election_has_role CHECK (kind <> 'election' OR role_id IS NOT NULL);

-- The nominations round stays open from the nominations to the change round.
ALTER TABLE rounds
    DROP CONSTRAINT rounds_kind_check,
    ADD CONSTRAINT rounds_kind_check CHECK (kind IN ('clarify', 'react', 'object', 'nominate')),
    DROP CONSTRAINT rounds_outcome_check,
    ADD CONSTRAINT rounds_outcome_check CHECK (outcome IN (
        'adopted', 'integrate', 'advanced', 'restarted', 'ended', 'declined'));

-- Whether the person proposed answers the consent round last (the default) or with the
-- others: a space's choice, copied into each election when it is described.
ALTER TABLE spaces ADD COLUMN election_nominee_last boolean NOT NULL DEFAULT true;

CREATE TABLE elections (
    proposal_id  bigint PRIMARY KEY,
    space_id     bigint NOT NULL,
    role_id      bigint NOT NULL,
    role_version integer NOT NULL,  -- the role's text the election is about
    seat         integer NOT NULL CHECK (seat >= 1),
    nominee_last boolean NOT NULL,
    -- Who may be nominated: fixed when the nominations open (eligibility, term limits).
    eligible     bigint[] NOT NULL DEFAULT '{}',
    -- The facilitator may show how many times each person was named (off by default).
    show_tally   boolean NOT NULL DEFAULT false,
    FOREIGN KEY (proposal_id, space_id) REFERENCES proposals (id, space_id),
    FOREIGN KEY (role_id, space_id) REFERENCES roles (id, space_id),
    FOREIGN KEY (role_id, role_version) REFERENCES role_versions (role_id, number)
);
CREATE INDEX elections_role_idx ON elections (role_id, seat);

-- Each version of an election names the term, and from the second on the person proposed.
ALTER TABLE proposal_versions
    ADD COLUMN nominee_id bigint REFERENCES users (id),
    ADD COLUMN term daterange
        CHECK (term IS NULL OR (NOT isempty(term) AND NOT lower_inf(term) AND NOT upper_inf(term)));

-- A nomination is kept for the record when it is moved: the current one has no
-- superseded_at. The reason is required (a pass has one too).
CREATE TABLE nominations (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    proposal_id   bigint NOT NULL REFERENCES elections (proposal_id),
    round_id      bigint NOT NULL REFERENCES rounds (id),
    voter_id      bigint NOT NULL REFERENCES users (id),
    nominee_id    bigint REFERENCES users (id),  -- NULL: passes
    reason        text NOT NULL CHECK (length(trim(reason)) BETWEEN 1 AND 5000),
    changed       boolean NOT NULL DEFAULT false,  -- moved in the change round
    created_at    timestamptz NOT NULL DEFAULT now(),
    superseded_at timestamptz
);
CREATE UNIQUE INDEX nominations_current_idx ON nominations (proposal_id, voter_id)
    WHERE superseded_at IS NULL;
-- The nominations round's list is fixed: only those on it nominate.
CREATE FUNCTION nominations_on_the_list() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM round_participants
                   WHERE round_id = NEW.round_id AND user_id = NEW.voter_id) THEN
        RAISE EXCEPTION 'user % is not on the list of round %', NEW.voter_id, NEW.round_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'nominations_on_the_list';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER nominations_on_the_list BEFORE INSERT ON nominations
    FOR EACH ROW EXECUTE FUNCTION nominations_on_the_list();

-- A mandate given by an election names it.
ALTER TABLE mandates
    ADD CONSTRAINT mandates_election_fk FOREIGN KEY (election_id) REFERENCES elections (proposal_id);
CREATE UNIQUE INDEX mandates_one_per_election_idx ON mandates (election_id)
    WHERE election_id IS NOT NULL;
