DROP TRIGGER IF EXISTS usage_records_check_inserted ON usage_usagerecord;
DROP TRIGGER IF EXISTS usage_records_check_updated ON usage_usagerecord;
DROP FUNCTION IF EXISTS usage_records_check_references();
DROP TRIGGER IF EXISTS usage_records_protect ON wallets_workspace; DROP FUNCTION IF EXISTS usage_records_protect_wallets_workspace();
DROP TRIGGER IF EXISTS usage_records_protect ON wallets_wallet; DROP FUNCTION IF EXISTS usage_records_protect_wallets_wallet();
DROP TRIGGER IF EXISTS usage_records_protect ON usage_channel; DROP FUNCTION IF EXISTS usage_records_protect_usage_channel();
DROP TRIGGER IF EXISTS usage_records_protect ON usage_phonenumber; DROP FUNCTION IF EXISTS usage_records_protect_usage_phonenumber();
