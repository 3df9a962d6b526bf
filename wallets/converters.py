"""URL parts checked by the resolver, so that a junk value (a NUL byte, a made-up kind) is a
404 before any view or query sees it."""

import re

from django.urls import register_converter

from wallets.models import Wallet


class WalletKindConverter:
    regex = "|".join(re.escape(kind) for kind in Wallet.Kind.values)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(WalletKindConverter, "wallet_kind")
