-- The outbox: email written in the transaction of the action that causes it, delivered
-- afterwards by the sender (consentir/mail.py), so a rolled-back action sends nothing and
-- a committed one is delivered even if the SMTP server is down for a while.
--
-- A row is due while sent_at and failed_at are NULL and send_after has passed. Claiming a
-- row adds one to attempts and moves send_after a few minutes ahead (a lease): a sender that
-- dies before recording the outcome leaves the row to be tried again once the lease ends.
-- A failed attempt stores last_error and backs send_after off; after the last attempt the
-- row gets failed_at and is never picked again.

CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient  text NOT NULL CHECK (recipient <> '' AND recipient !~ '[\r\n]'),
    subject    text NOT NULL CHECK (subject !~ '[\r\n]'),
    body_text  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    send_after timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    failed_at  timestamptz,
    attempts   integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error text,
    CHECK (sent_at IS NULL OR failed_at IS NULL)
);

-- "Unsent, due, oldest first": only pending rows are indexed, so the index stays small
-- however many messages have been sent.
CREATE INDEX outbox_due_idx ON outbox (send_after, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;
