-- The statement check of usage records' references, version 1: the six references of usage 0005.
-- The guarded columns are UsageRecord's foreign keys with db_constraint=False;
-- tests/test_usage_record_references.py fails when the two disagree.
CREATE OR REPLACE FUNCTION usage_records_check_references() RETURNS trigger AS $$
DECLARE
    wanted bigint[];
    found bigint;
BEGIN

    SELECT coalesce(array_agg(DISTINCT workspace_id), '{}') INTO wanted FROM new_rows WHERE workspace_id IS NOT NULL;
    IF cardinality(wanted) > 0 THEN
        SELECT count(*) INTO found FROM (SELECT 1 FROM wallets_workspace WHERE id = ANY(wanted) FOR KEY SHARE) AS locked;
        IF found <> cardinality(wanted) THEN
            RAISE EXCEPTION 'usage_usagerecord.workspace_id refers to a missing wallets_workspace row'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;

    SELECT coalesce(array_agg(DISTINCT wallet_id), '{}') INTO wanted FROM new_rows WHERE wallet_id IS NOT NULL;
    IF cardinality(wanted) > 0 THEN
        SELECT count(*) INTO found FROM (SELECT 1 FROM wallets_wallet WHERE id = ANY(wanted) FOR KEY SHARE) AS locked;
        IF found <> cardinality(wanted) THEN
            RAISE EXCEPTION 'usage_usagerecord.wallet_id refers to a missing wallets_wallet row'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;

    SELECT coalesce(array_agg(DISTINCT channel_id), '{}') INTO wanted FROM new_rows WHERE channel_id IS NOT NULL;
    IF cardinality(wanted) > 0 THEN
        SELECT count(*) INTO found FROM (SELECT 1 FROM usage_channel WHERE id = ANY(wanted) FOR KEY SHARE) AS locked;
        IF found <> cardinality(wanted) THEN
            RAISE EXCEPTION 'usage_usagerecord.channel_id refers to a missing usage_channel row'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;

    SELECT coalesce(array_agg(DISTINCT phone_number_id), '{}') INTO wanted FROM new_rows WHERE phone_number_id IS NOT NULL;
    IF cardinality(wanted) > 0 THEN
        SELECT count(*) INTO found FROM (SELECT 1 FROM usage_phonenumber WHERE id = ANY(wanted) FOR KEY SHARE) AS locked;
        IF found <> cardinality(wanted) THEN
            RAISE EXCEPTION 'usage_usagerecord.phone_number_id refers to a missing usage_phonenumber row'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;

    SELECT coalesce(array_agg(DISTINCT posting_id), '{}') INTO wanted FROM new_rows WHERE posting_id IS NOT NULL;
    IF cardinality(wanted) > 0 THEN
        SELECT count(*) INTO found FROM (SELECT 1 FROM wallets_wallettransaction WHERE id = ANY(wanted) FOR KEY SHARE) AS locked;
        IF found <> cardinality(wanted) THEN
            RAISE EXCEPTION 'usage_usagerecord.posting_id refers to a missing wallets_wallettransaction row'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;

    SELECT coalesce(array_agg(DISTINCT carrier_posting_id), '{}') INTO wanted FROM new_rows WHERE carrier_posting_id IS NOT NULL;
    IF cardinality(wanted) > 0 THEN
        SELECT count(*) INTO found FROM (SELECT 1 FROM wallets_wallettransaction WHERE id = ANY(wanted) FOR KEY SHARE) AS locked;
        IF found <> cardinality(wanted) THEN
            RAISE EXCEPTION 'usage_usagerecord.carrier_posting_id refers to a missing wallets_wallettransaction row'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;

    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
