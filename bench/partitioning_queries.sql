-- The timed queries of bench/partitioning.md, for :tbl = usage_single or usage_monthly.
-- psql -d billing_part -v tbl=usage_single -f bench/partitioning_queries.sql
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
\echo page: newest 50 of one month, hot wallet
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT * FROM :tbl WHERE wallet_id = 1
  AND occurred_at >= '2026-06-01' AND occurred_at < '2026-07-01' ORDER BY occurred_at DESC LIMIT 50;
\echo page: 50 rows at offset 5000 of the one-year range
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT * FROM :tbl WHERE wallet_id = 1
  AND occurred_at >= '2025-12-01' AND occurred_at < '2026-12-01' ORDER BY occurred_at DESC LIMIT 50 OFFSET 5000;
\echo export: one year of the hot wallet (1M rows)
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT * FROM :tbl WHERE wallet_id = 1
  AND occurred_at >= '2025-12-01' AND occurred_at < '2026-12-01' ORDER BY occurred_at;
\echo export: one month of a small workspace
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT * FROM :tbl WHERE wallet_id = 4242
  AND occurred_at >= '2026-06-01' AND occurred_at < '2026-07-01' ORDER BY occurred_at;
\echo ingest: which of 1,000 ids are already recorded
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT message_id FROM :tbl WHERE workspace_id = 1
  AND message_id = ANY (ARRAY(SELECT 'm' || g FROM generate_series(500001, 501000) g));
\echo ingest: insert 1,000 new rows (rolled back)
BEGIN;
EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) INSERT INTO :tbl (id, message_id, message_type, category, direction,
  status, country, segments, unit_price, cost, carrier_fee, total, occurred_at, recorded_at, channel_id, wallet_id,
  workspace_id)
SELECT 20000000 + g, 'new' || g, 'sms', '', 'outbound', 'delivered', 'US', 1, 0.0079, 0.0079, 0.003, 0.0109,
       timestamptz '2026-11-20' + g * interval '1 second', now(), 100, 1, 1 FROM generate_series(1, 1000) g;
ROLLBACK;
