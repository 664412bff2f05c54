-- Notifications: each event that hands the process to someone (or that they follow) leaves
-- a row for them, written in the transaction of the step that caused it, so a step that
-- rolls back notifies nobody. The header counts the unread ones; /notifications lists them.
--
-- Email follows each person's preference per space and category (notifications/mailer.py):
-- "for_me" rows (the process waits for this person) default to an email soon after, grouped
-- when several come within minutes; the others ("news") to a daily digest. A row is emailed
-- once: `emailed_at` is set when its email is queued in the outbox (or when the preference
-- says none), in the same transaction.

CREATE TABLE notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    space_id   bigint NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind ~ '^[a-z][a-z_]*$'),
    for_me     boolean NOT NULL,
    -- What it is about: a path inside the site, and its title when the event happened.
    link       text NOT NULL CHECK (link ~ '^/'),
    title      text NOT NULL,
    actor_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    meeting_id bigint REFERENCES meetings (id) ON DELETE CASCADE,  -- an .ics goes with it
    data       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at    timestamptz,
    emailed_at timestamptz,
    outbox_id  bigint
);

-- A person's list, newest first (keyset pagination), and their unread count.
CREATE INDEX notifications_user_idx ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
-- What the mailer still has to look at: only rows not yet emailed are indexed.
CREATE INDEX notifications_unmailed_idx ON notifications (user_id, created_at)
    WHERE emailed_at IS NULL;

-- How a person wants to be emailed, per space and category; no row: the default
-- (immediately for what waits for them, a daily digest for the rest).
CREATE TABLE notification_preferences (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    space_id bigint NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
    category text NOT NULL CHECK (category IN ('for_me', 'news')),
    mode     text NOT NULL CHECK (mode IN ('immediate', 'digest', 'none')),
    PRIMARY KEY (user_id, space_id, category)
);

-- Email headers (List-Unsubscribe) and attachments (a meeting's .ics) in the outbox.
ALTER TABLE outbox
    ADD COLUMN headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]'::jsonb;

-- A decision due for review is announced once to those who hold a stake in it; a new review
-- date announces it again when that date comes.
ALTER TABLE decisions ADD COLUMN review_announced_on date;
CREATE INDEX decisions_review_due_idx ON decisions (review_on)
    WHERE review_announced_on IS NULL;

-- Whether a person still belongs to the space of a notification (directly, or through the
-- parent space when it includes its members): what they left is no longer shown or sent.
CREATE FUNCTION notification_visible(p_user_id bigint, p_space_id bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT 1 FROM memberships m
                   WHERE m.space_id = p_space_id AND m.user_id = p_user_id)
        OR EXISTS (SELECT 1 FROM spaces c JOIN memberships pm ON pm.space_id = c.parent_id
                   WHERE c.id = p_space_id AND c.parent_members_included
                     AND pm.user_id = p_user_id)
$$;
