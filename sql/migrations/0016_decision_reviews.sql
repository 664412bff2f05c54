-- Reviews of decisions (issue 11 §5).
--
-- A decision leaves force once, ended by a later decision of its space that supersedes or
-- repeals it: one row of `decision_links`, whose key is the decision it ends. A decision's
-- status is derived from that row (the view `decision_states`, read by every reader), never
-- stored: there is no second copy to disagree with the links. The register, its filters and
-- exports, a decision's page, the review task and the dashboard all read the view.
--
-- A review is a proposal of kind "review" on the consent engine: it names the decision it
-- reviews and the outcome it proposes (confirm with a new review date, amend, repeal);
-- its adoption applies that outcome in the same transaction (decisions/reviewing.py).

-- Links (and reviews) stay within a space: the pair is a key foreign keys can name.
ALTER TABLE decisions ADD CONSTRAINT decisions_id_space_key UNIQUE (id, space_id);

CREATE TABLE decision_links (
    -- The decision the link ends: a decision is superseded or repealed once.
    target_id   bigint PRIMARY KEY,
    -- The decision that ends it (NULL only for a decision marked repealed or superseded before
    -- links were kept, by a decision the register did not record: see the check below).
    decision_id bigint,
    space_id    bigint NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('supersedes', 'repeals')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (decision_id <> target_id),
    FOREIGN KEY (target_id, space_id) REFERENCES decisions (id, space_id),
    FOREIGN KEY (decision_id, space_id) REFERENCES decisions (id, space_id)
);
-- Read the other way: what a decision supersedes or repeals. (The key, on the target,
-- serves the status: the anti-join "in force" and the join of every reader.)
CREATE INDEX decision_links_decision_idx ON decision_links (decision_id, target_id);

-- The data kept so far: the stored status, `superseded_by`, and `decision_supersedes` (which
-- could hold a second link to a decision already superseded: the stored status decided
-- which one counted, and so it does here).
INSERT INTO decision_links (target_id, decision_id, space_id, kind)
SELECT id, NULL, space_id, 'repeals' FROM decisions WHERE status = 'repealed';

INSERT INTO decision_links (target_id, decision_id, space_id, kind, created_at)
SELECT old.id, by.id, old.space_id, 'supersedes', coalesce(by.adopted_at, now())
FROM decisions old
LEFT JOIN LATERAL (
    SELECT n.id, n.adopted_at FROM decisions n
    WHERE n.space_id = old.space_id AND n.id <> old.id
      AND (n.id = old.superseded_by
           OR n.id IN (SELECT s.decision_id FROM decision_supersedes s
                       WHERE s.superseded_id = old.id))
    ORDER BY (n.id = old.superseded_by) IS TRUE DESC, n.adopted_at, n.id
    LIMIT 1
) by ON true
WHERE old.status = 'superseded';

DROP TABLE decision_supersedes;
-- (decisions_status_idx goes with the column.)
ALTER TABLE decisions DROP COLUMN status, DROP COLUMN superseded_by;

-- From now on every link names the decision that ends its target (rows migrated above may
-- not: NOT VALID leaves them be and checks every new one).
ALTER TABLE decision_links
    ADD CONSTRAINT decision_links_by_a_decision CHECK (decision_id IS NOT NULL) NOT VALID;

-- A link is kept for the record: a decision that left force does not come back by an
-- update. (To bring a text back, a new decision is adopted.)
CREATE FUNCTION decision_links_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'links between decisions are kept: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER decision_links_no_update_or_delete BEFORE UPDATE OR DELETE ON decision_links
    FOR EACH ROW EXECUTE FUNCTION decision_links_kept();
CREATE TRIGGER decision_links_no_truncate BEFORE TRUNCATE ON decision_links
    FOR EACH STATEMENT EXECUTE FUNCTION decision_links_kept();

-- Reviews: a proposal of kind "review" names the decision it reviews and the outcome it
-- proposes; "confirm" carries the next review date.
ALTER TABLE proposals
    DROP CONSTRAINT proposals_kind_check,
    ADD CONSTRAINT proposals_kind_check CHECK (kind IN ('ordinary', 'role', 'election', 'review')),
    ADD COLUMN review_of bigint,
    ADD COLUMN review_outcome text CHECK (review_outcome IN ('confirm', 'amend', 'repeal')),
    ADD COLUMN review_next_on date,
    ADD CONSTRAINT proposals_review_of_fkey
        FOREIGN KEY (review_of, space_id) REFERENCES decisions (id, space_id),
    ADD CONSTRAINT proposals_review_names_its_decision
        CHECK ((kind = 'review') = (review_of IS NOT NULL AND review_outcome IS NOT NULL)),
    ADD CONSTRAINT proposals_review_date_to_confirm
        CHECK (coalesce(review_outcome = 'confirm', false) = (review_next_on IS NOT NULL)),
    ADD CONSTRAINT proposals_review_has_no_role CHECK (kind <> 'review' OR role_id IS NULL);
-- One review under way per decision; and a decision's reviews, for its page.
CREATE UNIQUE INDEX proposals_one_open_review_idx ON proposals (review_of)
    WHERE review_of IS NOT NULL AND closed_at IS NULL;
CREATE INDEX proposals_review_of_idx ON proposals (review_of, id) WHERE review_of IS NOT NULL;

-- A decision's status, derived from the link that ended it (if any):
--   status        in_force | superseded | repealed
--   in_force      no link ends it (filtering on it is an anti-join on decision_links' key)
--   ended_as      the link that ended it: supersedes | repeals (filtering on it starts from
--                 the links: a join on their key)
--   superseded_by / repealed_by   the decision that ended it
--   reviewable    in force, and not the record of a review that confirmed or repealed
--                 another decision (the confirmed one carries the review; a repeal is done)
CREATE VIEW decision_states AS
SELECT d.id AS decision_id,
       CASE l.kind WHEN 'supersedes' THEN 'superseded' WHEN 'repeals' THEN 'repealed'
                   ELSE 'in_force' END AS status,
       l.target_id IS NULL AS in_force,
       l.kind AS ended_as,
       CASE WHEN l.kind = 'supersedes' THEN l.decision_id END AS superseded_by,
       CASE WHEN l.kind = 'repeals' THEN l.decision_id END AS repealed_by,
       -- (A scalar look-up by the proposal's key: evaluated only where it is read.)
       l.target_id IS NULL AND coalesce(
           (SELECT p.review_outcome FROM proposals p WHERE p.id = d.proposal_id)
           NOT IN ('confirm', 'repeal'), true) AS reviewable
FROM decisions d
LEFT JOIN decision_links l ON l.target_id = d.id;
