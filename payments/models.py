# Top-ups, saved payment methods and Stripe events arrive with the payments capability.
