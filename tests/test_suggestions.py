"""Autocomplete: the dictionary the loader and the write API keep current, and GET /api/suggest."""

import csv
import io
import json
import threading
from collections import Counter

import pytest

from app import create_app
from finder.products import Product
from finder.redis_server import EmbeddedRedis, connect
from finder.store import ProductStore
from finder.suggestions import (
    COUNTS_KEY,
    MAX_ENTRY_LENGTH,
    MAX_PREFIX_LENGTH,
    SUGGEST_KEY,
    suggestion_entries,
)
from tests.support import SAMPLE_CATALOG, load_into, settings_for

API_KEY = "suggest-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
LOADED = 40  # sample products in the writable server
HAT = {"id": "sug-hat-1", "name": "Quokka Unisex Lime Bucket Hat", "gender": "Unisex", "category": "Accessories",
       "sub_category": "Headwear", "article_type": "Caps", "color": "Lime", "season": "Summer", "year": 2024,
       "usage": "Casual"}


def sample_rows(limit=None) -> list[dict]:
    with open(SAMPLE_CATALOG / "styles.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))[:limit]


@pytest.fixture(scope="module")
def writable(tmp_path_factory):
    """An app with an API key over a server of its own holding the first LOADED sample products."""
    folder = tmp_path_factory.mktemp("suggest")
    with EmbeddedRedis(folder / "redis") as server:
        settings = settings_for(server.url, api_key=API_KEY, data_dir=folder)
        load_into(settings, SAMPLE_CATALOG, limit=LOADED)
        yield settings, create_app(settings), connect(server.url)


@pytest.fixture
def api(writable):
    return writable[1].test_client()


@pytest.fixture
def redis_client(writable):
    return writable[2]


def post_product(api, product):
    photo = (SAMPLE_CATALOG / "images" / "70001.jpg").read_bytes()
    return api.post("/api/products", headers=AUTH,
                    data={"product": json.dumps(product), "image": (io.BytesIO(photo), "photo.jpg")})


def create(api, product):
    response = post_product(api, product)
    assert response.status_code == 201, response.json


def suggested(api, q, **params) -> list[str]:
    response = api.get("/api/suggest", query_string={"q": q, **params})
    assert response.status_code == 200, response.json
    return [entry["text"] for entry in response.json["suggestions"]]


def counts(client) -> dict[str, int]:
    return {entry.decode(): int(count) for entry, count in client.hgetall(COUNTS_KEY).items()}


def dictionary(client) -> dict[str, list]:
    """What the suggestion dictionary answers for each counted entry, scores included, and its size."""
    entries = sorted(counts(client))
    pipe = client.pipeline(transaction=False)
    for entry in entries:
        pipe.execute_command("FT.SUGGET", SUGGEST_KEY, entry, "MAX", 50, "WITHSCORES")
    answers = dict(zip(entries, pipe.execute(), strict=True))
    return {"size": client.execute_command("FT.SUGLEN", SUGGEST_KEY), **answers}


def test_entries_are_the_name_and_phrases_of_the_article_type():
    product = Product(**{**HAT, "name": "Quokka  Unisex   Lime Bucket Hat"}, image_path="/x.jpg")
    assert suggestion_entries(product) == [
        "Quokka Unisex Lime Bucket Hat", "Caps", "Lime Caps", "Unisex Caps",
    ]
    no_colour = product.model_copy(update={"color": None})
    assert suggestion_entries(no_colour) == ["Quokka Unisex Lime Bucket Hat", "Caps", "Unisex Caps"]
    placeholder = product.model_copy(update={"color": "NA"})  # the Kaggle catalog's "no colour"
    assert "NA Caps" not in suggestion_entries(placeholder)
    assert suggestion_entries(product.to_document()) == suggestion_entries(product)
    assert suggestion_entries(None) == []


def test_entries_stay_within_what_the_dictionary_returns_intact(redis_client):
    festive = Product(**{**HAT, "name": "Party 🎉 Hat 🎉"}, image_path="/x.jpg")
    assert suggestion_entries(festive)[0] == "Party Hat"  # the trie would return U+F389 for U+1F389
    longest = "€" * MAX_ENTRY_LENGTH  # 3 bytes each, the most a character the trie keeps takes
    assert longest in suggestion_entries(festive.model_copy(update={"name": longest}))
    assert "€" + longest not in suggestion_entries(festive.model_copy(update={"name": "€" + longest}))
    for name, kept in ((longest, [longest.encode()]), ("€" + longest, [])):  # one more: not stored at all
        redis_client.execute_command("FT.SUGADD", "test:limits", name, 1)
        assert redis_client.execute_command("FT.SUGGET", "test:limits", "€€€", "MAX", 5) == kept
        redis_client.delete("test:limits")


def test_a_load_counts_every_products_name_and_phrases(writable, redis_client):
    expected = Counter()
    for row in sample_rows(LOADED):
        kind = row["articleType"]
        expected.update({row["productDisplayName"], kind, f"{row['gender']} {kind}"})
        if row["baseColour"] not in ("", "NA"):
            expected[f"{row['baseColour']} {kind}"] += 1
    assert counts(redis_client) == expected
    assert redis_client.execute_command("FT.SUGLEN", SUGGEST_KEY) == len(counts(redis_client))


def test_suggestions_start_with_the_prefix_whatever_its_case(http, loaded_sample):
    first = sample_rows(1)[0]
    prefix = first["productDisplayName"][:5]
    found = suggested(http, prefix.lower())
    assert first["productDisplayName"] in found
    assert found == suggested(http, prefix.upper())
    assert all(text.lower().startswith(prefix.lower()) for text in found)
    women = suggested(http, "women ", limit=20)
    assert women and all(text.startswith("Women ") for text in women)  # facet phrases, sample-wide
    assert "Women Dresses" in women
    assert len(suggested(http, "wo", limit=3)) == 3
    assert len(suggested(http, "wo")) == 8  # the default


def test_a_typo_finds_entries_one_edit_away(http):
    assert "Dresses" in suggested(http, "drsses")


def test_entries_shared_by_more_products_rank_first(api):
    # Two names of the same length: scores alone order them. Omega, sold twice, comes first
    # although Alpha sorts before it.
    create(api, {**HAT, "id": "sug-rank-1", "name": "Zephyrine Alpha"})
    create(api, {**HAT, "id": "sug-rank-2", "name": "Zephyrine Omega"})
    create(api, {**HAT, "id": "sug-rank-3", "name": "Zephyrine Omega"})
    assert suggested(api, "zephyrine") == ["Zephyrine Omega", "Zephyrine Alpha"]


def test_a_created_product_is_suggested_at_once(api):
    create(api, HAT)
    assert suggested(api, "quokka") == [HAT["name"]]
    assert "Lime Caps" in suggested(api, "lime c")


def test_renaming_a_product_replaces_its_entry(api, redis_client):
    create(api, {**HAT, "id": "sug-rename-1", "name": "Wombatique Straw Hat"})
    renamed = api.put("/api/products/sug-rename-1", headers=AUTH,
                      json={"product": {**HAT, "id": "sug-rename-1", "name": "Wombatique Felt Hat"}})
    assert renamed.status_code == 200, renamed.json
    assert suggested(api, "wombatique") == ["Wombatique Felt Hat"]
    assert "Wombatique Straw Hat" not in counts(redis_client)


def test_an_entry_leaves_with_its_last_product(api, redis_client):
    poncho = {**HAT, "article_type": "Ponchos", "color": "Ochre"}
    create(api, {**poncho, "id": "sug-poncho-1", "name": "Xerxelle Wool Poncho"})
    create(api, {**poncho, "id": "sug-poncho-2", "name": "Xerxelle Rain Poncho"})
    assert counts(redis_client)["Ponchos"] == 2
    assert api.delete("/api/products/sug-poncho-1", headers=AUTH).status_code == 204
    assert suggested(api, "ponch") == ["Ponchos"]  # still sold by the other poncho
    assert suggested(api, "xerxelle") == ["Xerxelle Rain Poncho"]
    assert counts(redis_client)["Ponchos"] == 1
    assert api.delete("/api/products/sug-poncho-2", headers=AUTH).status_code == 204
    assert suggested(api, "ponch") == suggested(api, "xerxelle") == suggested(api, "ochre p") == []
    assert not {"Ponchos", "Ochre Ponchos", "Unisex Ponchos", "Xerxelle Rain Poncho"} & set(counts(redis_client))


def test_a_losing_concurrent_write_leaves_no_entry(api):
    statuses = []

    def attempt(number):
        product = {**HAT, "id": "sug-race-1", "name": f"Racerunner {number}"}
        statuses.append(post_product(api.application.test_client(), product).status_code)

    threads = [threading.Thread(target=attempt, args=(number,)) for number in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409, 409, 409]
    winner = api.get("/api/products/sug-race-1").json["name"]
    assert suggested(api, "racerunner") == [winner]


def test_a_rebuild_gives_what_the_writes_kept(api, redis_client):
    create(api, {**HAT, "id": "sug-rebuild-1", "name": "Numbat Sun Hat"})
    create(api, {**HAT, "id": "sug-rebuild-2", "name": "Numbat Sun Hat", "color": "Navy Blue"})
    replaced = api.put("/api/products/sug-rebuild-2", headers=AUTH,
                       json={"product": {**HAT, "id": "sug-rebuild-2", "name": "Numbat Rain Hat"}})
    assert replaced.status_code == 200
    assert api.delete("/api/products/70003", headers=AUTH).status_code == 204
    kept = dictionary(redis_client)
    assert ProductStore(redis_client).rebuild_suggestions() == len(counts(redis_client)) == kept["size"]
    assert dictionary(redis_client) == kept
    assert not redis_client.keys(f"{SUGGEST_KEY}:building:*") and not redis_client.keys(f"{COUNTS_KEY}:building:*")


def test_a_loader_rerun_counts_nothing_twice(writable, api, redis_client):
    settings = writable[0]
    load_into(settings, SAMPLE_CATALOG, limit=LOADED)  # brings back catalog products other tests deleted
    before = counts(redis_client)
    assert api.delete("/api/products/70004", headers=AUTH).status_code == 204
    assert counts(redis_client) != before
    reloaded = load_into(settings, SAMPLE_CATALOG, limit=LOADED)
    assert (reloaded.loaded, reloaded.skipped) == (1, LOADED - 1)
    assert counts(redis_client) == before
    assert load_into(settings, SAMPLE_CATALOG, limit=LOADED).loaded == 0
    assert counts(redis_client) == before


def test_a_catalog_from_before_autocomplete_gets_its_dictionary(writable, redis_client):
    settings = writable[0]
    kept = dictionary(redis_client)
    redis_client.unlink(SUGGEST_KEY, COUNTS_KEY)
    assert load_into(settings, SAMPLE_CATALOG, limit=LOADED).loaded == 0  # nothing to write, and yet
    assert dictionary(redis_client) == kept

    before = counts(redis_client)
    redis_client.unlink(SUGGEST_KEY, COUNTS_KEY)
    first_write = {**HAT, "id": "sug-first-write"}
    create(create_app(settings).test_client(), first_write)  # a new process: its first write rebuilds first
    added = suggestion_entries(Product(**first_write, image_path="/x.jpg"))
    assert counts(redis_client) == Counter(before) + Counter(added)


def test_removing_every_product_removes_the_dictionary(fresh_redis):
    settings = settings_for(fresh_redis.url)
    load_into(settings, SAMPLE_CATALOG, limit=3)
    client = connect(fresh_redis.url)
    assert client.exists(SUGGEST_KEY, COUNTS_KEY) == 2
    ProductStore(client).delete_all()  # what `load --recreate` does first
    assert client.exists(SUGGEST_KEY, COUNTS_KEY) == 0


@pytest.mark.parametrize(
    "prefix", ["😀" * MAX_PREFIX_LENGTH, " " + "€" * MAX_PREFIX_LENGTH + "  ", "a" * MAX_PREFIX_LENGTH],
    ids=["4-byte", "3-byte-and-spaces", "ascii"],
)
def test_the_longest_prefixes_are_answered(http, prefix):
    response = http.get("/api/suggest", query_string={"q": prefix})
    assert response.status_code == 200 and response.json["suggestions"] == []


def test_without_a_catalog_there_is_nothing_to_suggest(fresh_redis):
    response = create_app(settings_for(fresh_redis.url)).test_client().get("/api/suggest?q=dress")
    assert response.status_code == 200
    assert response.json == {"q": "dress", "suggestions": []}


@pytest.mark.parametrize(
    "query, parameter",
    [({}, "q"), ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "a" * (MAX_PREFIX_LENGTH + 1)}, "q"),
     ({"q": ["ab", "cd"]}, "q"),
     ({"q": "ab", "limit": "0"}, "limit"), ({"q": "ab", "limit": "21"}, "limit"), ({"q": "ab", "limit": "x"}, "limit"),
     ({"q": "ab", "k": "3"}, "k")],
    ids=["missing", "empty", "blank", "too-long", "twice", "limit-0", "limit-21", "limit-text", "unknown"],
)
def test_bad_parameters_are_400_naming_them(http, query, parameter):
    response = http.get("/api/suggest", query_string=query)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] in ("invalid_parameter", "unknown_parameter")
    assert parameter in response.json["error"]["message"]
