"""VECTOR_DATATYPE=FLOAT16: the sample loaded into a FLOAT16 index stores half-size vectors, returns
the exact top-k of its own vectors and nearly that of the FLOAT32 ones, and answers every kind of
search as the FLOAT32 catalog does. (Converting a live catalog: tests/test_reliability.py.)"""

import io
import json

import numpy as np
import pytest

from app import create_app
from finder.index import describe_index, rebuild_index, settings_mismatches
from finder.redis_server import EmbeddedRedis, connect
from finder.schema import IMAGE_VECTOR, TEXT_VECTOR, VECTOR_FIELDS, field_of, search_key, stored_field
from finder.search import Search
from finder.store import ACTIVE_DATATYPES, ProductStore
from indexer.reindex import reindex
from tests.support import SAMPLE_CATALOG, live_vectors, load_into, settings_for, stored_vector_sizes
from tests.test_exact_knn import assert_exact_top_k, numpy_distances

API_KEY = "float16-key-0123456789"
K = 10
# RediSearch's FLOAT16 distances differ from numpy's (float32 arithmetic over the same values) by
# up to 4e-4 on the sample (a product's distance to itself comes out as -2e-4: COSINE normalises the
# vector and rounds it to FLOAT16 again); from the FLOAT32 vectors' distances by about as much.
FLOAT16_TOLERANCE = 1e-3
FLOAT32_TOLERANCE = 2e-3


@pytest.fixture(scope="module")
def float16_catalog(tmp_path_factory):
    """A server of this module's own holding the sample in a FLOAT16 index (the photos' features
    come from the cache the session's load filled)."""
    folder = tmp_path_factory.mktemp("float16")
    with EmbeddedRedis(folder / "redis") as server:
        load_into(settings_for(server.url, vector_datatype="FLOAT16"), SAMPLE_CATALOG)
        yield connect(server.url), settings_for(server.url, vector_datatype="FLOAT16", api_key=API_KEY,
                                                data_dir=folder)


@pytest.fixture(scope="module")
def http16(float16_catalog):
    return create_app(float16_catalog[1]).test_client()


def stored_matrices(client, ids):
    vectors = [live_vectors(client, product_id) for product_id in ids]
    return {field: np.stack([found[field] for found in vectors]) for field in VECTOR_FIELDS}


@pytest.fixture(scope="module")
def vectors(float16_catalog, loaded_sample, client):
    """Product ids, and their vectors as the FLOAT16 index stores them and as the session's FLOAT32
    catalog (the same products and models) stores them."""
    ids = sorted(key.decode().rsplit(":", 1)[1] for key in client.keys(search_key("*")))
    return ids, stored_matrices(float16_catalog[0], ids), stored_matrices(client, ids)


def test_the_index_stores_and_reports_half_size_vectors(float16_catalog, http16):
    client, _ = float16_catalog
    info = describe_index(client)
    assert info.datatype == "FLOAT16" and {field.datatype for field in info.vector_fields.values()} == {"FLOAT16"}
    assert info.sources == {TEXT_VECTOR: "text_vector:float16",
                            IMAGE_VECTOR: f"image_vector@{info.image_generation}:float16"}
    assert ACTIVE_DATATYPES.members(client) == ("FLOAT16",)
    for product_id in ProductStore(client).product_ids():
        assert stored_vector_sizes(client, product_id) == {info.sources[TEXT_VECTOR]: 384 * 2,
                                                          info.sources[IMAGE_VECTOR]: 192 * 2}, product_id
    fields = http16.get("/api/index").json["vector_fields"]
    assert [(field["name"], field["datatype"]) for field in fields] == [(TEXT_VECTOR, "FLOAT16"),
                                                                         (IMAGE_VECTOR, "FLOAT16")]


def test_its_vectors_are_the_float32_ones_rounded(vectors):
    _, float16, float32 = vectors
    for field in VECTOR_FIELDS:
        np.testing.assert_allclose(float16[field], float32[field].astype(np.float16), atol=1e-3)


@pytest.mark.parametrize("field", VECTOR_FIELDS)
def test_the_top_k_is_numpys_over_the_stored_vectors_and_nearly_the_float32_one(float16_catalog, vectors, field):
    client, settings = float16_catalog
    ids, float16, float32 = vectors
    search = Search(client, ProductStore(client), settings)
    found = 0
    for position in range(0, len(ids), 15):
        query = float16[field][position]
        hits = search.nearest(field, query, K)
        assert_exact_top_k(hits, ids, numpy_distances("COSINE", float16[field], query), K, FLOAT16_TOLERANCE)
        exact32 = numpy_distances("COSINE", float32[field], float32[field][position])
        by_id = dict(zip(ids, exact32, strict=True))
        assert all(abs(hit.distance - by_id[hit.product.id]) < FLOAT32_TOLERANCE for hit in hits)
        found += len({hit.product.id for hit in hits} & {ids[i] for i in np.argsort(exact32, kind="stable")[:K]})
    assert found / (K * len(range(0, len(ids), 15))) >= 0.95  # recall@10 against the FLOAT32 truth


def test_a_free_text_query_vector_is_sent_as_float16(float16_catalog, vectors, embedder):
    client, settings = float16_catalog
    ids, float16, _ = vectors
    query = embedder.embed_texts(["black leather watch for men"])[0]
    hits = Search(client, ProductStore(client), settings).nearest(TEXT_VECTOR, query, K)
    sent = query.astype(np.float16).astype(np.float32)
    assert_exact_top_k(hits, ids, numpy_distances("COSINE", float16[TEXT_VECTOR], sent), K, FLOAT16_TOLERANCE)


def answers(http, path: str, **request) -> list[tuple[str, float]]:
    method = http.post if "data" in request else http.get
    response = method(path, **request)
    assert response.status_code == 200, response.json
    return [(result["product"]["id"], result["distance"]) for result in response.json["results"]]


def same_photo(found: list[tuple[str, float]]) -> set[str]:
    """The products found at distance zero. Not only the same photo: on the 300-product sample the
    By Image projection can put two products of one type and colour on one point (70042 and
    70162, both navy blue shirts, tie), and either may come first."""
    return {pid for pid, distance in found if distance < FLOAT32_TOLERANCE}


def assert_alike(float16: list[tuple[str, float]], float32: list[tuple[str, float]]) -> None:
    """The FLOAT16 catalog's answer is the FLOAT32 one's, but for near ties changing places."""
    assert len(float16) == len(float32) > 0
    assert len({pid for pid, _ in float16} & {pid for pid, _ in float32}) >= len(float32) - 1
    np.testing.assert_allclose([d for _, d in float16], [d for _, d in float32], atol=FLOAT32_TOLERANCE)


@pytest.mark.parametrize("path", [
    "/api/products/70010/similar?by=text&k=8",
    "/api/products/70010/similar?by=image&k=8",
    "/api/products/70042/similar?by=image&k=8&gender=Men&gender=Women",
])
def test_similar_answers_as_the_float32_catalog(http16, http, path):
    assert_alike(answers(http16, path), answers(http, path))


def test_free_text_and_photo_search_answer_as_the_float32_catalog(http16, http):
    for query in ("black floral dress for women", "black leather watch"):
        found16, found32 = ([pid for pid, _ in answers(client, "/api/search", query_string={"q": query, "k": 5})]
                            for client in (http16, http))
        assert found16[0] == found32[0] and len(set(found16) & set(found32)) >= 4
    photo = (SAMPLE_CATALOG / "images" / "70042.jpg").read_bytes()
    found16, found32 = (answers(client, "/api/search/image?k=5", data={"image": (io.BytesIO(photo), "a.jpg")})
                        for client in (http16, http))
    assert ("70042" in same_photo(found16)) and ("70042" in same_photo(found32))
    assert_alike(found16, found32)


def test_a_product_written_through_the_api_is_stored_as_float16_and_found(float16_catalog, http16):
    client, _ = float16_catalog
    product = {"id": "f16-scarf-1", "name": "Aurora Women Teal Silk Paisley Scarf", "gender": "Women",
               "category": "Accessories", "sub_category": "Scarves", "article_type": "Scarves", "color": "Teal"}
    photo = (SAMPLE_CATALOG / "images" / "70042.jpg").read_bytes()
    created = http16.post("/api/products", headers={"Authorization": f"Bearer {API_KEY}"},
                          data={"product": json.dumps(product), "image": (io.BytesIO(photo), "photo.jpg")})
    assert created.status_code == 201, created.json
    info = describe_index(client)
    assert stored_vector_sizes(client, "f16-scarf-1") == {info.sources[TEXT_VECTOR]: 384 * 2,
                                                          info.sources[IMAGE_VECTOR]: 192 * 2}
    assert "f16-scarf-1" in same_photo(answers(http16, "/api/products/70042/similar?by=image&k=3"))


def test_the_index_keeps_its_datatype_until_a_reindex_converts_it(float16_catalog):
    client, settings = float16_catalog
    float32 = settings_for(settings.redis_url, vector_datatype="FLOAT32")
    assert settings_mismatches(describe_index(client), float32) == ["datatype is FLOAT16, configured FLOAT32"]
    with pytest.raises(RuntimeError, match="not FLOAT32.*reindex"):
        rebuild_index(client, float32)  # the stored vectors are FLOAT16 only: an index of nothing


def test_a_reindex_removes_what_an_interrupted_conversion_left(float16_catalog, embedder):
    """As if a conversion to FLOAT32 stopped after converting: writes fill both datatypes, every
    product holds both. The next reindex (FLOAT16 still configured) keeps FLOAT16 alone."""
    client, settings = float16_catalog
    store = ProductStore(client)
    live = describe_index(client)
    ACTIVE_DATATYPES.add(client, "FLOAT32")
    store.convert_vectors(store.product_ids(), [TEXT_VECTOR, field_of(live.sources[IMAGE_VECTOR])], "FLOAT16",
                          "FLOAT32")
    assert client.hexists(search_key("70001"), stored_field(TEXT_VECTOR, "FLOAT32"))
    report = reindex(client, settings, embedder)
    assert "Vectors: removed the FLOAT32 ones, left by an interrupted re-index" in report.notes
    info = describe_index(client)
    assert info.datatype == "FLOAT16" and ACTIVE_DATATYPES.members(client) == ("FLOAT16",)
    for product_id in ProductStore(client).product_ids():
        assert set(stored_vector_sizes(client, product_id)) == set(info.sources.values()), product_id


def test_a_reindex_without_a_refit_converts_the_image_vectors_too(fresh_redis, embedder):
    """IMAGE_PROJECTION=none: the image model's own vectors are converted, not made again."""
    settings = settings_for(fresh_redis.url, image_projection="none")
    load_into(settings, SAMPLE_CATALOG, limit=20)
    client = connect(fresh_redis.url)
    before = live_vectors(client, "70001")
    for datatype, size in (("FLOAT16", 2), ("FLOAT32", 4)):
        report = reindex(client, settings.with_overrides(vector_datatype=datatype), embedder)
        info = describe_index(client)
        assert (info.datatype, info.image_generation, report.old.image_generation) == (datatype, "none", "none")
        assert info.sources == {field: stored_field(field, datatype) for field in VECTOR_FIELDS}
        assert stored_vector_sizes(client, "70001") == {info.sources[TEXT_VECTOR]: 384 * size,
                                                        info.sources[IMAGE_VECTOR]: 1280 * size}
        for field, vector in live_vectors(client, "70001").items():
            np.testing.assert_array_equal(vector, before[field].astype(np.float16).astype(np.float32))
