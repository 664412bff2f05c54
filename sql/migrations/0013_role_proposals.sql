-- Creating or changing a role is a consent decision (issue 11): a proposal of kind "role"
-- carries the role's text in each of its versions (diffable like the rest of a version);
-- its adoption writes the role's new version, linked to the decision, in the same
-- transaction (mandates/store.py adopt_role). `role_id` names the role a proposal changes,
-- or, once a proposal that creates one is adopted, the role it created.
ALTER TABLE proposals
    ADD COLUMN kind text NOT NULL DEFAULT 'ordinary' CHECK (kind IN ('ordinary', 'role')),
    ADD COLUMN role_id bigint REFERENCES roles (id),
    ADD CONSTRAINT proposals_role_only_for_roles CHECK (kind = 'role' OR role_id IS NULL);

ALTER TABLE proposal_versions ADD COLUMN role_text jsonb;
