-- The hot wallet's limit, run by pgbench: the least a posting can be. One statement
-- locks and updates the wallet's balance and inserts the ledger row with its key and
-- the balances before and after, committed on its own (synchronous_commit on).
-- Run with -D wallet=<id> -D n=0 -D wallets=<table> -D ledger=<table>: the bench runs it on
-- our tables (their triggers and constraints included) and on bare copies of them.
-- :client_id and the per-client counter :n make the idempotency key.
\set n :n + 1
WITH moved AS (
    UPDATE :wallets SET balance = balance - 0.010000 WHERE id = :wallet RETURNING balance
)
INSERT INTO :ledger
    (wallet_id, kind, amount, balance_before, balance_after, reference, memo, idempotency_key, created_at)
SELECT :wallet, 'message_charge', -0.010000, balance + 0.010000, balance, '', '',
       'pgbench:' || :client_id || ':' || :n, now()
FROM moved;
