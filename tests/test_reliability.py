"""Failure scenarios: Redis down or hung, Redis killed mid-load, re-index under load, concurrency."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
import redis

from app import create_app
from finder.config import PROJECT_ROOT
from finder.embeddings import Embedder
from finder.index import describe_index, rebuild_index
from finder.products import Product
from finder.projection import ACTIVE_KEY, NONE, PROJECTION_KEY_PREFIX, ImageSpaces, image_field
from finder.redis_server import EmbeddedRedis, connect
from finder.schema import IMAGE_VECTOR, TEXT_VECTOR, search_key, stored_field
from finder.search import Search
from finder.search_and_fetch import answer_from_reply, document_from_json
from finder.store import (
    ACTIVE_DATATYPES,
    ProductStore,
    UnexpectedReply,
    WriteTargetsChanged,
    connection_lost_while_watching,
    documents_from_mget,
)
from finder.suggestions import COUNTS_KEY, SUGGEST_KEY
from indexer.loader import load_catalog
from indexer.reindex import reindex
from tests.support import SAMPLE_CATALOG, live_vectors, load_into, settings_for, stored_vector_sizes

API_KEY = "reliability-key-0123456789"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
TIMEOUT = 0.5  # REDIS_TIMEOUT for these apps: a command gives up after 2 x TIMEOUT at most


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory):
    """A server of this module's own with the first 120 sample products."""
    folder = tmp_path_factory.mktemp("reliability")
    with EmbeddedRedis(folder / "redis") as server:
        settings = settings_for(server.url, api_key=API_KEY, data_dir=folder, redis_timeout=TIMEOUT)
        load_into(settings, SAMPLE_CATALOG, limit=120)
        yield server, settings


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def product_form(product_id: str, name: str, photo_of: str = "70009") -> dict:
    fields = {"id": product_id, "name": name, "gender": "Men", "category": "Apparel", "sub_category": "Topwear",
              "article_type": "Tshirts", "color": "Blue"}
    photo = (SAMPLE_CATALOG / "images" / f"{photo_of}.jpg").read_bytes()
    return {"product": json.dumps(fields), "image": (io.BytesIO(photo), "photo.jpg")}


def test_redis_down_gives_503_fast_and_the_app_recovers_when_it_returns(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis").start()
    settings = settings_for(server.url, api_key=API_KEY, data_dir=tmp_path, redis_timeout=TIMEOUT)
    load_into(settings, SAMPLE_CATALOG, limit=10)
    http = create_app(settings).test_client()
    assert http.get("/health").json["status"] == "ok"
    server.stop()
    for call in (lambda: http.get("/health"), lambda: http.get("/api/products"),
                 lambda: http.get("/api/search?q=shirt"), lambda: http.get("/api/products/70001/similar"),
                 lambda: http.post("/api/products", headers=AUTH, data=product_form("down-1", "Down Tee"))):
        response, seconds = timed(call)
        assert response.status_code == 503, response.json
        assert response.json["error"]["code"] == "redis_unavailable"
        assert seconds < 2 * TIMEOUT + 1
    server.start()  # same port and data directory, as a restarted service would be
    try:
        assert http.get("/health").json == {"status": "ok", "products": 10}
        assert http.post("/api/products", headers=AUTH, data=product_form("back-1", "Back Tee")).status_code == 201
    finally:
        server.stop()


def test_a_hung_redis_gives_503_within_the_timeout_and_no_hung_workers(small_catalog):
    server, settings = small_catalog
    http = create_app(settings).test_client()
    os.kill(server.pid, signal.SIGSTOP)  # accepts connections, answers nothing
    try:
        for call in (lambda: http.get("/api/products"), lambda: http.get("/health")):
            response, seconds = timed(call)
            assert response.status_code == 503
            assert seconds < 2 * TIMEOUT + 1
    finally:
        os.kill(server.pid, signal.SIGCONT)
    assert http.get("/health").status_code == 200


def test_a_write_to_a_hung_redis_is_unavailable_not_a_conflict(small_catalog):
    server, settings = small_catalog
    http = create_app(settings).test_client()
    os.kill(server.pid, signal.SIGSTOP)
    try:
        response = http.put("/api/products/70002", headers=AUTH, data=product_form("70002", "Hung Tee"))
    finally:
        os.kill(server.pid, signal.SIGCONT)
    assert response.status_code == 503, response.json
    store = ProductStore(connect(server.url))
    with store.watching("70001") as watched:  # and a real conflict is still one
        watched.state()
        connect(server.url).json().set(Product.key_for("70001"), "$.name", "Changed meanwhile")
        with pytest.raises(redis.WatchError):
            watched.delete()


@pytest.mark.parametrize("reindexing", ["sets touched, same members", "vectors added to the product"])
def test_a_reindex_touching_a_watched_product_is_not_a_conflict(small_catalog, reindexing):
    """What a re-index does to the keys a write watches fails its EXEC as another write of the
    product would; it must be told apart (the write runs again), and then the product is intact."""
    server, _ = small_catalog
    client, other = connect(server.url), connect(server.url)
    store = ProductStore(client)
    before = store.get("70001")
    with store.watching("70001") as watched:
        watched.state()
        if reindexing == "vectors added to the product":
            other.hset(search_key("70001"), stored_field(TEXT_VECTOR, "FLOAT16"), b"\0" * 768)
        else:  # the sets end as they began, as when they changed between the WATCH and their read
            ACTIVE_DATATYPES.add(other, "FLOAT16")
            ACTIVE_DATATYPES.remove(other, "FLOAT16")
        with pytest.raises(WriteTargetsChanged):
            watched.delete()
    other.hdel(search_key("70001"), stored_field(TEXT_VECTOR, "FLOAT16"))
    assert store.get("70001") == before


def test_a_watch_lost_with_the_connection_is_a_connection_error():
    """redis-py raises WatchError when the connection fails or times out at EXEC under WATCH, as
    when another client wrote a watched key; only the second is a conflict."""
    with pytest.raises(redis.ConnectionError):
        with connection_lost_while_watching():
            try:
                raise redis.TimeoutError("Timeout reading from socket")
            except redis.TimeoutError:
                raise redis.WatchError("A TimeoutError occurred while watching one or more keys") from None
    with pytest.raises(redis.WatchError):
        with connection_lost_while_watching():
            raise redis.WatchError("Watched variable changed.")


def test_killing_redis_mid_load_loses_nothing_reported_and_the_load_resumes(tmp_path):
    """A first load: features of every photo, the projection fitted and stored with the index, then
    the products in batches, until Redis is killed. The resumed load keeps the projection and
    recomputes no feature (the disk cache has them all)."""
    server = EmbeddedRedis(tmp_path / "redis").start()
    settings = settings_for(server.url, data_dir=tmp_path)
    client = connect(server.url)
    embedder = Embedder.from_settings(settings)
    reported: list[str] = []

    def written(ids):
        reported.extend(ids)
        if len(reported) >= 128:
            os.kill(server.pid, signal.SIGKILL)  # right after Redis acknowledged the batch

    with pytest.raises(redis.ConnectionError):
        load_catalog(SAMPLE_CATALOG, ProductStore(client), embedder, settings, batch_size=64, show_progress=False,
                     on_written=written)
    assert len(reported) == 128
    server.pid = None
    server.start()
    try:
        client = connect(server.url)
        store = ProductStore(client)
        info = describe_index(client)
        generation = info.image_generation
        assert generation != NONE and ImageSpaces(client, embedder).projection(generation) is not None
        assert None not in store.get_many(reported)
        assert all(client.hexists(search_key(product_id), image_field(generation)) for product_id in reported)
        assert info.documents >= 128
        features = sorted((tmp_path / "image-features").rglob("*.npy"))
        cached = {path: path.stat().st_mtime_ns for path in features}
        resumed = load_catalog(SAMPLE_CATALOG, store, embedder, settings, show_progress=False)
        total = resumed.rows
        assert resumed.skipped >= 128 and resumed.loaded == total - resumed.skipped and not resumed.failed
        assert resumed.notes == [] and describe_index(client).image_generation == generation  # no refit
        assert len(features) == total and {path: path.stat().st_mtime_ns for path in features} == cached
        assert len(client.keys(Product.key_for("*"))) == len(client.keys(search_key("*"))) == total
        assert describe_index(client).documents == total
        counted = client.hgetall(COUNTS_KEY)  # each batch's suggestions were written with it, even the killed run's
        store.rebuild_suggestions()
        assert client.hgetall(COUNTS_KEY) == counted
    finally:
        server.stop()


class Searching:
    """Threads sending requests continuously; every answer must be a 200 with results."""

    def __init__(self, app, requests: dict[str, Callable]):
        self.failures: list = []
        self.answered = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(app, name, send)) for name, send in requests.items()]

    def __enter__(self) -> Searching:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self, app, name: str, send: Callable) -> None:
        http = app.test_client()
        while not self._stop.is_set():
            response = send(http)
            body = response.json
            if response.status_code != 200 or not (body.get("results") or body.get("products")):
                self.failures.append((name, response.status_code, body))
            self.answered += 1


def gets(*paths: str) -> dict[str, Callable]:
    return {path: (lambda http, path=path: http.get(path)) for path in paths}


def photo_search(http, product_id: str = "70042", query: str = "k=5"):
    photo = (SAMPLE_CATALOG / "images" / f"{product_id}.jpg").read_bytes()
    return http.post(f"/api/search/image?{query}", data={"image": (io.BytesIO(photo), "shot.jpg")})


def test_reindexing_switches_the_index_while_searches_keep_answering(small_catalog):
    server, settings = small_catalog
    app = create_app(settings)
    client = connect(server.url)
    with Searching(app, gets("/api/search?q=blue shirt&k=5", "/api/products/70001/similar?by=image&k=5",
                             "/api/products?gender=Men", "/api/search?q=watch&gender=Women&k=5")) as searching:
        old, flat = rebuild_index(client, settings.with_overrides(index_algorithm="FLAT", distance_metric="IP"))
        time.sleep(0.5)
        _, hnsw = rebuild_index(client, settings.with_overrides(index_algorithm="HNSW", distance_metric="COSINE"))
        time.sleep(0.5)
    assert searching.failures == []
    assert searching.answered > 20
    assert (old.algorithm, flat.algorithm, flat.metric, hnsw.algorithm) == ("HNSW", "FLAT", "IP", "HNSW")
    assert describe_index(client).name == hnsw.name and hnsw.documents == old.documents
    assert {name.decode() for name in client.execute_command("FT._LIST")} == {hnsw.name}  # old ones dropped


def test_a_refit_moves_every_product_to_a_new_projection_while_searches_and_writes_go_on(small_catalog):
    """A new generation is fitted, filled for every product (also those written during the refit),
    indexed and switched to; the old one is gone. Searches by product, by photo and by an upload
    made before the refit answer throughout, and find the photographed product first after it."""
    server, settings = small_catalog
    app = create_app(settings)
    client = connect(server.url)
    http = app.test_client()
    upload_id = photo_search(http).json["query"]["upload_id"]
    old = describe_index(client).image_generation
    written, refitted = [], threading.Event()

    def create_products():
        http = app.test_client()
        while not refitted.is_set():
            product_id = f"refit-{len(written)}"
            # Photos of products beyond the module's 120: dozens of products with one photo would be
            # dozens of identical vectors, which no HNSW graph keeps well connected.
            photo_of = str(70200 + len(written) % 100)
            response = http.post("/api/products", headers=AUTH, data=product_form(product_id, "Refit Tee", photo_of))
            written.append((product_id, response.status_code, (response.get_json() or {}).get("error")))

    requests = {**gets("/api/products/70001/similar?by=image&k=5", f"/api/search/image/{upload_id}?k=5",
                       "/api/search?q=blue shirt&k=5"), "photo search": photo_search}
    writer = threading.Thread(target=create_products)
    with Searching(app, requests) as searching:
        writer.start()
        report = reindex(client, settings, Embedder.from_settings(settings))
        time.sleep(0.5)
        refitted.set()
        writer.join()
    assert searching.failures == [] and searching.answered > 20
    assert written and {status for _, status, _ in written} == {201}, [entry for entry in written if entry[1] != 201]
    new = describe_index(client).image_generation
    assert new not in (old, NONE) and report.new.image_generation == new
    assert client.smembers(ACTIVE_KEY) == {new.encode()}
    assert client.keys(PROJECTION_KEY_PREFIX + "*") == [(PROJECTION_KEY_PREFIX + new).encode()]
    for key in client.keys(search_key("*")):
        fields = client.hkeys(key)
        assert image_field(new).encode() in fields and image_field(old).encode() not in fields, key
    assert photo_search(http).json["results"][0]["product"]["id"] == "70042"
    # Every product is still reachable in the new index's graph: a KNN as wide as the catalog finds them all.
    search = Search(client, ProductStore(client), settings)
    everyone = {pid.decode().removeprefix(Product.key_for("")) for pid in client.keys(Product.key_for("*"))}
    vector = search.vectors("70042")[IMAGE_VECTOR]
    assert {hit.product.id for hit in search.nearest(IMAGE_VECTOR, vector, len(everyone))} == everyone
    again = http.get(f"/api/search/image/{upload_id}?k=5").json["results"]
    assert again[0]["product"]["id"] == "70042" and again[0]["distance"] < 1e-3


def test_reindexing_converts_the_vectors_datatype_while_searches_and_writes_go_on(small_catalog):
    """FLOAT32 -> FLOAT16 -> FLOAT32 (each time with a refit, as IMAGE_PROJECTION=lda does): every
    product, also those written meanwhile, ends up holding exactly the fields the new index reads,
    FLOAT16 ones half the size; searches of every kind and writes answer throughout."""
    server, settings = small_catalog
    app = create_app(settings)
    client = connect(server.url)
    embedder = Embedder.from_settings(settings)
    text_before = live_vectors(client, "70001")[TEXT_VECTOR]
    written, converted = [], threading.Event()

    def create_products():
        http = app.test_client()
        while not converted.is_set():
            product_id = f"convert-{len(written)}"
            response = http.post("/api/products", headers=AUTH, data=product_form(product_id, "Convert Tee"))
            written.append((product_id, response.status_code, (response.get_json() or {}).get("error")))

    requests = {**gets("/api/search?q=blue shirt&k=5", "/api/products/70001/similar?by=image&k=5",
                       "/api/products/70001/similar?by=text&k=5&gender=Men"), "photo search": photo_search}
    writer = threading.Thread(target=create_products)
    with Searching(app, requests) as searching:
        writer.start()
        for datatype, size in (("FLOAT16", 2), ("FLOAT32", 4)):
            report = reindex(client, settings.with_overrides(vector_datatype=datatype), embedder)
            info = describe_index(client)
            assert info.datatype == datatype and report.new.name == info.name
            assert ACTIVE_DATATYPES.members(client) == (datatype,)
            for product_id in ProductStore(client).product_ids():
                assert stored_vector_sizes(client, product_id) == {info.sources[TEXT_VECTOR]: 384 * size,
                                                                  info.sources[IMAGE_VECTOR]: 192 * size}, product_id
            time.sleep(0.5)
        converted.set()
        writer.join()
    assert searching.failures == [] and searching.answered > 20
    assert written and {status for _, status, _ in written} == {201}, [entry for entry in written if entry[1] != 201]
    assert not client.exists(ACTIVE_DATATYPES.key)  # FLOAT32 alone, as before the conversions
    assert describe_index(client).documents == len(client.keys(Product.key_for("*")))
    np.testing.assert_array_equal(live_vectors(client, "70001")[TEXT_VECTOR],
                                  text_before.astype(np.float16).astype(np.float32))  # rounded once, kept


def test_the_reindex_command(small_catalog):
    server, _ = small_catalog
    env = {**os.environ, "REDIS_URL": server.url, "INDEX_ALGORITHM": "HNSW", "HNSW_M": "24"}
    connect(server.url).unlink(SUGGEST_KEY, COUNTS_KEY)  # as in a catalog from before autocomplete
    result = subprocess.run([sys.executable, "-m", "indexer", "reindex", "--metric", "L2", "--quiet"], env=env,
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "finder:products now uses" in result.stdout and "searches answered throughout" in result.stdout
    info = describe_index(connect(server.url))
    assert (info.algorithm, info.metric, info.vector_fields["text_vector"].hnsw_m) == ("HNSW", "L2", 24)
    assert "autocomplete entries rebuilt" in result.stdout
    assert connect(server.url).exists(SUGGEST_KEY, COUNTS_KEY) == 2


def test_concurrent_writes_and_searches_end_in_exactly_the_written_state(small_catalog):
    server, settings = small_catalog
    app = create_app(settings)
    errors = []
    expected: dict[str, str | None] = {}  # product id -> final name (None: deleted)
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int):
        http = app.test_client()
        for number in range(6):
            product_id = f"conc-{worker}-{number}"
            steps = [("create", f"Worker {worker} Tee {number}")]
            if number % 2 == 0:
                steps.append(("rename", f"Worker {worker} Renamed Tee {number}"))
            if number % 3 == 0:
                steps.append(("delete", None))
            for action, name in steps:
                if action == "create":
                    response = http.post("/api/products", headers=AUTH, data=product_form(product_id, name))
                elif action == "rename":
                    fields = json.loads(product_form(product_id, name)["product"])
                    response = http.put(f"/api/products/{product_id}", headers=AUTH, json={"product": fields})
                else:
                    response = http.delete(f"/api/products/{product_id}", headers=AUTH)
                if response.status_code >= 300:
                    errors.append((action, product_id, response.status_code, response.json))
            with lock:
                expected[product_id] = name

    def reader():
        http = app.test_client()
        while not stop.is_set():
            for path in ("/api/search?q=worker tee&k=20", "/api/products?per_page=50", "/api/facets"):
                response = http.get(path)
                if response.status_code != 200:
                    errors.append((path, response.status_code, response.json))

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(worker,)) for worker in range(3)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert errors == []
    client = connect(server.url)
    store = ProductStore(client)
    for product_id, name in expected.items():
        stored = store.get(product_id)
        assert (stored.name if stored else None) == name, product_id
    found = {r["product"]["id"] for r in app.test_client().get("/api/search?q=worker tee&k=100").json["results"]}
    assert {pid for pid, name in expected.items() if name} <= found
    assert not {pid for pid, name in expected.items() if name is None} & found
    assert describe_index(client).documents == len(client.keys(Product.key_for("*")))
    counted = client.hgetall(COUNTS_KEY)  # the suggestions too, shared entries ("Men Tshirts") included
    store.rebuild_suggestions()
    assert client.hgetall(COUNTS_KEY) == counted


def test_a_reply_of_another_shape_is_refused_not_served():
    """Shapes seen under load before json_commands: documents as undecoded JSON text. Such a
    reply must become a connection error (503 for the API), never a 500 or a guessed product."""
    document = {"id": "1", "name": "Shirt"}
    assert documents_from_mget([[document], None], 2) == [[document], None]
    for reply in (['[{"id": "1"}]', None], [[document]], "finder:search:1", [[document, document], None]):
        with pytest.raises(UnexpectedReply) as refused:
            documents_from_mget(reply, 2)
        assert isinstance(refused.value, redis.ConnectionError)
    # The search script's replies: FT.SEARCH's and JSON.MGET's as Redis sends them.
    assert document_from_json(b'[{"id": "1", "name": "Shirt"}]') == document
    answer = answer_from_reply([2, b"finder:search:1", [b"d", b"0.5"], b"finder:search:2", [b"d", b"0.7"]],
                               [b'[{"id": "1"}]', None])
    assert [(found.product_id, found.fields, found.document) for found in answer.found] == [
        ("1", {b"d": b"0.5"}, {"id": "1"}), ("2", {b"d": b"0.7"}, None)]
    assert answer.total == 2
    assert [found.product_id for found in answer_from_reply([5, b"finder:search:9"], [b'[{"id": "9"}]']).found] == ["9"]
    for raw in (b'{"id": "1"}', b"not json", b"[]", b'[{"id": "1"}, {"id": "2"}]'):
        with pytest.raises(UnexpectedReply):
            document_from_json(raw)
    for reply, documents in (([1, b"finder:search:1"], []), ("OK", []), ([1, b"finder:search:1"], None)):
        with pytest.raises(UnexpectedReply):
            answer_from_reply(reply, documents)
