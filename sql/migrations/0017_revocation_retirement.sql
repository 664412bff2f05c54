-- Revoking a mandate and retiring a role are decisions (issue 11 §1–2).
--
-- A revocation is a proposal of kind "revocation" on the consent engine: it names the mandate
-- it revokes and, optionally, the mandate's last day (NULL: the day it is adopted). Its
-- adoption ends the mandate in the same transaction (mandates/revoking.py): end_reason
-- 'revoked', revoking_decision_id = its decision.
--
-- Retiring a role is a proposal of kind "role" whose text says `"retire": true` (a change of
-- an existing role): its adoption writes the role's version, sets roles.retired_on and
-- retiring_decision_id, and ends every mandate of the role still running after that day
-- (mandates/store.py adopt_role). A retired role gets no new mandate: the trigger below
-- refuses one, whatever writes it.

-- A revocation names a mandate of its own space: the pair is a key foreign keys can name.
ALTER TABLE mandates ADD CONSTRAINT mandates_id_space_key UNIQUE (id, space_id);

ALTER TABLE proposals
    DROP CONSTRAINT proposals_kind_check,
    ADD CONSTRAINT proposals_kind_check
        CHECK (kind IN ('ordinary', 'role', 'election', 'review', 'revocation')),
    ADD COLUMN revokes_mandate bigint,
    ADD COLUMN revokes_last_day date,
    ADD CONSTRAINT proposals_revokes_mandate_fkey
        FOREIGN KEY (revokes_mandate, space_id) REFERENCES mandates (id, space_id),
    ADD CONSTRAINT proposals_revocation_names_its_mandate
        CHECK ((kind = 'revocation') = (revokes_mandate IS NOT NULL)),
    ADD CONSTRAINT proposals_last_day_only_to_revoke
        CHECK (kind = 'revocation' OR revokes_last_day IS NULL),
    ADD CONSTRAINT proposals_revocation_has_no_role CHECK (kind <> 'revocation' OR role_id IS NULL);
-- A mandate's revocations, for its pages.
CREATE INDEX proposals_revokes_mandate_idx ON proposals (revokes_mandate, id)
    WHERE revokes_mandate IS NOT NULL;

-- The decision that revoked a mandate is one of its space's, and only a revoked mandate (or
-- one whose role was retired after its revocation was decided) names one.
ALTER TABLE mandates
    ADD CONSTRAINT mandates_revoking_decision_space_fkey
        FOREIGN KEY (revoking_decision_id, space_id) REFERENCES decisions (id, space_id),
    ADD CONSTRAINT mandates_revoking_decision_ends_it
        CHECK (revoking_decision_id IS NULL OR end_reason IN ('revoked', 'role_retired'));

-- The decision that retired a role (NULL for a role retired before decisions were kept, if any).
ALTER TABLE roles
    ADD COLUMN retiring_decision_id bigint,
    ADD CONSTRAINT roles_retiring_decision_fkey
        FOREIGN KEY (retiring_decision_id, space_id) REFERENCES decisions (id, space_id),
    ADD CONSTRAINT roles_retiring_decision_retires_it
        CHECK (retiring_decision_id IS NULL OR retired_on IS NOT NULL);

-- No new mandate on a retired role (the seat check, extended: the same trigger).
CREATE OR REPLACE FUNCTION mandates_seat_exists() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_seats integer;
    v_retired date;
BEGIN
    SELECT v.seats, r.retired_on INTO v_seats, v_retired
    FROM roles r JOIN role_versions v ON v.role_id = r.id AND v.number = r.version
    WHERE r.id = NEW.role_id;
    IF v_seats IS NULL OR NEW.seat > v_seats THEN
        RAISE EXCEPTION 'seat % does not exist in role % (% seats)', NEW.seat, NEW.role_id, v_seats
            USING ERRCODE = 'check_violation', CONSTRAINT = 'mandates_seat_within_role';
    END IF;
    IF TG_OP = 'INSERT' AND v_retired IS NOT NULL THEN
        RAISE EXCEPTION 'role % was retired on %: no new mandate', NEW.role_id, v_retired
            USING ERRCODE = 'check_violation', CONSTRAINT = 'mandates_role_in_force';
    END IF;
    RETURN NEW;
END
$$;
