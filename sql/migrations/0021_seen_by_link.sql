-- A step on a proposal marks read what told its actor of the proposal (consent/store.py
-- _FINISH, in the statement that ends the step, while the proposal's row is locked): the
-- person's unread notifications whose link is the proposal's, with or without an #anchor.
-- The index of the unread ones by person alone made that visit every unread notification of
-- the person (bench/writes.py: ~470 each, 1.9 ms of the ~4 ms a position holds the lock);
-- by person and link without its anchor, it finds just those.
CREATE INDEX notifications_unread_link_idx ON notifications (user_id, split_part(link, '#', 1))
    WHERE read_at IS NULL;
