-- Reminders before a term ends (issue 11): 60, 30 and 7 days before a mandate's last day, its
-- holder is told, and so are the space's facilitators and administrators
-- (mandates/reminders.py). A row here says that the reminder of this threshold went out for
-- this mandate: it is written in the transaction that writes the notifications, and its key
-- refuses a second one, so each reminder goes out once whatever the number of workers.
-- `last_day` is the day it announced (the running term's: a mandate ending early is reminded
-- of its new last day).
CREATE TABLE mandate_reminders (
    mandate_id  bigint NOT NULL REFERENCES mandates (id),
    days_before integer NOT NULL CHECK (days_before >= 0),
    last_day    date NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mandate_id, days_before)
);

-- The task looks only at mandates whose running term ends within the longest threshold.
CREATE INDEX mandates_term_end_idx ON mandates (upper(term)) WHERE NOT isempty(term);
