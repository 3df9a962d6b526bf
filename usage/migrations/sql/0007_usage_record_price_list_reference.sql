-- A price-list version that records name cannot be deleted (the check is in
-- sql/usage_records_check_references_2.sql, loaded first).
CREATE OR REPLACE FUNCTION usage_records_protect_usage_pricelist() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM usage_usagerecord WHERE price_list_id = OLD.id) THEN
        RAISE EXCEPTION 'usage records refer to usage_pricelist row %', OLD.id USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER usage_records_protect BEFORE DELETE ON usage_pricelist
    FOR EACH ROW EXECUTE FUNCTION usage_records_protect_usage_pricelist();
