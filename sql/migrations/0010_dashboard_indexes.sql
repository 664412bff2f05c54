-- The dashboard ("waiting for you") reads, for one person, across all their spaces, in one
-- statement. Three of its branches had no index to start from and scanned a whole table,
-- slower as every space's history grew:
-- - the proposer's open proposals (questions to answer, a version to publish): no index on
--   proposals.proposer_id; only open proposals matter, so the index holds only those;
CREATE INDEX proposals_proposer_open_idx ON proposals (proposer_id) WHERE closed_at IS NULL;
-- - the open proposals of the spaces one facilitates (objections to judge, rounds ready to
--   close or past their deadline): proposals_space_idx holds every proposal ever made in the
--   space; this one only those still under way;
CREATE INDEX proposals_space_open_idx ON proposals (space_id) WHERE closed_at IS NULL;
-- - the objector's valid objections (an integration to confirm): no index on objector_id;
--   valid is the only status that waits for the objector;
CREATE INDEX objections_objector_valid_idx ON objections (objector_id) WHERE status = 'valid';
-- - the meetings one runs that are not over: no index on meetings.facilitator_id.
CREATE INDEX meetings_facilitator_idx ON meetings (facilitator_id) WHERE state <> 'closed';
