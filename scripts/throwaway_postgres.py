"""Start (or reuse) a PostgreSQL server from the pgserver wheel and print a DATABASE_URL for it.

Used by scripts/test.sh when no DATABASE_URL is given, so that the suite runs on
a fresh machine with nothing but Python. The server keeps running between test
runs (reusing it is fast) and stops on reboot.
"""

import sys
from pathlib import Path
from urllib.parse import quote

import pgserver


def main() -> None:
    data_dir = Path(sys.argv[1])
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    socket_dir = server.get_uri().split("host=", 1)[1].split("&", 1)[0]
    print(f"postgres://postgres@{quote(socket_dir, safe='')}/postgres")


if __name__ == "__main__":
    main()
