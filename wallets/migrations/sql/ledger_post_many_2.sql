-- A posting batch in one statement; see wallets/migrations/0008_ledger_post_one_update.py for what
-- changed from version 1 (wallets 0005) and why.
CREATE FUNCTION ledger_post_many(
    p_wallet_id bigint,
    p_kinds text[],
    p_amounts numeric[],
    p_keys text[],
    p_references text[],
    p_memos text[],
    p_created_by integer[],
    p_created_at timestamptz,
    p_require_funds boolean
) RETURNS TABLE (
    id bigint, kind varchar, amount numeric, balance_before numeric, balance_after numeric,
    reference varchar, memo text, idempotency_key varchar, created_at timestamptz,
    created_by_id integer, created boolean, auto_top_up_threshold numeric,
    wallet_kind varchar, workspace_id bigint, alert_rule_ids bigint[], alert_thresholds numeric[]
) AS $$
DECLARE
    current_balance numeric;
    planned numeric;
    found_row wallets_wallettransaction%ROWTYPE;
    existed boolean;
    i integer;
BEGIN
    -- Read before the lock: nothing that waits for the wallet has to wait for these too.
    SELECT r.threshold INTO auto_top_up_threshold FROM wallets_autotopuprule r
        WHERE r.wallet_id = p_wallet_id AND r.enabled;
    SELECT array_agg(a.id ORDER BY a.threshold DESC), array_agg(a.threshold ORDER BY a.threshold DESC)
        INTO alert_rule_ids, alert_thresholds FROM alerts_alertrule a WHERE a.wallet_id = p_wallet_id;
    -- The lock and the new balance in one statement, on the usual outcome: every request posted.
    SELECT coalesce(sum(a), 0) INTO planned FROM unnest(p_amounts) a;
    UPDATE wallets_wallet w SET balance = w.balance + planned WHERE w.id = p_wallet_id
        RETURNING w.balance - planned, w.kind, w.workspace_id INTO current_balance, wallet_kind, workspace_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'wallet % does not exist', p_wallet_id USING ERRCODE = 'no_data_found';
    END IF;
    planned := current_balance + planned;
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        existed := true;
        IF NOT (p_require_funds AND current_balance + p_amounts[i] < 0) THEN
            INSERT INTO wallets_wallettransaction AS t
                (wallet_id, kind, amount, balance_before, balance_after, reference, memo, idempotency_key,
                 created_at, created_by_id)
            VALUES (p_wallet_id, p_kinds[i], p_amounts[i], current_balance, current_balance + p_amounts[i],
                    p_references[i], p_memos[i], p_keys[i], p_created_at, p_created_by[i])
            ON CONFLICT ON CONSTRAINT ledger_unique_idempotency_key DO NOTHING
            RETURNING t.* INTO found_row;
            existed := NOT FOUND;
        END IF;
        IF existed THEN
            SELECT * INTO found_row FROM wallets_wallettransaction t
                WHERE t.wallet_id = p_wallet_id AND t.idempotency_key = p_keys[i];
            IF NOT FOUND THEN
                EXIT;  -- not posted before, and the balance does not cover it
            END IF;
            IF found_row.amount <> p_amounts[i] OR found_row.kind <> p_kinds[i] THEN
                RAISE EXCEPTION 'Key % was used for % %, not % %.', quote_literal(p_keys[i]), found_row.kind,
                    found_row.amount, p_kinds[i], p_amounts[i] USING ERRCODE = 'BL001';
            END IF;
        ELSE
            current_balance := found_row.balance_after;
        END IF;
        id := found_row.id; kind := found_row.kind; amount := found_row.amount;
        balance_before := found_row.balance_before; balance_after := found_row.balance_after;
        reference := found_row.reference; memo := found_row.memo; idempotency_key := found_row.idempotency_key;
        created_at := found_row.created_at; created_by_id := found_row.created_by_id;
        created := NOT existed;
        RETURN NEXT;
    END LOOP;
    -- A repeated key or a request the balance did not cover: the balance is what was posted.
    IF current_balance <> planned THEN
        UPDATE wallets_wallet w SET balance = current_balance WHERE w.id = p_wallet_id;
    END IF;
END;
$$ LANGUAGE plpgsql;
