-- A proposal's title belongs to each of its versions: a new version may retitle it, and the
-- decision takes the adopted version's title. `proposals.title` stays as the current
-- version's title (lists read it); each action that publishes a version sets both.
ALTER TABLE proposal_versions ADD COLUMN title text;

-- Existing versions take their proposal's title (until now a title could change only while
-- the proposal was a draft, so every version had it, and every decision took it). Published
-- versions never change (the trigger refuses it): this one-time fill is the only exception.
ALTER TABLE proposal_versions DISABLE TRIGGER proposal_versions_immutable;
UPDATE proposal_versions v SET title = p.title FROM proposals p WHERE p.id = v.proposal_id;
ALTER TABLE proposal_versions ENABLE TRIGGER proposal_versions_immutable;

ALTER TABLE proposal_versions ALTER COLUMN title SET NOT NULL,
    ADD CONSTRAINT proposal_versions_title_check CHECK (length(title) BETWEEN 1 AND 200);
