from django.dispatch import Signal

# Sent once per wallet after a transaction that wrote ledger rows to it has committed
# (never for a duplicate). Receivers (auto top-up, notices, caches) run outside the DB
# transaction, so a slow receiver never holds the wallet lock.
# Arguments: postings (the new WalletTransactions, in ledger order), wallet_id, and
# balance (Decimal): the balance after the last of them, which is what a receiver
# deciding on a threshold should look at; auto_top_up_threshold (Decimal or None): the
# threshold of the wallet's enabled auto top-up rule; wallet_kind, workspace_id and
# alert_rules ((rule id, threshold), highest first): all read by the posting statement
# itself, so that a receiver need not query (on a hot wallet that cost more than the posting).
posting_committed = Signal()
