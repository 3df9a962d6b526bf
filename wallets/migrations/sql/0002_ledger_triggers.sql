-- Ledger guards that hold even for writes that bypass the ORM (see the migration's docstring).
-- Exact decimal arithmetic checks.
ALTER TABLE wallets_wallettransaction ADD CONSTRAINT ledger_balance_after_adds_up
    CHECK (balance_after = balance_before + amount);
ALTER TABLE usage_usagerecord ADD CONSTRAINT usage_total_adds_up
    CHECK (total = cost + carrier_fee);

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'wallet ledger rows are append-only: % refused on row %', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_append_only
    BEFORE UPDATE OR DELETE ON wallets_wallettransaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE TRIGGER ledger_chain
    BEFORE INSERT ON wallets_wallettransaction
    FOR EACH ROW EXECUTE FUNCTION ledger_check_chain();
