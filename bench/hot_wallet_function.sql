-- Our posting statement itself, run by pgbench: ledger_post_many() for one posting with
-- no Python and no Django around it. Between the minimal posting and ledger_post from
-- Python, it says how much of the gap is the SQL function and how much the caller.
-- Run with -D wallet=<id> -D n=0, as bench/hot_wallet_posting.sql.
\set n :n + 1
SELECT * FROM ledger_post_many(:wallet, ARRAY['message_charge'], ARRAY[-0.010000], ARRAY['pgbench-fn:' || :client_id || ':' || :n],
                               ARRAY[''], ARRAY[''], ARRAY[NULL::integer], now(), false);
