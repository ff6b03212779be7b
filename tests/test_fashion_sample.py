"""Integration on ../shared/data/fashion-sample (8,000 real products); skipped when it is absent."""

import csv
from collections import Counter

import numpy as np
import pytest

from finder.config import Settings
from finder.embeddings import Embedder
from finder.index import create_index, describe_index, wait_until_indexed
from finder.redis_server import EmbeddedRedis, connect
from finder.schema import IMAGE_VECTOR, TEXT_VECTOR, build_schema
from finder.search import Search
from finder.store import ProductStore
from tests.support import live_vectors, load_into, settings_for

pytestmark = pytest.mark.fashion_sample


@pytest.fixture(scope="module")
def fashion(fashion_sample, tmp_path_factory):
    """The 8,000 products loaded cold into a server of their own, then loaded again."""
    with EmbeddedRedis(tmp_path_factory.mktemp("redis-fashion")) as server:
        settings = settings_for(server.url)
        cold = load_into(settings, fashion_sample)
        warm = load_into(settings, fashion_sample)
        print(f"\nfashion-sample cold load: {cold.summary()}\nfashion-sample warm load: {warm.summary()}")
        client = connect(server.url)
        yield settings, client, ProductStore(client), cold, warm


def catalog_rows(fashion_sample):
    with open(fashion_sample / "styles.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_product_loads(fashion, fashion_sample):
    _, client, _, cold, _ = fashion
    rows = catalog_rows(fashion_sample)
    assert cold.failed == []
    assert cold.loaded == len(rows) == describe_index(client).documents


def test_a_second_run_skips_everything(fashion, fashion_sample):
    _, client, _, cold, warm = fashion
    assert (warm.loaded, warm.skipped, warm.failed) == (0, cold.loaded, [])
    assert describe_index(client).documents == cold.loaded


@pytest.mark.parametrize("article_type", ["Watches", "Sunglasses", "Handbags", "Belts", "Wallets", "Ties"])
def test_similar_by_image_finds_the_same_kind_of_product(fashion, fashion_sample, article_type):
    """Visually distinctive article types: their image neighbours are mostly the same type
    (measured 0.98-1.00 of the top 10; a broken preprocessing step drops this far lower)."""
    settings, client, store, _, _ = fashion
    search = Search(client, store, settings)
    queries = [row["id"] for row in catalog_rows(fashion_sample) if row["articleType"] == article_type][:10]
    same = 0
    for product_id in queries:
        hits = search.nearest(IMAGE_VECTOR, search.vectors(product_id)[IMAGE_VECTOR], 10, exclude_id=product_id)
        same += sum(hit.product.article_type == article_type for hit in hits)
    assert same / (10 * len(queries)) >= 0.9


def test_free_text_finds_matching_products(fashion):
    settings, client, store, _, _ = fashion
    search = Search(client, store, settings)
    query = Embedder.from_settings(settings).embed_texts(["black analog watch for men"])[0]
    hits = search.nearest(TEXT_VECTOR, query, 10)
    assert Counter(hit.product.article_type for hit in hits)["Watches"] >= 8


def test_flat_cosine_equals_numpy_on_8000_products(fashion):
    settings, client, store, _, _ = fashion
    ids = [key.decode().rsplit(":", 1)[1] for key in client.keys("finder:search:*")]
    live = describe_index(client)
    matrix = np.stack([live_vectors(client, product_id)[TEXT_VECTOR] for product_id in ids])
    flat = build_schema(Settings(index_algorithm="FLAT"), 384, live.vector_fields[IMAGE_VECTOR].dims,
                        name="fashion-flat-cosine")
    create_index(client, flat, alias="fashion-flat-alias", image_generation=live.image_generation)
    wait_until_indexed(client, flat.index.name)
    search = Search(client, store, settings, index_name=flat.index.name)
    for position in (0, 4000, 7999):
        hits = search.nearest(TEXT_VECTOR, matrix[position], 10)
        expected = np.sort(1 - matrix @ matrix[position])[:10]
        np.testing.assert_allclose([hit.distance for hit in hits], expected, atol=1e-4)
