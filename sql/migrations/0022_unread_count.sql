-- The header's count of unread notifications is asked by every page (accounts/store.py
-- _SESSION_VIEWER): an index of the unread ones by person AND space lets it count those of
-- the spaces the person may still see from the index alone, without visiting one table row
-- per notification. It replaces the index by person only (its leading column serves the
-- same look-ups).
CREATE INDEX notifications_unread_space_idx ON notifications (user_id, space_id)
    WHERE read_at IS NULL;
DROP INDEX notifications_unread_idx;
