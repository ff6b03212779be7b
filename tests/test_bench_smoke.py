"""The benchmark code runs on tiny data and writes well-formed tables, JSON and plots.

Nothing here checks a timing: benchmarks report figures, tests only check that they can.
Each benchmark's measuring and reporting functions run against the session's sample catalog
(or a few hundred synthetic products); `python -m bench quick|full` runs them at full size.
"""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlencode

import numpy as np
import pytest
from PIL import Image

from bench import embedded_text, latency, load_speed, page_weight, recall, relevance, scale, throughput
from bench.common import Latency, Report, gunicorn, markdown_table
from bench.exact import ExactNeighbours
from bench.workload import sample_workload
from finder.config import DEFAULT_CATALOG
from finder.redis_server import EmbeddedRedis, connect
from finder.words import edit_distance

CONTEXT = {"machine": "test"}


def assert_well_formed(report: Report, tmp_path) -> str:
    """Every table has as many cells per row as its header; the JSON file parses."""
    text = report.markdown()
    for block in text.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            assert len(rows) >= 3, block  # header, separator, at least one row
            assert len({row.count("|") for row in rows}) == 1, block
    report.save(tmp_path)
    saved = json.loads((tmp_path / f"{report.name}.json").read_text())
    assert saved["title"] == report.title and saved["data"]
    return text


def assert_png(path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_latency_percentiles_and_tables():
    summary = Latency.of([1.0, 2.0, 3.0, 4.0, 100.0])
    assert summary.count == 5 and summary.p50 == 3.0 and summary.p50 <= summary.p95 <= summary.p99 <= 100.0
    table = markdown_table(["name", "ms"], [["a", 1.234], ["b", 1000]])
    assert table.splitlines() == ["| name | ms |", "|---|---:|", "| a | 1.23 |", "| b | 1,000 |"]


def test_exact_neighbours_excludes_the_query_and_counts_ties():
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 1, 2, 3]]  # products a and b are identical
    truth = ExactNeighbours(vectors[:1], k=1, exclude_ids=["a"])
    truth.add(["a", "b", "c", "d", "e"], vectors)
    assert truth.recall(0, ["b"]) == 1.0 and truth.recall(0, ["c"]) == 0.0


@pytest.fixture(scope="module")
def app_server(settings, loaded_sample):
    with gunicorn(settings.redis_url, settings.data_dir, workers=1, threads=2) as app:
        yield app


def test_latency_runs(app_server, settings, tmp_path):
    results = latency.measure(app_server, settings.redis_url, settings.data_dir, queries=4, photo_queries=2, k=5)
    text = assert_well_formed(latency.report(results, "test", CONTEXT), tmp_path)
    assert "similar by image" in text and "photo search" in text


def test_throughput_runs(app_server, settings, redis_server, tmp_path):
    workload = sample_workload(connect(settings.redis_url), 20)
    # Every kind of request once before the clock starts, so lazy loading cannot fill the whole run.
    product_id, text = workload.product_ids[0], workload.texts[0]
    for path in (f"/api/products?{urlencode(workload.browse_filters[0])}", f"/api/search?{urlencode({'q': text})}",
                 f"/api/products/{product_id}/similar?by=text", f"/api/products/{product_id}/similar?by=image"):
        with urllib.request.urlopen(app_server.url + path, timeout=120) as answer:
            assert answer.status == 200
    client = connect(settings.redis_url)
    run = throughput.run_locust(app_server, redis_server.pid, client, workload.save(tmp_path / "workload.json"),
                                "mixed", users=4, spawn_rate=4, duration=5, out_dir=tmp_path)
    assert run.total.requests > 0 and set(run.by_kind) <= set(throughput.KINDS)
    # A fifth of the mix is free text, each looking for its query vector in the cache (emptied first).
    assert 0 < run.query_cache_lookups and run.query_cache_hits <= run.query_cache_lookups
    assert_well_formed(throughput.report([run], 4, "test", CONTEXT), tmp_path)


def test_a_locust_row_without_requests_has_no_percentiles(tmp_path):
    stats_csv = tmp_path / "stats.csv"
    stats_csv.write_text(
        "Type,Name,Request Count,Failure Count,Average Response Time,Requests/s,50%,99%\n"
        "GET,browse,3,1,12.5,1.5,11,20\n"
        ",Aggregated,0,0,0.0,0.0,N/A,N/A\n"
    )
    stats = throughput.read_locust_stats(stats_csv)
    browse = stats["browse"]
    assert (browse.requests, browse.failures, browse.p50, browse.p99) == (3, 1, 11, 20)
    assert stats["Aggregated"].requests == 0 and np.isnan(stats["Aggregated"].p50)


def test_recall_runs(settings, loaded_sample, tmp_path):
    points = recall.measure(settings.redis_url, queries=5, ef_values=[10, 50], k=5)
    assert all(0.0 <= point.recall <= 1.0 for point in points)
    assert {point.algorithm for point in points} == {"HNSW", "FLAT"}
    assert_well_formed(recall.report(points, 5, "test", CONTEXT), tmp_path)
    assert_png(recall.plot(points, tmp_path / "recall.png", "test"))


@pytest.mark.parametrize("vectors", ["clustered", "random"])
def test_scale_runs(vectors, settings, loaded_sample, tmp_path):
    catalog = (scale.SyntheticCatalog.clustered(connect(settings.redis_url), DEFAULT_CATALOG) if vectors == "clustered"
               else scale.SyntheticCatalog.random(DEFAULT_CATALOG))
    with EmbeddedRedis(tmp_path / "redis") as server:
        client = connect(server.url, timeout=60)
        runs = [
            scale.measure_size(client, server.pid, catalog, products, datatype, queries=5, flat_queries=3,
                               ef_values=[10])
            for products, datatype in ((300, "FLOAT32"), (1200, "FLOAT32"), (300, "FLOAT16"))
        ]
    assert all(run.bytes_per_product_hnsw > 0 and run.knn for run in runs)
    assert all(point.recall > 0.9 for run in runs for point in run.knn if point.algorithm == "FLAT")  # FLOAT16 too
    assert runs[2].vector_index_bytes_per_product_hnsw < 0.6 * runs[0].vector_index_bytes_per_product_hnsw
    plan = scale.plan_size(1_000_000, runs[:2], memory_budget=1e9, max_load_seconds=3600)
    assert plan.products < 1_000_000 and plan.reason
    assert_well_formed(scale.report(runs, [plan], "test", CONTEXT), tmp_path)
    assert_png(scale.plot(runs, tmp_path / "scale.png", default_ef=100, vectors=vectors, dims=catalog.dims))
    assert_png(scale.plot([run for run in runs if run.datatype == "FLOAT16"], tmp_path / "scale-float16.png",
                          default_ef=100, vectors=vectors, dims=catalog.dims))


def test_load_speed_runs(tmp_path):
    figures = load_speed.measure(DEFAULT_CATALOG, limit=8)
    cold, warm = figures["runs"]
    assert (cold.loaded, warm.loaded, warm.skipped) == (8, 0, 8)
    assert_well_formed(load_speed.report(figures, "test", CONTEXT), tmp_path)


def test_clustered_vectors_stay_near_their_real_product(settings, loaded_sample):
    catalog = scale.SyntheticCatalog.clustered(connect(settings.redis_url), DEFAULT_CATALOG)
    bases = catalog.bases(3, 200)
    for name in scale.DIMS:
        vectors = catalog.vectors(3, 200, name)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert np.array_equal(vectors, catalog.vectors(3, 200, name))  # reproducible from (seed, chunk)
        real = catalog.real_vectors[name]
        to_base = np.einsum("ij,ij->i", vectors, real[bases])
        to_others = vectors @ real[np.random.default_rng(0).integers(len(real), size=200)].T
        assert to_base.mean() > to_others.mean() + 0.1  # a product's vector resembles its base's
    documents = catalog.documents(3, 200)
    assert [document["article_type"] for document in documents] == [catalog.templates[b]["article_type"] for b in bases]


def test_relevance_runs_every_family_against_the_app(app_server, tmp_path):
    items = relevance.read_items(DEFAULT_CATALOG)
    queries = relevance.QueryFactory(items, "all").all(per_family=3)
    families = {query.family for query in queries}
    assert {"known item: exact name", "known item: one typo", "colour + type + gender", "shopper words",
            "By Image: type", "By Text: type"} <= families
    results, latency_, rankings = relevance.run_queries(app_server.url, queries)
    assert set(results) == families and all(0.0 <= value <= 1.0 for r in results.values() for value in r.first)
    text = assert_well_formed(
        relevance.report({"current": results}, {"current": latency_}, queries, "all", "test", CONTEXT,
                         tmp_path / "relevance.png"), tmp_path)
    assert "known item: exact name" in text
    assert_png(tmp_path / "relevance.png")


def test_relevance_queries_are_made_as_described():
    assert relevance.brand_of("United Colors of Benetton Men Blue Shirt") == "United Colors of Benetton"
    assert relevance.brand_of("Plain Blue Shirt") is None
    assert {relevance.split_of(str(number)) for number in range(200)} == {"test", "tune"}
    assert relevance.split_of("15970") == relevance.split_of("15970")
    for seed in range(50):
        typo = relevance.with_typo("Puma Men Black Casual Shoes", relevance.random.Random(seed))
        changed = [(a, b) for a, b in zip("Puma Men Black Casual Shoes".split(), typo.split(), strict=True) if a != b]
        assert len(changed) == 1 and edit_distance(*changed[0]) == 1


def test_relevance_scores_hits_precision_and_ndcg():
    hit = relevance.Query("f", "/api/search", (), frozenset({"b"}), "hit", "s")
    assert relevance.score(hit, ["a", "b"]) == (1.0, pytest.approx(1 / np.log2(3)))
    precision = relevance.Query("f", "/x", (), frozenset({"a", "b", "q"}), "precision", "q", exclude="q")
    assert relevance.score(precision, ["q", "a", "c"])[0] == 0.5  # 1 of the 2 others, the query product skipped


def test_embedded_text_agreement_counts_neighbours_of_the_same_type_and_colour():
    # Four products on a circle: each one's nearest others are its two neighbours, then the opposite.
    angles = np.deg2rad([0, 10, 90, 180])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    types = np.array(["Tshirts", "Tshirts", "Shirts", "Tshirts"])
    colours = np.array(["Red", "Blue", "Red", "Red"])
    by_type, by_both = embedded_text.agreement(vectors, types, colours, np.array([0]))
    # Product 0's neighbours by similarity: 1 (Tshirts, Blue), 2 (Shirts, Red), 3 (Tshirts, Red).
    assert (by_type, by_both) == (2 / 3, 1 / 3)


def test_the_page_weight_catalog_has_kaggle_size_photos(tmp_path):
    source = tmp_path / "source"
    (source / "images").mkdir(parents=True)
    for product_id in ("1", "2"):
        Image.new("RGB", (60, 80), "red").save(source / "images" / f"{product_id}.jpg")
    (source / "styles.csv").write_text("id,name\n1,a\n2,b\n")
    catalog = page_weight.kaggle_size_catalog(tmp_path / "catalog", source)
    sizes = {Image.open(photo).size for photo in (catalog / "images").glob("*.jpg")}
    assert sizes == {page_weight.KAGGLE_SIZE} and (catalog / "styles.csv").read_text() == "id,name\n1,a\n2,b\n"
