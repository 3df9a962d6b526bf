"""Extra local services the demo starts beside web and worker (e.g. the Stripe stand-in).

`python -m billing_portal.demo_services names` lists them; `run NAME` runs one in
the foreground. Each entry maps a name to a callable that blocks while serving.
"""

import sys
from collections.abc import Callable

from payments.standin.server import serve_from_settings

SERVICES: dict[str, Callable[[], None]] = {
    "stripe": serve_from_settings,  # the local Stripe stand-in at STRIPE_API_BASE
}


def main(argv: list[str]) -> None:
    if argv[:1] == ["names"]:
        print(" ".join(SERVICES))
    elif argv[:1] == ["run"] and len(argv) == 2 and argv[1] in SERVICES:
        SERVICES[argv[1]]()
    else:
        raise SystemExit(f"usage: demo_services names | run {{{','.join(SERVICES)}}}")


if __name__ == "__main__":
    main(sys.argv[1:])
