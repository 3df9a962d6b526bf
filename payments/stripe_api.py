"""The one place the Stripe SDK is configured.

With `STRIPE_API_BASE` set (the default outside production), every call goes to
the local stand-in; with it empty, the same calls go to api.stripe.com.
"""

from functools import lru_cache

import stripe
from django.conf import settings


@lru_cache(maxsize=4)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    base_addresses = {"api": api_base} if api_base else None
    return stripe.StripeClient(api_key, base_addresses=base_addresses, max_network_retries=2)


def stripe_client() -> stripe.StripeClient:
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)
