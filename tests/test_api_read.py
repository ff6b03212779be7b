"""The read API and pages over a loaded catalog."""

import io
import time

from PIL import Image

from finder.index import describe_index
from tests.support import settings_for


def test_health_reports_the_product_count(http, loaded_sample):
    response = http.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "products": loaded_sample.loaded}


def test_health_is_503_with_a_json_error_when_redis_is_down(fresh_redis, tmp_path):
    from app import create_app

    app = create_app(settings_for(fresh_redis.url, redis_timeout=0.5))
    fresh_redis.stop()
    started = time.monotonic()
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["error"]["code"] == "redis_unavailable"
    assert time.monotonic() - started < 5


def test_api_reads_are_503_json_when_redis_is_down(fresh_redis):
    from app import create_app

    app = create_app(settings_for(fresh_redis.url, redis_timeout=0.5))
    fresh_redis.stop()
    response = app.test_client().get("/api/products")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "redis_unavailable"


def test_index_describes_the_live_index(http, client, settings):
    body = http.get("/api/index").json
    live = describe_index(client)
    assert body["name"] == "finder:products" and body["physical_name"] == live.name
    assert (body["algorithm"], body["metric"]) == (settings.index_algorithm, settings.distance_metric)
    assert body["hnsw"] == {"m": settings.hnsw_m, "ef_construction": settings.hnsw_ef_construction,
                            "ef_runtime": settings.hnsw_ef_runtime}
    assert body["documents"] == live.documents
    assert body["vector_fields"] == [
        {"name": "text_vector", "dims": 384, "datatype": "FLOAT32"},
        {"name": "image_vector", "dims": 192, "datatype": "FLOAT32"},
    ]
    projection = body["image_projection"]
    assert projection["generation"] == live.image_generation and projection["dims"] == 192
    assert projection["products"] == live.documents and projection["features"].startswith("efficientnet")


def test_products_pages_cover_the_catalog_once(http, loaded_sample):
    seen = []
    page = 1
    while True:
        body = http.get(f"/api/products?page={page}&per_page=100").json
        assert body["total"] == loaded_sample.loaded and body["page"] == page and body["per_page"] == 100
        if not body["products"]:
            break
        seen += [product["id"] for product in body["products"]]
        page += 1
    assert len(seen) == len(set(seen)) == loaded_sample.loaded


def test_products_default_paging(http):
    body = http.get("/api/products").json
    assert (body["page"], body["per_page"], len(body["products"])) == (1, 24, 24)
    product = body["products"][0]
    assert set(product) == {"id", "name", "gender", "category", "sub_category", "article_type", "color",
                            "season", "year", "usage", "image_url", "thumbnail_url"}
    assert "image_path" not in product  # server paths stay on the server


def test_bad_paging_parameters_are_400_naming_the_parameter(http):
    cases = [("page=0", "page"), ("page=x", "page"), ("per_page=101", "per_page"), ("per_page=-1", "per_page")]
    for query, name in cases:
        response = http.get(f"/api/products?{query}")
        assert response.status_code == 400, query
        assert response.json["error"]["code"] == "invalid_parameter"
        assert name in response.json["error"]["message"]


def test_a_product_by_id(http, store):
    listed = http.get("/api/products?per_page=1").json["products"][0]
    body = http.get(f"/api/products/{listed['id']}").json
    assert body == listed == store.get(listed["id"]).to_public()


def test_an_unknown_product_is_a_404_json_error(http):
    response = http.get("/api/products/does-not-exist")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "product_not_found"


def test_images_are_served_for_products(http, store):
    listed = http.get("/api/products?per_page=1").json["products"][0]
    response = http.get(listed["image_url"])
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    with open(store.get(listed["id"]).image_path, "rb") as photo:
        assert response.data == photo.read()


def test_a_versioned_photo_url_is_cached_for_good_and_an_unversioned_one_briefly(http, store):
    listed = http.get("/api/products?per_page=1").json["products"][0]
    version = store.get(listed["id"]).image_version
    assert version and listed["image_url"] == f"/images/{listed['id']}?v={version}"
    forever = http.get(listed["image_url"]).headers["Cache-Control"]
    assert "immutable" in forever and "max-age=31536000" in forever
    briefly = http.get(f"/images/{listed['id']}").headers["Cache-Control"]
    assert "immutable" not in briefly and "max-age=300" in briefly


def test_thumbnails_are_small_webp_copies_made_once(http, store, settings):
    listed = http.get("/api/products?per_page=1").json["products"][0]
    response = http.get(listed["thumbnail_url"])
    assert response.status_code == 200 and response.mimetype == "image/webp"
    thumbnail = Image.open(io.BytesIO(response.data))
    with Image.open(store.get(listed["id"]).image_path) as photo:
        assert max(thumbnail.size) == min(320, max(photo.size))
        assert abs(thumbnail.size[0] / thumbnail.size[1] - photo.size[0] / photo.size[1]) < 0.02  # same shape
    assert "immutable" in response.headers["Cache-Control"]
    made = list(settings.thumbnails_dir.glob(f"{listed['id']}-*.webp"))
    assert len(made) == 1
    again = http.get(listed["thumbnail_url"])
    assert again.data == response.data and made[0].stat().st_mtime_ns == list(
        settings.thumbnails_dir.glob(f"{listed['id']}-*.webp"))[0].stat().st_mtime_ns
    assert http.get("/images/unknown-product/thumbnail").status_code == 404


def test_image_urls_cannot_reach_other_files(http):
    for path in ["/images/..%2F..%2Fetc%2Fpasswd", "/images/../../etc/passwd", "/images/%2Fetc%2Fpasswd",
                 "/images/unknown-product", "/images/..", "/images/.env"]:
        response = http.get(path)
        assert response.status_code == 404, path
        assert b"root:" not in response.data


def test_unknown_api_routes_are_json_404s(http):
    response = http.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_home_page_serves_the_finder(http):
    response = http.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert b'src="/static/app.js"' in response.data and b'id="search-input"' in response.data
    assert http.get("/static/app.js").status_code == 200  # what renders the grid (tests/test_browser.py)
