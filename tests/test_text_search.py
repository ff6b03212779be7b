"""Free-text search against a real Redis with the real models: BM25 fused with KNN, query
understanding, shopper words (synonyms), typos, explain, and honesty about weak matches.

The catalog is the shipped sample plus a few crafted products a pure vector search gets wrong
(a rare exact word, "saree"; a colour + type + gender that only two products have).
"""

from __future__ import annotations

import csv
import shutil
import threading
from concurrent.futures import Future

import pytest

from app import create_app
from app.services import services
from finder.index import apply_synonyms
from finder.queries import Filters
from finder.redis_server import EmbeddedRedis, connect
from finder.synonyms import SynonymRules
from finder.words import words
from tests.support import SAMPLE_CATALOG, load_into, settings_for

CRAFTED = [
    # id, gender, category, sub-category, type, colour, season, year, usage, name, photo of
    ("90001", "Women", "Apparel", "Saree", "Sarees", "Green", "Summer", "2024", "Ethnic",
     "Meadowlark Women Ready-to-wear Saree", "70038"),
    ("90002", "Women", "Apparel", "Dress", "Dresses", "Red", "Summer", "2024", "Party",
     "Lumen Women Wrap Midi", "70047"),
    ("90003", "Women", "Apparel", "Dress", "Dresses", "Red", "Summer", "2024", "Casual",
     "Lumen Women Silk Slip", "70111"),
    ("90004", "Women", "Accessories", "Bags", "Handbags", "Brown", "Fall", "2024", "Casual",
     "Plaza Women Brown Tote", "70004"),
]


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    """The app over the sample plus the crafted products, in a server of its own."""
    folder = tmp_path_factory.mktemp("text-search")
    catalog = folder / "catalog"
    shutil.copytree(SAMPLE_CATALOG, catalog, ignore=shutil.ignore_patterns("*.py", "*.md"))
    with open(catalog / "styles.csv", "a", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for *row, photo_of in CRAFTED:
            writer.writerow(row)
            shutil.copy(catalog / "images" / f"{photo_of}.jpg", catalog / "images" / f"{row[0]}.jpg")
    with EmbeddedRedis(folder / "redis") as server:
        settings = settings_for(server.url, data_dir=folder)
        load_into(settings, catalog)
        yield create_app(settings), settings


@pytest.fixture
def http(crafted):
    return crafted[0].test_client()


def search(http, q: str, **params) -> dict:
    response = http.get("/api/search", query_string={"q": q, "k": 10, "explain": 1, **params})
    assert response.status_code == 200, response.json
    return response.json


def ids(body: dict) -> list[str]:
    return [result["product"]["id"] for result in body["results"]]


def test_a_rare_exact_word_finds_its_product_first(http):
    body = search(http, "saree")
    assert ids(body)[0] == "90001"
    explain = body["results"][0]["explain"]
    assert explain["lexical_rank"] == 1 and explain["matched_words"] == ["saree"]
    assert explain["highlights"] == ["Saree"]
    assert body["close_match"] is True


def test_colour_type_and_gender_named_in_the_query_rank_first_whatever_the_names_say(http):
    # Neither name says "red" or "dress": the attributes do.
    body = search(http, "red dress for women")
    assert set(ids(body)[:2]) == {"90002", "90003"}
    assert body["understood"]["attributes"] == {"gender": ["Women"], "article_type": ["Dresses"], "color": ["Red"]}
    assert body["understood"]["products"] == 2
    assert {"words": "dress", "attribute": "article_type", "value": "Dresses"} in body["understood"]["recognised"]
    top = body["results"][0]["explain"]
    assert top["matched_values"] == {"gender": "Women", "article_type": "Dresses", "color": "Red"}
    assert {"red", "dress", "women"} <= set(top["matched_words"])


def test_understood_values_only_rank_and_never_empty_the_page(http):
    # No black saree exists: the guesses cannot be met together, products still come back.
    body = search(http, "black saree")
    assert body["understood"]["attributes"] == {"article_type": ["Sarees"], "color": ["Black"]}
    assert body["understood"]["products"] == 0
    assert len(body["results"]) == 10 and ids(body)[0] == "90001"


def test_shopper_words_reach_catalog_values(http, crafted):
    body = search(http, "ladies wrap")  # "ladies" is no catalog word; the synonyms say Women
    assert body["understood"]["attributes"]["gender"] == ["Women"]
    assert ids(body)[0] == "90002"
    assert all(result["product"]["gender"] == "Women" for result in body["results"][:5])
    shoes = search(http, "sneakers")  # one way: sneakers => casual shoes, sports shoes
    assert set(shoes["understood"]["attributes"]["article_type"]) == {"Casual Shoes", "Sports Shoes"}
    assert all(result["product"]["article_type"] in ("Casual Shoes", "Sports Shoes") for result in shoes["results"])


def test_the_index_applies_the_synonym_groups(crafted):
    _, settings = crafted
    client = connect(settings.redis_url)
    groups = SynonymRules.read(settings.synonyms).index_groups()
    dump = client.ft("finder:products").syndump()
    assert {term.decode() if isinstance(term, bytes) else term for term in dump} >= set(groups["tshirts"])
    # "tee" is in no product's name or attributes; its group makes it match "Tshirts".
    reply = client.execute_command("FT.SEARCH", "finder:products", "@words:(tee)", "NOCONTENT", "LIMIT", 0, 0)
    assert reply[0] > 0


def test_a_misspelt_word_still_finds_its_product_and_a_correction_is_offered(http):
    body = search(http, "sarre")
    assert ids(body)[0] == "90001"
    assert body["corrections"] == {"sarre": "saree"}
    assert body["did_you_mean"] == "saree"
    exact = search(http, "saree")
    assert exact["did_you_mean"] is None and exact["corrections"] == {}


def test_shopper_words_are_no_typos(http):
    body = search(http, "joggers")  # no product says "joggers"; the shopper words do
    assert body["corrections"] == {} and body["did_you_mean"] is None


def test_nothing_close_is_said_honestly(http):
    body = search(http, "xyzzy qwertyuiop")
    assert body["close_match"] is False
    assert len(body["results"]) == 10  # the nearest products are still shown
    assert all(result["explain"]["lexical_rank"] is None for result in body["results"])


def test_filters_hold_on_every_free_text_result(http):
    body = search(http, "saree", gender="Men")
    assert body["results"] and all(result["product"]["gender"] == "Men" for result in body["results"])
    assert "90001" not in ids(body)


def test_explain_is_only_sent_when_asked_and_must_be_a_switch(http):
    plain = http.get("/api/search", query_string={"q": "saree"}).json
    assert "explain" not in plain["results"][0]
    bad = http.get("/api/search", query_string={"q": "saree", "explain": "maybe"})
    assert bad.status_code == 400 and "explain" in bad.json["error"]["message"]


@pytest.mark.parametrize("q", ["@name:(x)", "a|b", '"quoted', "{red}", "50% off!", "-shirt", "t-shirt", "_", "$x",
                               "shirt)", "~", "\u00e9clair caf\u00e9", "\u2603"])
def test_any_text_is_words_never_query_syntax(http, q):
    response = http.get("/api/search", query_string={"q": q, "k": 3})
    assert response.status_code == 200, response.json


def test_a_new_synonym_group_applies_to_the_live_index_and_dropped_ones_are_reported(tmp_path):
    synonyms = tmp_path / "synonyms.txt"
    synonyms.write_text("shiny, glossy\n")
    with EmbeddedRedis(tmp_path / "redis") as server:
        settings = settings_for(server.url, data_dir=tmp_path, synonyms=synonyms)
        load_into(settings, SAMPLE_CATALOG, limit=20)
        client = connect(server.url)
        name = client.ft("finder:products").info()["index_name"]
        shades = ["FT.SEARCH", "finder:products", "@words:(shades)", "NOCONTENT"]
        assert client.execute_command(*shades)[0] == 0
        assert apply_synonyms(client, name, SynonymRules.parse("shiny, glossy\nsunglasses, shades\n")) == []
        assert client.execute_command(*shades)[0] > 0  # a group added to a live index rescans it
        forgotten = apply_synonyms(client, name, SynonymRules.parse("shiny, glossy\n"))
        assert forgotten == ["shades", "sunglasses"]


def test_free_text_filters_combine_with_understood_values():
    filters = Filters(tags={"gender": ("Men", "Women")})
    assert filters.narrowed({"gender": ("Women",), "color": ("Red",)}).tags == {"gender": ("Women",),
                                                                               "color": ("Red",)}
    assert filters.narrowed({"gender": ("Girls",)}) is None


@pytest.fixture(scope="module")
def clip_app(tmp_path_factory):
    """The app with a CLIP image model (tiny, random, built here): texts and photos in one space."""
    from tests.tiny_clip import build_tiny_clip

    folder = tmp_path_factory.mktemp("clip")
    build_tiny_clip(folder / "tiny-clip")
    with EmbeddedRedis(folder / "redis") as server:
        settings = settings_for(server.url, data_dir=folder, image_model=str(folder / "tiny-clip"))
        load_into(settings, SAMPLE_CATALOG, limit=40)
        yield create_app(settings)


def test_with_a_clip_image_model_free_text_also_searches_the_photos(clip_app):
    with clip_app.app_context():
        embedder = clip_app.extensions["finder"].embedder
        assert embedder.image_model_embeds_text
        assert embedder.embed_texts_in_image_space(["red dress"]).shape == (1, embedder.image_dim)
    body = search(clip_app.test_client(), "red dress")
    found_by = {retriever for result in body["results"] for retriever in result["explain"]["ranks"]}
    assert "image vector" in found_by


def test_a_query_that_looks_like_a_link_is_only_ever_text(clip_app):
    # A multimodal model would open or fetch a string that looks like an image path or URL.
    body = search(clip_app.test_client(), "http://127.0.0.1:9/red.png")
    assert body["results"]


def test_the_builtin_image_model_does_not_embed_text(crafted):
    app, _ = crafted
    with app.app_context():
        assert not app.extensions["finder"].embedder.image_model_embeds_text


def test_edit_distance_counts_a_swap_as_one_edit():
    from finder.words import edit_distance

    assert edit_distance("blakc", "black") == 1
    assert edit_distance("pizza", "plaza") == 2
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("same", "same") == 0


def test_short_words_are_corrected_by_one_edit_at_most(http):
    assert search(http, "plaz")["corrections"] == {"plaz": "plaza"}
    body = search(http, "pizza")  # "plaza" is two edits away: a different word, not a typo
    assert body["corrections"] == {} and body["close_match"] is False


@pytest.mark.parametrize("q", ["red dress for women", "saree", "brown tote"])
def test_the_answer_is_the_same_whether_the_query_vectors_come_before_or_after_bm25(crafted, q):
    """The query's vectors are computed while the spell check and BM25 run: ready in time, every
    query goes in one pipeline, else BM25 first and the KNN queries after. Same answer either way."""
    app, _ = crafted
    with app.app_context():
        text_search = services().text_search
        ready = text_search._vectors_from(q, None)
        ready.result()
        late = Future()
        threading.Timer(0.3, lambda: late.set_result(ready.result())).start()
        answers = [text_search._search(q, vectors, words(q), {}, 10, Filters(), None) for vectors in (ready, late)]
    assert [hit.product.id for hit in answers[0].hits]
    assert [(hit.product.id, hit.ranks, hit.score) for hit in answers[0].hits] == \
        [(hit.product.id, hit.ranks, hit.score) for hit in answers[1].hits]
    assert answers[0].understood_matches == answers[1].understood_matches
