"""One ingest client process: posts every batch it is given to the usage API, in its own
order, retrying only on connection errors. Usage: python -m tests.ops.load_client <plan.json>
where the plan is {"base_url", "jobs": [{"key", "events"}, ...]}. Exits 1 on any non-200."""

import json
import sys
import time
import urllib.error
import urllib.request


def post(base_url: str, key: str, events: list[dict]) -> dict:
    body = json.dumps({"events": events}).encode()
    request = urllib.request.Request(
        f"{base_url}/api/v1/usage",
        data=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    for attempt in range(5):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise SystemExit(f"HTTP {error.code}: {error.read()[:500]!r}") from error
        except OSError:
            time.sleep(0.5 * (attempt + 1))
    raise SystemExit("usage API unreachable")


def main() -> None:
    with open(sys.argv[1]) as plan_file:
        plan = json.load(plan_file)
    accepted = 0
    for job in plan["jobs"]:
        accepted += post(plan["base_url"], job["key"], job["events"])["accepted"]
    print(json.dumps({"accepted": accepted}))


if __name__ == "__main__":
    main()
