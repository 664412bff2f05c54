-- A round's positions, changed ones included (a decision's trail reads them all): the only
-- index on positions was the partial one on current positions, so the trail scanned the
-- whole table, slower as every space's history grew.
CREATE INDEX positions_round_idx ON positions (round_id, id);
