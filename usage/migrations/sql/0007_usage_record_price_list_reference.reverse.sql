-- Back to 0005's check (sql/usage_records_check_references_1.sql, loaded after this).
DROP TRIGGER IF EXISTS usage_records_protect ON usage_pricelist;
DROP FUNCTION IF EXISTS usage_records_protect_usage_pricelist();
