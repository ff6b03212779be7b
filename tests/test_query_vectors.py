"""The query-vector cache in a real Redis: exact vectors back, counted, expiring and bounded."""

import numpy as np
import pytest

from finder.query_vectors import QueryVectorCache, cache_field
from finder.redis_server import connect


@pytest.fixture
def cache_client(fresh_redis):
    return connect(fresh_redis.url)


def counting(embedder):
    calls = []

    def embed(text):
        calls.append(text)
        return embedder.embed_texts([text])[0]

    return embed, calls


def test_a_second_lookup_is_a_hit_with_the_models_exact_vector(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=100)
    embed, calls = counting(embedder)
    first = cache.vector("red  dress ", embed)
    again = cache.vector("red dress", embed)  # the same words: whitespace does not matter
    assert calls == ["red  dress "]
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(again, embedder.embed_texts(["red dress"])[0])
    assert cache.stats() == {"entries": 1, "lookups": 2, "hits": 1}
    assert cache.vector("Red dress", embed) is not None and len(calls) == 2  # case may matter to a model
    cache.clear()
    assert cache.stats() == {"entries": 0, "lookups": 0, "hits": 0}
    cache.vector("red dress", embed)
    assert len(calls) == 3  # embedded again


def test_entries_expire(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=100)
    cache.vector("navy shirt", lambda text: embedder.embed_texts([text])[0])
    (seconds,) = cache_client.execute_command("HTTL", cache.key, "FIELDS", 1, cache_field("navy shirt"))
    assert 0 < seconds <= 60


def test_the_cache_never_holds_more_than_its_size(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=5)
    vector = embedder.embed_texts(["x"])[0]
    for number in range(30):
        cache.vector(f"query {number}", lambda text: vector)
        assert cache_client.hlen(cache.key) <= 5


def test_a_size_of_zero_turns_the_cache_off(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=0)
    embed, calls = counting(embedder)
    cache.vector("shoes", embed)
    cache.vector("shoes", embed)
    assert len(calls) == 2 and not cache_client.exists(cache.key)


def test_models_do_not_share_entries(cache_client, embedder):
    vector = embedder.embed_texts(["x"])[0]
    QueryVectorCache(cache_client, "model-a", 60, 100).vector("shoes", lambda text: vector)
    other = QueryVectorCache(cache_client, "model-b", 60, 100)
    assert other.vector("shoes", lambda text: -vector)[0] == -vector[0]


def test_a_very_long_query_is_cached_under_its_digest():
    assert cache_field("a " * 300).startswith("sha1:") and cache_field("a  b") == "a b"


def test_the_index_endpoint_reports_the_cache(http):
    http.get("/api/search?q=cache+report+probe&k=1")
    stats = http.get("/api/index").json["query_cache"]
    assert stats["lookups"] >= 1 and stats["entries"] >= 1


def test_a_new_vector_can_be_stored_off_the_callers_path(cache_client, embedder):
    cache = QueryVectorCache(cache_client, embedder.text_model, ttl_seconds=60, max_entries=100)
    deferred = []
    vector = cache.vector("linen trousers", lambda text: embedder.embed_texts([text])[0], in_background=deferred.append)
    assert len(deferred) == 1 and not cache_client.hexists(cache.key, cache_field("linen trousers"))
    deferred[0]()
    np.testing.assert_array_equal(cache.vector("linen trousers", lambda text: -vector), vector)
