"""The embedded servers of the demo and the test command (billing_portal.embedded): Redis
starts from the wheel's binary and is reused; a server that cannot start says why and how
to point the portal at a server of one's own."""

import subprocess
import sys

import pytest
import redis

from billing_portal import embedded
from tests.ops.processes import ROOT


@pytest.fixture
def redis_dir(tmp_path):
    yield tmp_path / "redis"
    port_file = tmp_path / "redis" / "port"
    if port_file.exists():
        redis.Redis(port=int(port_file.read_text())).shutdown(nosave=True)


def test_redis_starts_on_loopback_answers_and_is_reused(redis_dir):
    url = embedded.redis_url(redis_dir)

    assert url.startswith("redis://127.0.0.1:")
    client = redis.Redis.from_url(url)
    client.set("embedded-check", "1")
    assert client.get("embedded-check") == b"1"
    assert client.config_get("save") == {"save": ""}  # keeps nothing on disk
    assert embedded.redis_url(redis_dir) == url  # the running server, not a second one


def test_a_database_that_cannot_start_names_the_cause_and_the_way_out(tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the data directory should be")

    with pytest.raises(embedded.EmbeddedServerError) as refused:
        embedded.database_url(blocked)

    message = str(refused.value)
    assert f"The embedded PostgreSQL (pgserver, data in {blocked}) did not start" in message
    assert "Set DATABASE_URL to a server you run yourself instead" in message


def test_the_command_line_prints_the_advice_and_exits_non_zero(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")

    result = subprocess.run(
        [sys.executable, "-m", "billing_portal.embedded", "database", str(blocked)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert result.stdout == ""
    assert "!! The embedded PostgreSQL" in result.stderr
    assert "DATABASE_URL" in result.stderr
