"""A FLAT index returns exactly the top-k that numpy computes from the stored vectors, with and
without filters, for every metric."""

import numpy as np
import pytest

from finder.config import Settings
from finder.index import create_index, describe_index, drop_index, wait_until_indexed
from finder.queries import Filters
from finder.schema import IMAGE_VECTOR, TEXT_VECTOR, build_schema
from finder.search import Search
from tests.support import live_vectors

K = 10
TOLERANCE = 1e-4


def numpy_distances(metric: str, matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    if metric == "COSINE":
        return 1 - (matrix @ query) / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    if metric == "IP":
        return 1 - matrix @ query
    return ((matrix - query) ** 2).sum(axis=1)  # RediSearch's L2 is the squared distance


def assert_exact_top_k(hits, ids, distances, k, tolerance=TOLERANCE):
    """Same distances as numpy's k smallest, each for the right product; ties may swap order."""
    order = np.argsort(distances, kind="stable")
    expected = distances[order[:k]]
    got = np.array([hit.distance for hit in hits])
    assert len(hits) == k
    np.testing.assert_allclose(got, expected, atol=tolerance)
    by_id = dict(zip(ids, distances, strict=True))
    for hit in hits:
        assert abs(by_id[hit.product.id] - hit.distance) < tolerance, hit.product.id
    assert len({hit.product.id for hit in hits}) == k


@pytest.fixture(scope="module")
def stored_vectors(loaded_sample, client):
    ids = sorted(key.decode().rsplit(":", 1)[1] for key in client.keys("finder:search:*"))
    vectors = [live_vectors(client, product_id) for product_id in ids]
    return ids, {field: np.stack([v[field] for v in vectors]) for field in (TEXT_VECTOR, IMAGE_VECTOR)}


@pytest.fixture(scope="module", params=["COSINE", "IP", "L2"])
def flat_search(request, loaded_sample, client, store, settings):
    """A FLAT index with the given metric over the already stored products (the live index's vectors)."""
    metric = request.param
    live = describe_index(client)
    dims = {name: field.dims for name, field in live.vector_fields.items()}
    flat_settings = Settings(index_algorithm="FLAT", distance_metric=metric, vector_datatype=live.datatype)
    schema = build_schema(flat_settings, dims[TEXT_VECTOR], dims[IMAGE_VECTOR], name=f"test-flat-{metric.lower()}")
    create_index(client, schema, alias=f"test-flat-{metric.lower()}-alias", image_generation=live.image_generation)
    wait_until_indexed(client, schema.index.name)
    yield metric, Search(client, store, settings, index_name=schema.index.name)
    drop_index(client, schema.index.name)


@pytest.mark.parametrize("field", [TEXT_VECTOR, IMAGE_VECTOR])
def test_flat_top_k_equals_numpy_for_stored_vectors(flat_search, stored_vectors, field):
    metric, search = flat_search
    ids, matrices = stored_vectors
    for position in (0, len(ids) // 3, len(ids) - 1):
        query = matrices[field][position]
        hits = search.nearest(field, query, K)
        assert_exact_top_k(hits, ids, numpy_distances(metric, matrices[field], query), K)


def test_flat_top_k_equals_numpy_for_a_free_text_query(flat_search, stored_vectors, embedder):
    metric, search = flat_search
    ids, matrices = stored_vectors
    query = embedder.embed_texts(["black leather watch for men"])[0]
    hits = search.nearest(TEXT_VECTOR, query, K)
    assert_exact_top_k(hits, ids, numpy_distances(metric, matrices[TEXT_VECTOR], query), K)


def test_scores_are_the_cosine_similarity_whatever_the_metric(flat_search, stored_vectors):
    _, search = flat_search
    ids, matrices = stored_vectors
    query = matrices[TEXT_VECTOR][7]
    cosine = dict(zip(ids, matrices[TEXT_VECTOR] @ query, strict=True))
    for hit in search.nearest(TEXT_VECTOR, query, K):
        assert hit.score == pytest.approx(cosine[hit.product.id], abs=TOLERANCE)


def test_excluding_the_query_product_leaves_k_others(flat_search, stored_vectors):
    _, search = flat_search
    ids, matrices = stored_vectors
    hits = search.nearest(IMAGE_VECTOR, matrices[IMAGE_VECTOR][5], K, exclude_id=ids[5])
    assert len(hits) == K and ids[5] not in {hit.product.id for hit in hits}


FILTER_CASES = [
    Filters(tags={"gender": ("Women",)}),
    Filters(tags={"gender": ("Men", "Unisex"), "category": ("Footwear",)}),
    Filters(tags={"category": ("Accessories",)}, year_min=2013, year_max=2016),
    Filters(tags={"article_type": ("Watches", "Sunglasses"), "color": ("Black", "Silver", "Gold")}),
]


def passes(product, filters: Filters) -> bool:
    if any(getattr(product, name) not in values for name, values in filters.tags.items()):
        return False
    if filters.year_min is not None and (product.year is None or product.year < filters.year_min):
        return False
    return not (filters.year_max is not None and (product.year is None or product.year > filters.year_max))


@pytest.mark.parametrize("filters", FILTER_CASES, ids=lambda filters: filters.expression())
def test_flat_filtered_top_k_equals_numpy_over_the_filtered_products(flat_search, stored_vectors, store, filters):
    metric, search = flat_search
    ids, matrices = stored_vectors
    products = store.get_many(ids)
    keep = np.array([passes(product, filters) for product in products])
    assert 0 < keep.sum() < len(ids)  # a real filter, not everything or nothing
    kept_ids = [product_id for product_id, kept in zip(ids, keep, strict=True) if kept]
    for field in (TEXT_VECTOR, IMAGE_VECTOR):
        query = matrices[field][len(ids) // 2]
        hits = search.nearest(field, query, K, filters)
        assert all(passes(hit.product, filters) for hit in hits)
        expected = min(K, int(keep.sum()))
        assert_exact_top_k(hits, kept_ids, numpy_distances(metric, matrices[field][keep], query), expected)
