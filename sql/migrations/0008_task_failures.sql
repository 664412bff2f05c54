-- Background tasks (consentir/tasks.py) handle rows one at a time. A row whose handling
-- failed is recorded here, so that every worker, before and after a restart, leaves it
-- alone until its next attempt, and sets it aside for good after the last one: a bad row
-- never blocks the others. The outbox keeps the same record in its own columns
-- (0002_outbox.sql).
--
-- `task` names the task ('reminder', 'closing'), `row_id` the row it failed on (a round).
-- A row is due again once next_attempt_at has passed, unless failed_at is set (set aside:
-- never tried again; last_error says why). A success deletes the record.

CREATE TABLE task_failures (
    task            text NOT NULL CHECK (task ~ '^[a-z_]+$'),
    row_id          bigint NOT NULL,
    attempts        integer NOT NULL CHECK (attempts > 0),
    next_attempt_at timestamptz NOT NULL,
    last_error      text NOT NULL,
    failed_at       timestamptz,
    PRIMARY KEY (task, row_id)
);
