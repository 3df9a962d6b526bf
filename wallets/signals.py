from django.dispatch import Signal

# Sent after the transaction that wrote a ledger row has committed (never for a
# duplicate). Receivers (auto top-up, notices, caches) run outside the DB
# transaction, so a slow receiver never holds the wallet lock.
# Arguments: posting (WalletTransaction), wallet_id, balance (Decimal).
posting_committed = Signal()
