"""The pytest plugin of process fixtures, for every suite (registered by the root conftest.py).

Django-specific fixtures (settings, databases, caches) stay in app/tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testsupport.servers import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session. A test that stops it (fault injection) starts it
    again, or leaves that to the next user (`if redis_server.process is None: start()`)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()
