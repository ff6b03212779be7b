"""The bulk loader against a real Redis with real models: counts, fields, vectors, idempotence."""

import csv
import os
import shutil
import subprocess
import sys

import numpy as np

from finder.config import BUILTIN_IMAGE_MODELS, PROJECT_ROOT
from finder.index import describe_index
from finder.products import Product
from finder.projection import ACTIVE_KEY, NONE, PROJECTION_KEY_PREFIX, ImageSpaces
from finder.redis_server import connect
from finder.schema import IMAGE_VECTOR, TEXT_VECTOR
from finder.store import ProductStore
from tests.support import SAMPLE_CATALOG, live_vectors, load_into, settings_for


def sample_records():
    with open(SAMPLE_CATALOG / "styles.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def copy_catalog(source, target, limit=None):
    """A writable copy of the first `limit` rows of a catalog."""
    (target / "images").mkdir(parents=True)
    with open(source / "styles.csv", newline="", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    lines = lines[: (limit + 1) if limit else None]
    (target / "styles.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for line in lines[1:]:
        product_id = line.split(",", 1)[0]
        shutil.copy(source / "images" / f"{product_id}.jpg", target / "images" / f"{product_id}.jpg")
    return target


def test_the_sample_loads_completely(loaded_sample, client, store):
    records = sample_records()
    assert loaded_sample.failed == []
    assert loaded_sample.loaded == len(records)
    info = describe_index(client)
    assert info.documents == len(records)
    assert {name: field.dims for name, field in info.vector_fields.items()} == {TEXT_VECTOR: 384, IMAGE_VECTOR: 192}


def test_the_sample_loads_with_a_projection_learnt_from_it(loaded_sample, client, embedder):
    """The first load fits a projection, stores it beside the index and indexes its field."""
    info = describe_index(client)
    generation = info.image_generation
    assert info.sources == {TEXT_VECTOR: TEXT_VECTOR, IMAGE_VECTOR: f"image_vector@{generation}"}
    attributes = [dict(zip(pairs[::2], pairs[1::2], strict=True))
                  for pairs in client.ft(info.name).info()["attributes"]]
    image = next(attribute for attribute in attributes if attribute[b"attribute"] == b"image_vector")
    assert image[b"identifier"] == f"image_vector@{generation}".encode()  # FT.CREATE ... AS image_vector
    assert client.smembers(ACTIVE_KEY) == {generation.encode()}
    assert client.keys(PROJECTION_KEY_PREFIX + "*") == [(PROJECTION_KEY_PREFIX + generation).encode()]
    projection = ImageSpaces(client, embedder).projection(generation)
    assert projection.about["products"] == len(sample_records()) and projection.dims == 192
    assert projection.features == embedder.image_features_id
    assert f"projection {generation} fitted on {len(sample_records())} products" in " ".join(loaded_sample.notes)
    image_vectors = np.stack([vectors[IMAGE_VECTOR] for vectors in
                              (live_vectors(client, record["id"]) for record in sample_records())])
    assert image_vectors.shape == (len(sample_records()), 192) and image_vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(image_vectors, axis=1), 1.0, rtol=1e-5)
    assert IMAGE_VECTOR.encode() not in client.hkeys("finder:search:70001")  # no unprojected vector beside it


def test_re_running_the_sample_load_changes_nothing(loaded_sample, settings, client):
    keys_before = sorted(client.keys("*"))
    vectors_before = live_vectors(client, "70010")
    again = load_into(settings, SAMPLE_CATALOG)
    assert (again.loaded, again.skipped, again.failed, again.notes) == (0, loaded_sample.loaded, [], [])
    assert sorted(client.keys("*")) == keys_before
    np.testing.assert_array_equal(live_vectors(client, "70010")[IMAGE_VECTOR], vectors_before[IMAGE_VECTOR])


def test_stored_products_match_the_catalog(loaded_sample, store):
    records = sample_records()
    products = store.get_many([record["id"] for record in records])
    for record, product in zip(records, products, strict=True):
        assert product is not None, record["id"]
        assert (product.name, product.gender, product.category, product.article_type, product.color) == (
            record["productDisplayName"], record["gender"], record["masterCategory"],
            record["articleType"], record["baseColour"],
        )
        assert product.year == int(record["year"])


def test_stored_vectors_are_the_models_vectors(loaded_sample, client, store, embedder):
    product = store.get(sample_records()[3]["id"])
    vectors = live_vectors(client, product.id)
    projected = ImageSpaces(client, embedder).embedder_for(describe_index(client).image_generation)
    assert vectors[TEXT_VECTOR].shape == (384,) and vectors[IMAGE_VECTOR].shape == (192,)
    np.testing.assert_allclose(vectors[TEXT_VECTOR], embedder.embed_texts([product.embedding_text()])[0], atol=1e-5)
    np.testing.assert_allclose(vectors[IMAGE_VECTOR], projected.embed_images([product.image_path])[0], atol=1e-5)


def test_every_product_of_a_first_load_has_its_own_text_vector(loaded_sample, client, store, embedder):
    """A first load embeds the texts in a thread beside the photos: each must land on its product."""
    products = store.get_many([record["id"] for record in sample_records()])
    stored = np.stack([live_vectors(client, product.id)[TEXT_VECTOR] for product in products])
    expected = embedder.embed_texts([product.embedding_text() for product in products])
    np.testing.assert_allclose(stored, expected, atol=1e-5)


def run_load(catalog, env: dict[str, str], *options: str) -> subprocess.CompletedProcess:
    """`python -m indexer load CATALOG --quiet [options]` in a new process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "indexer", "load", str(catalog), "--quiet", *options], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)


def test_a_rerun_over_an_unchanged_catalog_writes_nothing(fresh_redis, tmp_path):
    settings = settings_for(fresh_redis.url)
    catalog = copy_catalog(SAMPLE_CATALOG, tmp_path / "catalog", limit=20)
    first = load_into(settings, catalog)
    client = connect(settings.redis_url)
    keys_before = sorted(client.keys("*"))
    second = load_into(settings, catalog)
    assert (first.loaded, first.skipped) == (20, 0)
    assert (second.loaded, second.skipped, second.failed) == (0, 20, [])
    assert sorted(client.keys("*")) == keys_before
    assert describe_index(client).documents == 20


def test_a_changed_name_re_embeds_the_text_and_keeps_the_image_vector(fresh_redis, tmp_path):
    settings = settings_for(fresh_redis.url)
    catalog = copy_catalog(SAMPLE_CATALOG, tmp_path / "catalog", limit=5)
    load_into(settings, catalog)
    client = connect(settings.redis_url)
    store = ProductStore(client)
    changed_id = sample_records()[2]["id"]
    before = live_vectors(client, changed_id)
    styles = catalog / "styles.csv"
    rows = list(csv.reader(styles.open(newline="", encoding="utf-8")))
    rows[3][-1] = "Completely Different Name Umbrella"
    with styles.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    report = load_into(settings, catalog)
    after = live_vectors(client, changed_id)
    assert (report.loaded, report.skipped) == (1, 4)
    assert store.get(changed_id).name == "Completely Different Name Umbrella"
    assert not np.allclose(before[TEXT_VECTOR], after[TEXT_VECTOR])
    np.testing.assert_array_equal(before[IMAGE_VECTOR], after[IMAGE_VECTOR])


def test_broken_rows_are_skipped_and_reported_and_the_rest_load(fresh_redis, tmp_path):
    settings = settings_for(fresh_redis.url)
    catalog = copy_catalog(SAMPLE_CATALOG, tmp_path / "catalog", limit=6)
    records = sample_records()[:6]
    (catalog / "images" / f"{records[1]['id']}.jpg").write_bytes(b"this is not a jpeg")
    (catalog / "images" / f"{records[2]['id']}.jpg").unlink()
    with (catalog / "styles.csv").open("a", encoding="utf-8") as handle:
        handle.write("99999,Men,Apparel,Topwear,Tshirts,Blue,Fall,twenty,Casual,Broken Year Tee\n")
    report = load_into(settings, catalog)
    reasons = {problem.product_id: (problem.line, problem.reason) for problem in report.failed}
    assert report.loaded == 4
    assert reasons[records[1]["id"]][0] == 3 and "unreadable image" in reasons[records[1]["id"]][1]
    assert reasons[records[2]["id"]][0] == 4 and "image not found" in reasons[records[2]["id"]][1]
    assert reasons["99999"][0] == 8 and "year" in reasons["99999"][1]
    store = ProductStore(connect(settings.redis_url))
    assert store.get(records[1]["id"]) is None and store.get("99999") is None
    assert describe_index(connect(settings.redis_url)).documents == 4


def test_an_interrupted_load_resumes_without_duplicates(fresh_redis, tmp_path):
    settings = settings_for(fresh_redis.url)
    catalog = copy_catalog(SAMPLE_CATALOG, tmp_path / "catalog", limit=30)
    partial = load_into(settings, catalog, limit=12)  # as if stopped after 12 products
    resumed = load_into(settings, catalog)
    assert partial.loaded == 12
    assert (resumed.loaded, resumed.skipped) == (18, 12)
    client = connect(settings.redis_url)
    assert describe_index(client).documents == 30
    assert len(client.keys(Product.key_for("*"))) == 30


def test_the_command_line_loads_reports_and_is_idempotent(fresh_redis, tmp_path):
    catalog = copy_catalog(SAMPLE_CATALOG, tmp_path / "catalog", limit=8)
    (catalog / "images" / f"{sample_records()[0]['id']}.jpg").unlink()
    env = {**os.environ, "REDIS_URL": fresh_redis.url}
    first = run_load(catalog, env)
    second = run_load(catalog, env)
    assert first.returncode == 0, first.stderr
    assert "8 rows: 7 loaded, 0 skipped (unchanged), 1 failed" in first.stdout
    assert f"skipped row 2 (id {sample_records()[0]['id']}): image not found" in first.stderr
    assert "8 rows: 0 loaded, 7 skipped (unchanged), 1 failed" in second.stdout


def test_the_command_line_refuses_a_conflicting_index_unless_recreated(fresh_redis, tmp_path):
    catalog = copy_catalog(SAMPLE_CATALOG, tmp_path / "catalog", limit=3)
    env = {**os.environ, "REDIS_URL": fresh_redis.url}
    assert run_load(catalog, env, "--algorithm", "HNSW").returncode == 0
    conflict = run_load(catalog, env, "--algorithm", "FLAT", "--metric", "L2")
    assert conflict.returncode == 1
    assert "algorithm is HNSW, configured FLAT" in conflict.stderr and "--recreate" in conflict.stderr
    recreated = run_load(catalog, env, "--algorithm", "FLAT", "--metric", "L2", "--recreate")
    assert recreated.returncode == 0, recreated.stderr
    assert "3 loaded" in recreated.stdout
    info = describe_index(connect(fresh_redis.url))
    assert (info.algorithm, info.metric, info.documents) == ("FLAT", "L2", 3)


def test_a_catalog_loaded_with_the_float_image_model_loads_with_the_bf16_one(fresh_redis, tmp_path):
    """An upgrade to the bfloat16 default: the next load embeds every photo again and keeps the
    By Image projection (fitted on float features, which are of the same space)."""
    catalog = copy_catalog(SAMPLE_CATALOG, tmp_path / "catalog")
    env = {**os.environ, "REDIS_URL": fresh_redis.url, "DATA_DIR": str(tmp_path / "data")}
    bf16_model, float_model = BUILTIN_IMAGE_MODELS
    assert run_load(catalog, {**env, "IMAGE_MODEL": float_model}).returncode == 0
    client = connect(fresh_redis.url)
    generation = describe_index(client).image_generation
    product_id = sample_records()[0]["id"]
    before = live_vectors(client, product_id)[IMAGE_VECTOR]
    upgraded = run_load(catalog, {**env, "IMAGE_MODEL": bf16_model})
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"{len(sample_records())} loaded" in upgraded.stdout
    assert describe_index(client).image_generation == generation != NONE
    after = live_vectors(client, product_id)[IMAGE_VECTOR]
    assert after @ before > 0.99


def test_the_command_line_rejects_bad_settings_with_a_message(tmp_path):
    env = {**os.environ, "INDEX_ALGORITHM": "IVF"}
    result = subprocess.run([sys.executable, "-m", "indexer", "load", str(tmp_path)], env=env, cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "INDEX_ALGORITHM='IVF' is not valid; allowed values: HNSW, FLAT" in result.stderr
