"""Constants and helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from werkzeug.serving import make_server

from finder.config import DEFAULT_CATALOG, PROJECT_ROOT, Settings
from finder.embeddings import Embedder
from finder.index import describe_index
from finder.redis_server import connect
from finder.schema import search_key
from finder.store import ProductStore
from indexer.loader import load_catalog

SAMPLE_CATALOG = DEFAULT_CATALOG
FASHION_SAMPLE = Path(os.environ.get("FASHION_SAMPLE", PROJECT_ROOT.parent / "shared" / "data" / "fashion-sample"))
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


def settings_for(redis_url: str, **overrides) -> Settings:
    """Test settings: a given Redis; models cached in the project's data/models like the app's."""
    return Settings(redis_url=redis_url, **overrides)


def load_into(settings: Settings, catalog: Path, **options):
    """Load a catalog the way `python -m indexer load` does, into settings.redis_url."""
    client = connect(settings.redis_url)
    return load_catalog(catalog, ProductStore(client), Embedder.from_settings(settings), settings,
                        show_progress=False, **options)


def live_vectors(client, product_id: str):
    """A product's stored vectors, from the fields the live index reads, as float32."""
    live = describe_index(client)
    return ProductStore(client).vectors(product_id, live.sources, live.datatype)


def stored_vector_sizes(client, product_id: str) -> dict[str, int]:
    """The vector fields of a product's search hash (every image space and datatype), by byte length."""
    return {name.decode(): len(value) for name, value in client.hgetall(search_key(product_id)).items()
            if b"_vector" in name}


def serve_app(app):
    """The app on a live loopback port, in a thread; call .shutdown() on the result to stop it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in test output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
