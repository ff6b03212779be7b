"""Real-time writes through the API: create, replace, delete, auth and validation."""

import base64
import io
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import create_app
from finder.embeddings import Embedder
from finder.index import describe_index
from finder.projection import NONE, ImageSpaces
from finder.redis_server import EmbeddedRedis, connect
from finder.store import ProductStore
from tests.support import SAMPLE_CATALOG, live_vectors, load_into, settings_for

API_KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
SCARF = {"id": "api-scarf-1", "name": "Aurora Women Teal Silk Paisley Scarf", "gender": "Women",
         "category": "Accessories", "sub_category": "Scarves", "article_type": "Scarves", "color": "Teal",
         "season": "Winter", "year": 2019, "usage": "Casual"}


def photo(product_id="70001") -> bytes:
    return (SAMPLE_CATALOG / "images" / f"{product_id}.jpg").read_bytes()


@pytest.fixture(scope="module")
def writable(tmp_path_factory):
    """An app with an API key over a server of its own holding the first 120 sample products, enough
    to learn a By Image projection from: writes make vectors of it."""
    folder = tmp_path_factory.mktemp("writable")
    with EmbeddedRedis(folder / "redis") as server:
        settings = settings_for(server.url, api_key=API_KEY, data_dir=folder)
        load_into(settings, SAMPLE_CATALOG, limit=120)
        yield create_app(settings), connect(server.url)


@pytest.fixture
def http(writable):
    return writable[0].test_client()


@pytest.fixture
def redis_client(writable):
    return writable[1]


def create(http, product, image=None, headers=AUTH):
    return http.post("/api/products", headers=headers,
                     data={"product": json.dumps(product), "image": (io.BytesIO(image or photo()), "photo.jpg")})


def all_keys(client) -> set:
    return set(client.keys("*"))


def test_a_created_product_is_searchable_as_soon_as_the_response_is_sent(http, redis_client):
    response = create(http, SCARF, photo("70001"))
    assert response.status_code == 201, response.json
    assert response.headers["Location"] == "/api/products/api-scarf-1"
    version = response.json["image_url"].split("?v=")[1]
    assert response.json == {**SCARF, "image_url": f"/images/api-scarf-1?v={version}",
                             "thumbnail_url": f"/images/api-scarf-1/thumbnail?v={version}"}
    assert http.get("/api/products/api-scarf-1").json["name"] == SCARF["name"]
    assert "api-scarf-1" in {p["id"] for p in http.get("/api/products?per_page=100&color=Teal").json["products"]}
    found = http.get("/api/search?q=teal silk paisley scarf&k=3").json["results"]
    assert found[0]["product"]["id"] == "api-scarf-1"
    similar = http.get("/api/products/70001/similar?by=image&k=5").json["results"]
    assert "api-scarf-1" in {r["product"]["id"] for r in similar}  # same photo as 70001
    np.testing.assert_allclose(live_vectors(redis_client, "api-scarf-1")["image_vector"],
                               live_vectors(redis_client, "70001")["image_vector"], atol=1e-6)  # same projection
    image = http.get("/images/api-scarf-1")
    assert image.status_code == 200 and image.data == photo("70001")


def test_json_with_a_base64_photo_creates_too(http):
    product = {**SCARF, "id": "api-json-1", "name": "Aurora Men Navy Wool Scarf", "color": "Navy Blue"}
    response = http.post("/api/products", headers=AUTH,
                         json={"product": product, "image": base64.b64encode(photo("70002")).decode()})
    assert response.status_code == 201, response.json
    assert http.get("/api/products/api-json-1").json["color"] == "Navy Blue"


def test_a_duplicate_id_is_409_and_changes_nothing(http, redis_client):
    create(http, {**SCARF, "id": "api-dup-1"})
    before = ProductStore(redis_client).get("api-dup-1")
    response = create(http, {**SCARF, "id": "api-dup-1", "name": "Another Name"})
    assert response.status_code == 409 and response.json["error"]["code"] == "product_exists"
    assert ProductStore(redis_client).get("api-dup-1") == before


def test_concurrent_creates_of_one_id_give_one_201_and_409s(writable):
    app, _ = writable
    statuses = []

    def attempt(number):
        response = create(app.test_client(), {**SCARF, "id": "api-race-1", "name": f"Racer {number}"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 5


def test_replace_re_embeds_only_what_changed(http, redis_client):
    create(http, {**SCARF, "id": "api-put-1"}, photo("70001"))
    first = live_vectors(redis_client, "api-put-1")

    created_urls = http.get("/api/products/api-put-1").json["thumbnail_url"]
    assert http.get(created_urls).status_code == 200
    renamed = http.put("/api/products/api-put-1", headers=AUTH,
                       json={"product": {**SCARF, "id": "api-put-1", "name": "Aurora Women Red Cotton Scarf"}})
    assert renamed.status_code == 200 and renamed.json["name"] == "Aurora Women Red Cotton Scarf"
    assert renamed.json["thumbnail_url"] == created_urls  # the same photo keeps its URLs
    second = live_vectors(redis_client, "api-put-1")
    assert not np.array_equal(first["text_vector"], second["text_vector"])
    np.testing.assert_array_equal(first["image_vector"], second["image_vector"])  # no new photo: kept

    recolored = http.put("/api/products/api-put-1", headers=AUTH, data={
        "product": json.dumps({key: value for key, value in SCARF.items() if key != "id"}
                              | {"name": "Aurora Women Red Cotton Scarf"}),
        "image": (io.BytesIO(photo("70010")), "new.jpg")})
    assert recolored.status_code == 200
    third = live_vectors(redis_client, "api-put-1")
    np.testing.assert_array_equal(second["text_vector"], third["text_vector"])  # same text: kept
    assert not np.array_equal(second["image_vector"], third["image_vector"])
    np.testing.assert_allclose(third["image_vector"], live_vectors(redis_client, "70010")["image_vector"], atol=1e-6)
    assert http.get("/images/api-put-1").data == photo("70010")
    assert recolored.json["thumbnail_url"] != created_urls  # a new photo, new URLs: no stale cache
    new_thumbnail = Image.open(io.BytesIO(http.get(recolored.json["thumbnail_url"]).data))
    assert new_thumbnail.format == "WEBP"


def test_replacing_drops_attributes_left_out(http):
    create(http, {**SCARF, "id": "api-put-2"})
    fewer = {key: value for key, value in SCARF.items() if key not in ("id", "color", "year")}
    assert http.put("/api/products/api-put-2", headers=AUTH, json={"product": fewer}).status_code == 200
    assert http.get("/api/products/api-put-2").json["color"] is None
    assert "api-put-2" not in {p["id"] for p in http.get("/api/products?color=Teal&per_page=100").json["products"]}


def test_delete_removes_metadata_vectors_and_photo(http, redis_client):
    create(http, {**SCARF, "id": "api-del-1"}, photo("70003"))
    stored_photo = ProductStore(redis_client).get("api-del-1").image_path
    assert http.delete("/api/products/api-del-1", headers=AUTH).status_code == 204
    assert http.get("/api/products/api-del-1").status_code == 404
    assert redis_client.exists("finder:product:api-del-1", "finder:search:api-del-1") == 0
    assert "api-del-1" not in {r["product"]["id"] for r in http.get("/api/search?q=teal scarf&k=50").json["results"]}
    assert not Path(stored_photo).exists()
    again = http.delete("/api/products/api-del-1", headers=AUTH)
    assert again.status_code == 404 and again.json["error"]["code"] == "product_not_found"


def test_deleting_a_catalog_product_keeps_the_catalog_photo(http, redis_client):
    path = ProductStore(redis_client).get("70005").image_path
    assert http.delete("/api/products/70005", headers=AUTH).status_code == 204
    assert Path(path).is_file()


def test_replacing_an_unknown_product_is_404(http):
    response = http.put("/api/products/never-made", headers=AUTH, json={"product": SCARF})
    assert response.status_code == 400  # the body names another id
    response = http.put("/api/products/never-made", headers=AUTH, json={"product": {**SCARF, "id": "never-made"}})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "headers, status, code",
    [({}, 401, "unauthorized"), ({"Authorization": "Bearer wrong-key-000000000"}, 401, "unauthorized"),
     ({"Authorization": f"Basic {API_KEY}"}, 401, "unauthorized"), ({"Authorization": API_KEY}, 401, "unauthorized")],
    ids=["missing", "wrong", "basic-scheme", "no-scheme"],
)
def test_writes_need_the_right_key(http, redis_client, headers, status, code):
    before = all_keys(redis_client)
    for response in (create(http, {**SCARF, "id": "api-auth-1"}, headers=headers),
                     http.put("/api/products/70001", headers=headers, json={"product": SCARF}),
                     http.delete("/api/products/70001", headers=headers)):
        assert response.status_code == status and response.json["error"]["code"] == code
    assert all_keys(redis_client) == before


def test_without_an_api_key_configured_writes_are_disabled_with_instructions(settings, loaded_sample):
    app = create_app(settings)  # the session settings have no API_KEY
    response = app.test_client().delete("/api/products/70001", headers=AUTH)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "writes_disabled" and "API_KEY" in response.json["error"]["message"]
    assert app.test_client().get("/api/products/70001").status_code == 200  # reads stay open


def bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (12_000, 6_000)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "make_request, status, code, words",
    [
        (lambda http: create(http, {**SCARF, "id": "bad-1", "price": 10}), 400, "invalid_product", "price"),
        (lambda http: create(http, {**SCARF, "id": "bad-2", "year": "soon"}), 400, "invalid_product", "year"),
        (lambda http: create(http, {**SCARF, "id": "bad-3", "name": ""}), 400, "invalid_product", "name"),
        (lambda http: create(http, {key: v for key, v in SCARF.items() if key != "gender"} | {"id": "bad-4"}),
         400, "invalid_product", "gender"),
        (lambda http: create(http, {**SCARF, "id": "../etc/passwd"}), 400, "invalid_product", "id"),
        (lambda http: create(http, {**SCARF, "id": "bad-5", "image_path": "/etc/passwd"}), 400, "invalid_product",
         "image_path"),
        (lambda http: create(http, {**SCARF, "id": "bad-6"}, b"not a photo at all"), 415, "not_an_image", "image"),
        (lambda http: create(http, {**SCARF, "id": "bad-7"}, photo()[:2000]), 400, "corrupt", "truncated"),
        (lambda http: create(http, {**SCARF, "id": "bad-8"}, bomb()), 413, "too_large", "pixels"),
        (lambda http: http.post("/api/products", headers=AUTH, data={"product": json.dumps({**SCARF, "id": "bad-9"})},
                                content_type="multipart/form-data"),
         400, "missing_image", "photo"),
        (lambda http: http.post("/api/products", headers=AUTH, data={"product": "{not json",
                                                                     "image": (io.BytesIO(photo()), "a.jpg")}),
         400, "invalid_json", "JSON"),
        (lambda http: http.post("/api/products", headers=AUTH, json={"product": {**SCARF, "id": "bad-10"},
                                                                     "image": "%%%"}),
         400, "invalid_image", "base64"),
        (lambda http: http.post("/api/products", headers=AUTH, json=[1, 2]), 400, "invalid_json", "object"),
        (lambda http: http.post("/api/products", headers=AUTH, json={"product": SCARF, "image": "", "extra": 1}),
         400, "invalid_product", "extra"),
        (lambda http: http.post("/api/products", headers=AUTH, data="id=1", content_type="text/plain"),
         415, "unsupported_media_type", "multipart"),
        (lambda http: http.post("/api/products", headers={**AUTH, "Content-Type": "application/json"},
                                data=b"x" * (11 * 1024 * 1024)),
         413, "payload_too_large", "MB"),
    ],
    ids=["unknown-field", "wrong-type", "empty-name", "missing-field", "bad-id", "server-field", "not-an-image",
         "truncated", "pixel-bomb", "no-image", "bad-json", "bad-base64", "not-an-object", "unknown-body-field",
         "wrong-content-type", "oversized"],
)
def test_bad_writes_are_clear_4xx_errors_and_write_nothing(http, redis_client, make_request, status, code, words):
    before = all_keys(redis_client)
    response = make_request(http)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert words.lower() in response.json["error"]["message"].lower()
    assert all_keys(redis_client) == before


def test_the_index_counts_exactly_the_stored_products(redis_client):
    documents = len(redis_client.keys("finder:product:*"))
    assert describe_index(redis_client).documents == documents == len(redis_client.keys("finder:search:*"))


def test_the_first_write_to_an_empty_catalog_uses_the_models_own_vectors(tmp_path):
    """No projection can be learnt from one product: the index starts without one (IMAGE_PROJECTION=lda
    notwithstanding) until `python -m indexer reindex` fits one."""
    with EmbeddedRedis(tmp_path / "redis") as server:
        settings = settings_for(server.url, api_key=API_KEY, data_dir=tmp_path)
        assert settings.image_projection == "lda"
        http = create_app(settings).test_client()
        assert create(http, SCARF, photo("70001")).status_code == 201
        client = connect(server.url)
        info = describe_index(client)
        assert info.image_generation == NONE and info.vector_fields["image_vector"].dims == 1280
        own = Embedder.from_settings(settings).embed_images([photo("70001")])[0]
        np.testing.assert_allclose(live_vectors(client, SCARF["id"])["image_vector"], own, atol=1e-6)
        found = http.post("/api/search/image?k=1", data={"image": (io.BytesIO(photo("70001")), "a.jpg")}).json
        assert found["results"][0]["product"]["id"] == SCARF["id"]
        assert ImageSpaces(client, Embedder.from_settings(settings)).active() == (NONE,)
