"""Shared fixtures: a real embedded Redis (with the Search and JSON modules) and real models.

The session server holds the repo's own sample catalog, loaded once; tests that write use a
fresh server of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from finder.config import Settings
from finder.embeddings import Embedder
from finder.redis_server import EmbeddedRedis, connect
from finder.store import ProductStore
from tests.support import FASHION_SAMPLE, SAMPLE_CATALOG, load_into, settings_for

# Property tests: `make test` (and CI) use the "ci" profile, the same examples on every run unless
# --hypothesis-seed=N asks for others; HYPOTHESIS_PROFILE=explore (`make fuzz`) searches ten times
# wider with fresh random examples each run. A failure prints the seed or blob that reproduces it.
hypothesis_settings.register_profile("ci", max_examples=300, derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", max_examples=3000, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    with EmbeddedRedis(tmp_path_factory.mktemp("redis-session")) as server:
        yield server


@pytest.fixture(scope="session")
def settings(redis_server) -> Settings:
    return settings_for(redis_server.url)


@pytest.fixture(scope="session")
def embedder(settings) -> Embedder:
    return Embedder.from_settings(settings)


@pytest.fixture(scope="session")
def client(settings):
    return connect(settings.redis_url)


@pytest.fixture(scope="session")
def store(client) -> ProductStore:
    return ProductStore(client)


@pytest.fixture(scope="session")
def loaded_sample(settings, client):
    """The shipped sample catalog, loaded once into the session server. Read-only for tests."""
    client.flushall()
    return load_into(settings, SAMPLE_CATALOG)


@pytest.fixture
def fresh_redis(tmp_path):
    """A new, empty Redis server for a test that writes."""
    with EmbeddedRedis(tmp_path / "redis") as server:
        yield server


@pytest.fixture(scope="session")
def fashion_sample() -> Path:
    if not (FASHION_SAMPLE / "styles.csv").is_file():
        pytest.skip(f"fashion-sample not found at {FASHION_SAMPLE} (set FASHION_SAMPLE to its path)")
    return FASHION_SAMPLE


@pytest.fixture(scope="session")
def app(settings, loaded_sample):
    from app import create_app

    return create_app(settings)


@pytest.fixture
def http(app):
    return app.test_client()
