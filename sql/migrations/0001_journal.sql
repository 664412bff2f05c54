-- The journal: an append-only, hash-chained record of every change of state.
--
-- Each space has its own chain (instance-wide events, with no space, form chain 0). A row's
-- hash is SHA-256 over a canonical encoding of its content and its predecessor's hash
-- (journal_digest), so changing, removing or reordering rows breaks the chain, and
-- `consentir journal verify` names the first broken row. Rows are written only through
-- journal_append(), inside the transaction of the change they record.

CREATE SEQUENCE journal_id_seq;

CREATE TABLE journal (
    id           bigint PRIMARY KEY,
    space_id     bigint,
    actor_id     bigint,
    action       text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$'),
    subject_type text NOT NULL CHECK (subject_type ~ '^[a-z][a-z0-9_]*$'),
    subject_id   bigint,
    data         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL,
    prev_hash    bytea CHECK (length(prev_hash) = 32),
    hash         bytea NOT NULL CHECK (length(hash) = 32)
);

ALTER SEQUENCE journal_id_seq OWNED BY journal.id;

-- Walking a chain (verify, live replay by space) and a subject's history.
CREATE INDEX journal_chain_idx ON journal (space_id NULLS FIRST, id);
CREATE INDEX journal_subject_idx ON journal (subject_type, subject_id, id);

-- The last row of each chain. Its row lock serialises appends within one space until commit,
-- so concurrent transactions extend the chain one after the other and it never forks.
CREATE TABLE journal_heads (
    chain     bigint PRIMARY KEY,
    last_id   bigint,
    last_hash bytea
);

CREATE FUNCTION journal_digest(j journal) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(convert_to(jsonb_build_array(
        j.id, j.space_id, j.actor_id, j.action, j.subject_type, j.subject_id, j.data,
        to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        encode(j.prev_hash, 'hex')
    )::text, 'UTF8'))
$$;

CREATE FUNCTION journal_append(
    p_space_id bigint,
    p_actor_id bigint,
    p_action text,
    p_subject_type text,
    p_subject_id bigint,
    p_data jsonb
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_chain bigint := coalesce(p_space_id, 0);
    v_prev  bytea;
    v_row   journal;
BEGIN
    -- Take (or create) the chain's head and hold its lock until this transaction ends.
    INSERT INTO journal_heads AS h (chain) VALUES (v_chain)
    ON CONFLICT (chain) DO UPDATE SET chain = h.chain
    RETURNING h.last_hash INTO v_prev;

    v_row := ROW(nextval('journal_id_seq'), p_space_id, p_actor_id, p_action, p_subject_type,
                 p_subject_id, coalesce(p_data, '{}'::jsonb), clock_timestamp(), v_prev, NULL);
    v_row.hash := journal_digest(v_row);
    INSERT INTO journal SELECT v_row.*;
    UPDATE journal_heads SET last_id = v_row.id, last_hash = v_row.hash WHERE chain = v_chain;

    -- Live pages learn of the event once (and only if) this transaction commits.
    PERFORM pg_notify(
        CASE WHEN p_space_id IS NULL THEN 'instance' ELSE 'space:' || p_space_id END,
        v_row.id::text
    );
    RETURN v_row.id;
END
$$;

CREATE FUNCTION journal_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'record a correcting event with journal_append() instead';
END
$$;

CREATE TRIGGER journal_no_update_or_delete
    BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_refuse_change();

CREATE TRIGGER journal_no_truncate
    BEFORE TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse_change();
