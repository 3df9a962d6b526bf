class PaymentError(Exception):
    """A request we refuse, with a message fit to show the admin (one per problem found:
    a form shows them all at once rather than one per attempt)."""

    def __init__(self, *problems: str) -> None:
        super().__init__(" ".join(problems))
        self.problems = list(problems)


class PaymentRefused(Exception):
    """A Stripe object that does not match our records (unknown, or another workspace's).
    Recorded on the event and never retried: a retry cannot make it match."""
