-- The decision register at a million decisions (issue 14).
--
-- A page of the register reads a few dozen decisions, a filtered one at most a few thousand
-- index entries: parallel workers never pay for themselves there, yet PostgreSQL starts one
-- whenever it expects a few thousand rows, e.g. for any word its statistics do not list (it
-- expects 1 300 matches in a million decisions; "apiculture" has 139). Starting the worker
-- took longer than the search itself (bench/register_sql.py, 1 M decisions: that search
-- 9.6 ms at the median with a worker, 2.9 ms without). No parallel scans of decisions: a whole
-- scan of it is maintenance work, never a page's.
ALTER TABLE decisions SET (parallel_workers = 0);
