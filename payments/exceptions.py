class PaymentError(Exception):
    """A request we refuse, with a message fit to show the admin."""


class PaymentRefused(Exception):
    """A Stripe object that does not match our records (unknown, or another workspace's).
    Recorded on the event and never retried: a retry cannot make it match."""
