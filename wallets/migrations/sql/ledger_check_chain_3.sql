-- The ledger chain check: a new row's balance_before is the wallet's previous balance_after.
-- Version 3: the previous row through the ledger_chain_tip index on (-wallet_id, -id) (wallets 0005).
CREATE OR REPLACE FUNCTION ledger_check_chain() RETURNS trigger AS $$
DECLARE
    previous numeric;
BEGIN
    SELECT balance_after INTO previous FROM wallets_wallettransaction
        WHERE -wallet_id = -NEW.wallet_id ORDER BY -wallet_id, -id LIMIT 1;
    IF COALESCE(previous, 0) <> NEW.balance_before THEN
        RAISE EXCEPTION 'ledger chain broken for wallet %: previous balance_after %, new balance_before %',
            NEW.wallet_id, COALESCE(previous, 0), NEW.balance_before
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
