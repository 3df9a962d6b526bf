-- Usage records' references checked once per statement (see the migration's docstring).
-- The check function itself is sql/usage_records_check_references_1.sql, loaded first.

CREATE TRIGGER usage_records_check_inserted AFTER INSERT ON usage_usagerecord REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_records_check_references();

CREATE TRIGGER usage_records_check_updated AFTER UPDATE ON usage_usagerecord REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_records_check_references();

CREATE OR REPLACE FUNCTION usage_records_protect_wallets_workspace() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM usage_usagerecord WHERE workspace_id = OLD.id) THEN
        RAISE EXCEPTION 'usage records refer to wallets_workspace row %', OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER usage_records_protect BEFORE DELETE ON wallets_workspace
    FOR EACH ROW EXECUTE FUNCTION usage_records_protect_wallets_workspace();

CREATE OR REPLACE FUNCTION usage_records_protect_wallets_wallet() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM usage_usagerecord WHERE wallet_id = OLD.id) THEN
        RAISE EXCEPTION 'usage records refer to wallets_wallet row %', OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER usage_records_protect BEFORE DELETE ON wallets_wallet
    FOR EACH ROW EXECUTE FUNCTION usage_records_protect_wallets_wallet();

CREATE OR REPLACE FUNCTION usage_records_protect_usage_channel() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM usage_usagerecord WHERE channel_id = OLD.id) THEN
        RAISE EXCEPTION 'usage records refer to usage_channel row %', OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER usage_records_protect BEFORE DELETE ON usage_channel
    FOR EACH ROW EXECUTE FUNCTION usage_records_protect_usage_channel();

CREATE OR REPLACE FUNCTION usage_records_protect_usage_phonenumber() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM usage_usagerecord WHERE phone_number_id = OLD.id) THEN
        RAISE EXCEPTION 'usage records refer to usage_phonenumber row %', OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER usage_records_protect BEFORE DELETE ON usage_phonenumber
    FOR EACH ROW EXECUTE FUNCTION usage_records_protect_usage_phonenumber();
