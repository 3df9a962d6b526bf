"""A small webhook receiver for the demo: verifies each delivery's signature and prints it.

    python manage.py webhook_listen --port 8430

Register http://127.0.0.1:8430/ as an endpoint (the settings page or the API) and the
listener signs with that endpoint's secret, read from the database on each request; or
pass `--secret whsec_...` to check against the secret you were shown instead.
"""

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from alerts import defaults
from alerts.models import WebhookEndpoint
from alerts.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, SignatureInvalid, signature_verify


class Command(BaseCommand):
    help = "Receive webhook deliveries on 127.0.0.1, verify their signatures and print each one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8430)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--secret", help="Verify with this secret instead of the registered endpoints'.")

    def handle(self, *args, host: str, port: int, secret: str | None, **options) -> None:
        command = self
        seen: set[str] = set()

        def secrets() -> list[str]:
            if secret:
                return [secret]
            return list(
                WebhookEndpoint.objects.filter(
                    url__regex=rf"^https?://(127\.0\.0\.1|localhost|\[::1\]):{port}(/|$)"
                ).values_list("secret", flat=True)
            )

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                header = self.headers.get(SIGNATURE_HEADER, "")
                tolerance = defaults.get("SIGNATURE_TOLERANCE")
                for candidate in secrets():
                    try:
                        signature_verify(secret=candidate, header=header, body=body, tolerance=tolerance)
                        break
                    except SignatureInvalid:
                        continue
                else:
                    command.stderr.write(f"{timezone.now():%H:%M:%S} REFUSED: signature does not verify ({header!r})")
                    self._answer(400, b'{"error": "bad signature"}')
                    return
                event = json.loads(body)
                event_id = self.headers.get(EVENT_ID_HEADER, "")
                again = " (again: already received)" if event_id in seen else ""
                seen.add(event_id)
                data = " ".join(f"{name}={value}" for name, value in event.get("data", {}).items())
                command.stdout.write(
                    f"{timezone.now():%H:%M:%S} verified {event['type']} #{event['id']} "
                    f"workspace={event['workspace']} {data}{again}"
                )
                self._answer(200, b'{"received": true}')

            def _answer(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # quiet: one line per delivery above
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        self.stdout.write(f"Listening for webhooks on http://{host}:{port}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
