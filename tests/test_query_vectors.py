"""The query-vector cache in a real Redis: exact vectors back, counted, expiring and bounded."""

import time

import numpy as np
import pytest
import redis

from finder.query_vectors import QueryVectorCache, cache_field
from finder.redis_server import connect


@pytest.fixture
def cache_client(fresh_redis):
    return connect(fresh_redis.url)


def test_a_lookup_after_remembering_is_a_hit_with_the_models_exact_vector(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=100)
    vector = embedder.embed_texts(["red dress"])[0]
    assert cache.lookup("red  dress ") is None
    cache.remember("red  dress ", vector)
    np.testing.assert_array_equal(cache.lookup("red dress"), vector)  # the same words: whitespace does not matter
    assert cache.stats() == {"entries": 1, "lookups": 2, "hits": 1}
    assert cache.lookup("Red dress") is None  # case may matter to a model
    cache.clear()
    assert cache.stats() == {"entries": 0, "lookups": 0, "hits": 0}
    assert cache.lookup("red dress") is None


def test_a_lookup_can_ride_in_a_callers_pipeline(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=100)
    vector = embedder.embed_texts(["wool scarf"])[0]
    cache.remember("wool scarf", vector)
    pipe = cache_client.pipeline(transaction=False)
    pipe.ping()
    assert cache.queue_lookup(pipe, "wool scarf") and cache.queue_lookup(pipe, "silk scarf")
    _, hit, miss = pipe.execute()
    np.testing.assert_array_equal(cache.found(hit), vector)
    assert cache.found(miss) is None
    assert cache.found(redis.ResponseError("an error among a pipeline's replies")) is None  # searched as a miss


def test_entries_expire(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=100)
    cache.remember("navy shirt", embedder.embed_texts(["navy shirt"])[0])
    (seconds,) = cache_client.execute_command("HTTL", cache.key, "FIELDS", 1, cache_field("navy shirt"))
    assert 0 < seconds <= 60


def test_the_cache_never_holds_more_than_its_size(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=5)
    vector = embedder.embed_texts(["x"])[0]
    for number in range(30):
        cache.remember(f"query {number}", vector)
        assert cache_client.hlen(cache.key) <= 5


def test_a_size_of_zero_turns_the_cache_off(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=0)
    cache.remember("shoes", embedder.embed_texts(["shoes"])[0])
    assert cache.lookup("shoes") is None and not cache.queue_lookup(cache_client.pipeline(), "shoes")
    assert not cache_client.exists(cache.key)


def test_models_do_not_share_entries(cache_client, embedder):
    vector = embedder.embed_texts(["x"])[0]
    QueryVectorCache(cache_client, "model-a", 60, 100).remember("shoes", vector)
    assert QueryVectorCache(cache_client, "model-b", 60, 100).lookup("shoes") is None


def test_a_very_long_query_is_cached_under_its_digest():
    assert cache_field("a " * 300).startswith("sha1:") and cache_field("a  b") == "a b"


def test_the_index_endpoint_reports_the_cache(http):
    before = http.get("/api/index").json["query_cache"]
    http.get("/api/search?q=cache+report+probe&k=1")
    deadline = time.monotonic() + 5
    while True:  # the new vector is stored off the answer's path
        stats = http.get("/api/index").json["query_cache"]
        if stats["entries"] > before["entries"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert stats["lookups"] == before["lookups"] + 1 and stats["entries"] == before["entries"] + 1
    http.get("/api/search?q=cache+report+probe&k=1")
    assert http.get("/api/index").json["query_cache"]["hits"] == stats["hits"] + 1


def test_a_new_vector_can_be_stored_off_the_callers_path(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=100)
    deferred = []
    vector = embedder.embed_texts(["linen trousers"])[0]
    cache.remember("linen trousers", vector, in_background=deferred.append)
    assert len(deferred) == 1 and not cache_client.hexists(cache.key, cache_field("linen trousers"))
    deferred[0]()
    np.testing.assert_array_equal(cache.lookup("linen trousers"), vector)
