"""The search API over the shipped sample: filters, facets, similar, free text, photo search."""

import csv
import io
import json
import re
from collections import Counter

import pytest
from PIL import Image

from app import create_app
from app.openapi import openapi_document
from tests.support import SAMPLE_CATALOG, live_vectors

FIELD_OF_COLUMN = {"gender": "gender", "masterCategory": "category", "subCategory": "sub_category",
                   "articleType": "article_type", "baseColour": "color", "season": "season", "usage": "usage"}


@pytest.fixture(scope="module")
def catalog():
    """The catalog as the CSV says, keyed by id: the ground truth the API is checked against."""
    with open(SAMPLE_CATALOG / "styles.csv", newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    return {
        record["id"]: {**{field: record[column] for column, field in FIELD_OF_COLUMN.items()},
                       "year": int(record["year"])}
        for record in records
    }


def matching(catalog, **filters):
    def passes(product):
        for name, values in filters.items():
            if name == "year_min" and product["year"] < values:
                return False
            if name == "year_max" and product["year"] > values:
                return False
            if name not in ("year_min", "year_max") and product[name] not in values:
                return False
        return True

    return {product_id for product_id, product in catalog.items() if passes(product)}


def browse_all(http, query):
    ids, page = [], 1
    while True:
        body = http.get(f"/api/products?{query}&per_page=100&page={page}").json
        if not body["products"]:
            return body["total"], ids
        ids += [product["id"] for product in body["products"]]
        page += 1


@pytest.mark.parametrize(
    "query, expected",
    [
        ("gender=Women", {"gender": ["Women"]}),
        ("gender=Men&gender=Unisex", {"gender": ["Men", "Unisex"]}),
        ("gender=Men&category=Footwear", {"gender": ["Men"], "category": ["Footwear"]}),
        ("gender=Women&gender=Girls&category=Apparel&color=Red&color=Pink",
         {"gender": ["Women", "Girls"], "category": ["Apparel"], "color": ["Red", "Pink"]}),
        ("year_min=2014&year_max=2016", {"year_min": 2014, "year_max": 2016}),
        ("article_type=Watches&year_min=2015", {"article_type": ["Watches"], "year_min": 2015}),
        ("gender=women", {"gender": ["Women"]}),  # matching ignores case
    ],
)
def test_browse_returns_exactly_the_products_passing_the_filters(http, catalog, query, expected):
    total, ids = browse_all(http, query)
    truth = matching(catalog, **expected)
    assert truth and len(truth) < len(catalog)
    assert total == len(truth)
    assert sorted(ids) == sorted(truth)


@pytest.mark.parametrize(
    "value",
    ["Men} | @gender:{Women", "*", '"', "Men|Women", "\\", "(Men)", "-Men", "@gender:{Men}", "Men Women", "Mén 🙂"],
)
def test_hostile_filter_values_match_nothing_and_break_nothing(http, value):
    for path, extra in [("/api/products", {}), ("/api/facets", {}), ("/api/products/70001/similar", {}),
                        ("/api/search", {"q": "shirt"})]:
        response = http.get(path, query_string={**extra, "gender": value})
        assert response.status_code == 200, (path, response.json)
        body = response.json
        assert body.get("total", 0) == 0 and body.get("results", []) == [] and body.get("products", []) == []


def test_facets_count_every_value_and_ignore_the_attributes_own_filter(http, catalog):
    body = http.get("/api/facets?gender=Women&category=Footwear").json
    women_footwear = matching(catalog, gender=["Women"], category=["Footwear"])
    assert body["total"] == len(women_footwear)
    assert body["filters"] == {"gender": ["Women"], "category": ["Footwear"]}
    facets = {name: {entry["value"]: entry["count"] for entry in entries} for name, entries in body["facets"].items()}
    footwear = [catalog[i] for i in matching(catalog, category=["Footwear"])]
    assert facets["gender"] == Counter(product["gender"] for product in footwear)
    women = [catalog[i] for i in matching(catalog, gender=["Women"])]
    assert facets["category"] == Counter(product["category"] for product in women)
    selected = [catalog[i] for i in women_footwear]
    assert facets["article_type"] == Counter(product["article_type"] for product in selected)
    assert facets["year"] == Counter(product["year"] for product in selected)


def test_facets_are_sorted_most_common_first_with_their_stored_case(http, catalog):
    colors = http.get("/api/facets").json["facets"]["color"]
    counts = [entry["count"] for entry in colors]
    assert counts == sorted(counts, reverse=True)
    assert {entry["value"] for entry in colors} == {product["color"] for product in catalog.values()}


@pytest.mark.parametrize("by", ["text", "image"])
def test_similar_returns_k_others_best_first(http, by):
    body = http.get(f"/api/products/70010/similar?by={by}&k=8").json
    results = body["results"]
    assert len(results) == 8 and body["k"] == 8
    assert "70010" not in {result["product"]["id"] for result in results}
    distances = [result["distance"] for result in results]
    assert distances == sorted(distances)
    assert all(result["score"] == pytest.approx(1 - result["distance"]) for result in results)  # COSINE
    assert body["query"]["product"]["id"] == "70010" and body["query"]["by"] == by
    assert body["took_ms"] >= 0 and body["metric"] == "COSINE"


@pytest.mark.parametrize("by", ["text", "image"])
def test_similar_with_filters_only_returns_matching_products(http, catalog, by):
    body = http.get(f"/api/products/70010/similar?by={by}&k=20&gender=Women&gender=Girls&category=Accessories").json
    truth = matching(catalog, gender=["Women", "Girls"], category=["Accessories"]) - {"70010"}
    ids = [result["product"]["id"] for result in body["results"]]
    assert len(ids) == min(20, len(truth)) and set(ids) <= truth
    assert body["filters"] == {"gender": ["Women", "Girls"], "category": ["Accessories"]}


def test_fewer_matches_than_k_returns_what_exists(http, catalog):
    truth = matching(catalog, article_type=["Ties"], color=["Blue"])
    assert 0 < len(truth) < 5
    body = http.get("/api/search?q=tie&k=50&article_type=Ties&color=Blue").json
    assert sorted(result["product"]["id"] for result in body["results"]) == sorted(truth)


def test_similar_by_image_finds_products_of_the_same_type(http, catalog):
    watches = sorted(matching(catalog, article_type=["Watches"]))
    body = http.get(f"/api/products/{watches[0]}/similar?by=image&k=5").json
    assert sum(result["product"]["article_type"] == "Watches" for result in body["results"]) >= 4


def test_free_text_search_finds_what_was_described(http):
    body = http.get("/api/search", query_string={"q": "black floral dress for women", "k": 5}).json
    assert body["query"] == {"q": "black floral dress for women"}
    top = body["results"][0]["product"]
    assert (top["article_type"], top["color"]) == ("Dresses", "Black")
    body = http.get("/api/search", query_string={"q": "black leather watch", "k": 5}).json
    assert Counter(result["product"]["article_type"] for result in body["results"])["Watches"] >= 4


def test_free_text_search_applies_filters(http, catalog):
    body = http.get("/api/search", query_string={"q": "shoes", "k": 30, "gender": "Women"}).json
    assert body["results"] and all(result["product"]["gender"] == "Women" for result in body["results"])


def photo_bytes(product_id: str) -> bytes:
    return (SAMPLE_CATALOG / "images" / f"{product_id}.jpg").read_bytes()


def test_photo_search_finds_the_photographed_product_first(http):
    response = http.post("/api/search/image?k=5", data={"image": (io.BytesIO(photo_bytes("70042")), "shot.jpg")})
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert results[0]["product"]["id"] == "70042" and results[0]["distance"] < 1e-3
    assert len(results) == 5


def test_a_photo_search_can_be_repeated_by_its_upload_id(http):
    first = http.post("/api/search/image?k=5&gender=Men", data={"image": (io.BytesIO(photo_bytes("70042")),
                                                                          "a.jpg")}).json
    upload_id = first["query"]["upload_id"]
    again = http.get(f"/api/search/image/{upload_id}?k=5&gender=Men").json
    assert [r["product"]["id"] for r in again["results"]] == [r["product"]["id"] for r in first["results"]]
    preview = http.get(first["query"]["image_url"])
    assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(preview.data)).size == (224, 224)
    same_photo = http.post("/api/search/image", data={"image": (io.BytesIO(photo_bytes("70042")), "b.jpg")}).json
    assert same_photo["query"]["upload_id"] == upload_id  # one stored upload per distinct photo


def test_an_unknown_upload_is_a_404_json_error(http):
    for path in ("/api/search/image/0123456789abcdef0123", "/uploads/0123456789abcdef0123", "/uploads/..%2Fx"):
        response = http.get(path)
        assert response.status_code == 404 and response.json["error"]["code"] in ("upload_not_found", "not_found")


def test_photo_search_accepts_png_with_transparency_and_applies_filters(http):
    image = Image.open(io.BytesIO(photo_bytes("70042"))).convert("RGBA")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    response = http.post("/api/search/image?k=5&gender=Men",
                         data={"image": (io.BytesIO(buffer.getvalue()), "shot.png")})
    assert response.status_code == 200
    assert all(result["product"]["gender"] == "Men" for result in response.json["results"])


@pytest.mark.parametrize(
    "data, status, code",
    [
        ({"image": (io.BytesIO(b"plain text, not a photo"), "notes.txt")}, 415, "not_an_image"),
        ({"image": (io.BytesIO(photo_bytes("70042")[:3000]), "cut.jpg")}, 400, "corrupt"),
        ({"image": (io.BytesIO(b""), "empty.jpg")}, 400, "missing_image"),
        ({"photo": (io.BytesIO(photo_bytes("70042")), "shot.jpg")}, 400, "missing_image"),
        ({}, 400, "missing_image"),
    ],
    ids=["text-file", "truncated-jpeg", "empty-file", "wrong-field", "no-file"],
)
def test_photo_search_rejects_bad_uploads_clearly(http, data, status, code):
    response = http.post("/api/search/image", data=data)
    assert response.status_code == status
    assert response.json["error"]["code"] == code and response.json["error"]["message"]


def test_photo_search_rejects_uploads_over_the_limit(settings, loaded_sample):
    app = create_app(settings.with_overrides(max_upload_mb=0.1))
    big = io.BytesIO(b"\xff" * 200_000)
    response = app.test_client().post("/api/search/image", data={"image": (big, "big.jpg")})
    assert response.status_code == 413
    assert "0.1 MB" in response.json["error"]["message"]


def test_photo_search_rejects_decompression_bombs(http):
    buffer = io.BytesIO()
    Image.new("1", (12_000, 6_000)).save(buffer, "PNG")  # 72 Mpx, a few KB compressed
    response = http.post("/api/search/image", data={"image": (io.BytesIO(buffer.getvalue()), "bomb.png")})
    assert response.status_code == 413 and response.json["error"]["code"] == "too_large"


@pytest.mark.parametrize(
    "url, name",
    [
        ("/api/search?q=shirt&k=0", "k"),
        ("/api/search?q=shirt&k=101", "k"),
        ("/api/search?q=shirt&k=ten", "k"),
        ("/api/search?q=shirt&k=1&k=2", "k"),
        ("/api/search?q=shirt&ef_runtime=0", "ef_runtime"),
        ("/api/search?q=%20%20", "q"),
        ("/api/search", "q"),
        ("/api/search?q=shirt&colour=Red", "colour"),
        ("/api/products?year_min=2015&year_max=2010", "year_min"),
        ("/api/products?year_min=20.5", "year_min"),
        ("/api/facets?page=2", "page"),
        ("/api/products/70001/similar?by=sound", "by"),
        ("/api/products?gender=%20", "gender"),
        ("/api/products?page=999999", "page"),
        ("/api/products?color=Red%00", "color"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(http, url, name):
    response = http.get(url)
    assert response.status_code == 400, response.json
    assert name in response.json["error"]["message"]


def test_ef_runtime_can_be_set_per_request(http, settings):
    default = http.get("/api/search?q=shirt&k=5").json
    tuned = http.get("/api/search?q=shirt&k=5&ef_runtime=300").json
    assert default["ef_runtime"] == settings.hnsw_ef_runtime
    assert tuned["ef_runtime"] == 300
    low = http.get("/api/search?q=shirt&k=40&ef_runtime=10").json
    assert low["ef_runtime"] == 40  # never fewer candidates than results


def test_vectors_are_returned_as_stored(http, client):
    body = http.get("/api/products/70005/vectors").json
    stored = live_vectors(client, "70005")
    assert body["text"] == pytest.approx(stored["text_vector"].tolist())
    assert body["image"] == pytest.approx(stored["image_vector"].tolist()) and len(body["image"]) == 192
    assert http.get("/api/products/nope/vectors").status_code == 404


def test_every_route_is_described_in_the_openapi_document(app, http):
    served = http.get("/api/openapi.json").json
    assert served == openapi_document()
    paths = served["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        assert path in paths, path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], (path, method)


def documented_parameters(path: str, method: str = "get") -> dict[str, dict]:
    operation = openapi_document()["paths"][path][method]
    return {parameter["name"]: parameter["schema"] for parameter in operation["parameters"]}


@pytest.mark.parametrize(
    "path, parameter, valid",
    [
        ("/api/products", "per_page", {}),
        ("/api/products/70001/similar", "k", {}),
        ("/api/search", "k", {"q": "shirt"}),
        ("/api/search", "ef_runtime", {"q": "shirt"}),
        ("/api/products", "year_max", {}),
        ("/api/suggest", "limit", {"q": "wo"}),
    ],
)
def test_the_documented_maximum_is_the_enforced_one(http, path, parameter, valid):
    maximum = documented_parameters(path.replace("70001", "{product_id}"))[parameter]["maximum"]
    assert http.get(path, query_string={**valid, parameter: maximum}).status_code == 200
    over = http.get(path, query_string={**valid, parameter: maximum + 1})
    assert over.status_code == 400 and parameter in over.json["error"]["message"]


def test_the_documented_query_and_filter_lengths_are_the_enforced_ones(http):
    longest_query = documented_parameters("/api/search")["q"]["maxLength"]
    assert http.get("/api/search", query_string={"q": "a" * longest_query, "k": 1}).status_code == 200
    assert http.get("/api/search", query_string={"q": "a" * (longest_query + 1)}).status_code == 400
    longest_prefix = documented_parameters("/api/suggest")["q"]["maxLength"]
    assert http.get("/api/suggest", query_string={"q": "a" * longest_prefix}).status_code == 200
    assert http.get("/api/suggest", query_string={"q": "a" * (longest_prefix + 1)}).status_code == 400
    longest_value = documented_parameters("/api/products")["color"]["items"]["maxLength"]
    assert http.get("/api/products", query_string={"color": "a" * longest_value}).status_code == 200
    assert http.get("/api/products", query_string={"color": "a" * (longest_value + 1)}).status_code == 400


def test_the_page_gets_its_limits_from_the_server(http, app):
    page = http.get("/").get_data(as_text=True)
    config = json.loads(re.search(r'<script id="finder-config" type="application/json">(.*?)</script>', page).group(1))
    assert config["max_upload_bytes"] == app.config["MAX_CONTENT_LENGTH"]
    assert config["max_k"] == documented_parameters("/api/search")["k"]["maximum"]
    assert config["per_page"] == documented_parameters("/api/products")["per_page"]["default"]
    assert config["max_suggest_length"] == documented_parameters("/api/suggest")["q"]["maxLength"]
    assert f'maxlength="{documented_parameters("/api/search")["q"]["maxLength"]}"' in page
    assert [facet["name"] for facet in config["facets"]] == [
        parameter for parameter, schema in documented_parameters("/api/products").items() if schema["type"] == "array"
    ]
