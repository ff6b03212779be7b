"""By Image: the projection learnt from the catalog (finder/projection.py), on synthetic data and
on the shipped sample: fitting, storing, features, and what it does to similar-by-image."""

import csv
import io

import numpy as np
import pytest
from PIL import Image

from app import create_app
from finder.embeddings import EfficientNetLite, colour_histogram, square_thumbnail
from finder.index import describe_index
from finder.projection import (
    ACTIVE_KEY,
    NONE,
    PROJECTION_KEY_PREFIX,
    TYPE_COLOUR_DIMS,
    FeatureCache,
    ImageSpaces,
    fit_projection,
    generation_of,
    image_field,
)
from finder.redis_server import EmbeddedRedis, connect
from finder.schema import IMAGE_VECTOR
from finder.search import Search
from finder.store import ProductStore
from indexer.reindex import reindex
from tests.support import SAMPLE_CATALOG, live_vectors, load_into, settings_for

FIT_ON = 200  # of the sample's products, for the projection judged on the others


def synthetic(rng, per_class: int = 30) -> tuple[np.ndarray, list[str], list[str]]:
    """Products of 3 types x 2 colours: their label shows in 4 of 40 dimensions, each a little,
    under much larger label-free variation in the others."""
    features, types, colours = [], [], []
    for type_number, article_type in enumerate(("Shirts", "Shoes", "Watches")):
        for colour_number, colour in enumerate(("Red", "Blue")):
            centre = np.zeros(40)
            centre[type_number] = centre[3] = 1.0 if colour_number else -1.0
            centre[type_number] = 1.5
            features.append(centre + rng.normal(0, 0.3, (per_class, 40)) * np.r_[np.ones(4), 8 * np.ones(36)])
            types += [article_type] * per_class
            colours += [colour] * per_class
    return np.vstack(features).astype(np.float32), types, colours


def label_agreement(vectors: np.ndarray, labels: list[str]) -> float:
    """Share of each vector's 5 nearest others (cosine) with its label."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = np.argsort(-similarity, axis=1)[:, :5]
    labels = np.array(labels)
    return float((labels[nearest] == labels[:, None]).mean())


def test_lda_separates_the_labelled_classes_the_raw_features_mix():
    train, types, colours = synthetic(np.random.default_rng(1))
    test, test_types, test_colours = synthetic(np.random.default_rng(2))
    projection = fit_projection(train, types, colours, "synthetic")
    projected = projection.apply(test)
    both = [f"{article_type}|{colour}" for article_type, colour in zip(test_types, test_colours, strict=True)]
    assert label_agreement(test, both) < 0.5
    assert label_agreement(projected, both) > 0.9 and label_agreement(projected, test_types) > 0.95
    assert projected.shape == (len(test), projection.dims) == (len(test), 192)
    np.testing.assert_allclose(np.linalg.norm(projected, axis=1), 1.0, rtol=1e-5)
    # 6 type|colour labels give 5 directions, 3 types 2: the rest of the 128 + 64 are zeros.
    assert np.count_nonzero(np.abs(projection.type_colour).sum(axis=0)) == 5
    assert np.count_nonzero(np.abs(projection.article_type).sum(axis=0)) == 2
    assert projection.about["products"] == len(train) and projection.about["type_colour_labels"] == 6


def test_a_projection_round_trips_through_redis_exactly(fresh_redis, embedder):
    train, types, colours = synthetic(np.random.default_rng(3))
    projection = fit_projection(train, types, colours, "synthetic")
    client = connect(fresh_redis.url)
    ImageSpaces(client, embedder).save(projection)
    loaded = ImageSpaces(client, embedder).projection(projection.generation)  # another process's view
    assert loaded == projection and loaded.about == projection.about
    for name in ("mean", "type_colour", "article_type"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(projection, name))
    np.testing.assert_array_equal(loaded.apply(train), projection.apply(train))
    assert client.smembers(ACTIVE_KEY) == set()  # stored, but not filled by writes until activated
    assert ImageSpaces(client, embedder).active() == (NONE,)


def test_generations_name_the_fields_that_hold_their_vectors():
    assert image_field(NONE) == IMAGE_VECTOR and generation_of(IMAGE_VECTOR) == NONE
    assert image_field("0a1b2c3d") == "image_vector@0a1b2c3d" and generation_of("image_vector@0a1b2c3d") == "0a1b2c3d"


def flat(colour, size=(120, 200)) -> Image.Image:
    """A product of one colour on a white photo."""
    canvas = Image.new("RGB", (300, 300), "white")
    canvas.paste(Image.new("RGB", size, colour), (90, 50))
    return canvas


def colour_bin(rgb) -> int:
    red, green, blue = (value * 6 // 256 for value in rgb)
    return (red * 6 + green) * 6 + blue


def test_the_colour_histogram_counts_the_product_not_the_white_background():
    red, blue = (colour_histogram(square_thumbnail(flat(colour))) for colour in ((200, 20, 30), (20, 40, 190)))
    assert red.shape == blue.shape == (216,)
    assert red.argmax() == colour_bin((200, 20, 30)) and blue.argmax() == colour_bin((20, 40, 190))
    # Only the blurred edges of the product (resizing blends them with white) reach the white bin; the
    # background, three quarters of the photo, would fill it (sqrt(0.75) = 0.87).
    assert red[colour_bin((255, 255, 255))] < 0.1 and blue[colour_bin((255, 255, 255))] < 0.1
    assert red @ blue < 0.05  # sqrt histograms: cosine is the overlap of the two colour distributions
    assert (red**2).sum() == pytest.approx(1.0)
    white = colour_histogram(square_thumbnail(Image.new("RGB", (50, 50), "white")))
    assert white.argmax() == colour_bin((255, 255, 255))  # nothing but background: every pixel counts


def test_image_features_hold_the_models_own_vector_and_the_colours(embedder):
    photos = [flat((200, 20, 30)), flat((20, 40, 190))]
    features = embedder.image_features(photos)
    assert features.shape == (2, EfficientNetLite.feature_dim) == (2, 3520)
    np.testing.assert_array_equal(embedder.image_vectors(features), embedder.embed_images(photos))
    np.testing.assert_allclose(features[:, :1280], embedder.embed_images(photos), rtol=1e-3, atol=1e-6)  # float16
    colours = features[:, -216:] / EfficientNetLite.COLOUR_WEIGHT
    assert colours[0].argmax() == colour_bin((200, 20, 30)) and colours[1].argmax() == colour_bin((20, 40, 190))


def test_the_feature_cache_keeps_features_exactly(tmp_path, embedder):
    cache = FeatureCache(tmp_path)
    features = embedder.image_features([flat("orange")])[0]
    assert cache.get("ab12") is None
    cache.put("ab12", features)
    np.testing.assert_array_equal(cache.get("ab12"), features)
    (tmp_path / "ab" / "ab12.npy").write_bytes(b"cut short")
    assert cache.get("ab12") is None  # a damaged entry is a miss, recomputed from the photo


def sample_rows() -> list[dict]:
    with open(SAMPLE_CATALOG / "styles.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def own_vectors(tmp_path_factory):
    """The sample loaded with IMAGE_PROJECTION=none: the image model's own vectors."""
    with EmbeddedRedis(tmp_path_factory.mktemp("own-vectors")) as server:
        settings = settings_for(server.url, image_projection="none")
        report = load_into(settings, SAMPLE_CATALOG)
        yield settings, connect(server.url), report


@pytest.fixture(scope="module")
def learnt_from_part(tmp_path_factory):
    """The sample's first FIT_ON products loaded (the projection is fitted on them), then the rest
    in a later load, which projects them with the stored projection."""
    with EmbeddedRedis(tmp_path_factory.mktemp("learnt")) as server:
        settings = settings_for(server.url)
        first = load_into(settings, SAMPLE_CATALOG, limit=FIT_ON)
        client = connect(server.url)
        generation = describe_index(client).image_generation
        rest = load_into(settings, SAMPLE_CATALOG)
        yield settings, client, first, rest, generation


def test_without_a_projection_the_index_holds_the_models_own_vectors(own_vectors, embedder):
    settings, client, report = own_vectors
    info = describe_index(client)
    assert report.loaded == len(sample_rows()) and report.notes == []
    assert info.image_generation == NONE and info.sources[IMAGE_VECTOR] == IMAGE_VECTOR
    assert info.vector_fields[IMAGE_VECTOR].dims == 1280
    assert client.keys(PROJECTION_KEY_PREFIX + "*") == [] and not client.exists(ACTIVE_KEY)
    product = ProductStore(client).get("70010")
    np.testing.assert_allclose(live_vectors(client, "70010")[IMAGE_VECTOR],
                               embedder.embed_images([product.image_path])[0], atol=1e-6)
    http = create_app(settings).test_client()
    photo = (SAMPLE_CATALOG / "images" / "70042.jpg").read_bytes()
    found = http.post("/api/search/image?k=3", data={"image": (io.BytesIO(photo), "a.jpg")}).json["results"]
    assert found[0]["product"]["id"] == "70042" and found[0]["distance"] < 1e-3
    assert http.get("/api/index").json["image_projection"] is None


def test_a_later_load_projects_new_products_with_the_stored_projection(learnt_from_part):
    _, client, first, rest, generation = learnt_from_part
    assert any(f"fitted on {FIT_ON} products" in note for note in first.notes)
    assert rest.notes == [] and (rest.loaded, rest.skipped) == (len(sample_rows()) - FIT_ON, FIT_ON)
    assert describe_index(client).image_generation == generation  # not refitted
    for row in sample_rows():
        assert live_vectors(client, row["id"])[IMAGE_VECTOR].shape == (192,)


def agreement(settings, client, product_ids: list[str]) -> tuple[float, float]:
    """Share of each product's 10 most similar by image with its article type, and with its
    article type and colour."""
    search = Search(client, ProductStore(client), settings)
    same_type = same_both = 0
    for product_id in product_ids:
        found = search.similar(product_id, IMAGE_VECTOR, 10)
        query = found.product
        same_type += sum(hit.product.article_type == query.article_type for hit in found.hits)
        same_both += sum((hit.product.article_type, hit.product.color) == (query.article_type, query.color)
                         for hit in found.hits)
    return same_type / (10 * len(product_ids)), same_both / (10 * len(product_ids))


def test_similar_by_image_agrees_more_on_type_and_colour_for_products_the_projection_never_saw(
        learnt_from_part, own_vectors):
    unseen = [row["id"] for row in sample_rows()[FIT_ON:]]
    learnt_type, learnt_both = agreement(learnt_from_part[0], learnt_from_part[1], unseen)
    own_type, own_both = agreement(own_vectors[0], own_vectors[1], unseen)
    print(f"\nBy Image on {len(unseen)} unseen products, type / type+colour P@10: own vectors "
          f"{own_type:.3f} / {own_both:.3f}, projection {learnt_type:.3f} / {learnt_both:.3f}")
    assert learnt_type > own_type + 0.03
    assert learnt_both >= own_both


def test_vector_sizes_do_not_depend_on_the_catalog(learnt_from_part, embedder):
    """These 200 products have more type|colour labels than its 128 dimensions (the leading ones are
    kept) and fewer article types than its 64 (zero-padded)."""
    projection = ImageSpaces(learnt_from_part[1], embedder).projection(learnt_from_part[4])
    assert projection.about["products"] == FIT_ON and projection.dims == 192
    assert projection.about["type_colour_labels"] > TYPE_COLOUR_DIMS
    assert np.count_nonzero(np.abs(projection.type_colour).sum(axis=0)) == TYPE_COLOUR_DIMS
    assert np.count_nonzero(np.abs(projection.article_type).sum(axis=0)) == projection.about["article_types"] - 1 < 64


def test_reindex_switches_between_the_models_own_vectors_and_a_projection(own_vectors, embedder):
    """IMAGE_PROJECTION=lda then reindex fits a projection; IMAGE_PROJECTION=none then reindex
    returns to the model's own vectors. Each time every product holds exactly the live field."""
    settings, client, _ = own_vectors
    for wanted in ("lda", "none"):
        report = reindex(client, settings.with_overrides(image_projection=wanted), embedder)
        info = describe_index(client)
        live = info.sources[IMAGE_VECTOR]
        assert (info.image_generation == NONE) == (wanted == "none") and report.old.name != info.name
        assert info.vector_fields[IMAGE_VECTOR].dims == (1280 if wanted == "none" else 192)
        for key in client.keys("finder:search:*"):
            assert [field for field in client.hkeys(key) if field.startswith(b"image_vector")] == [live.encode()]
        assert len(client.keys(PROJECTION_KEY_PREFIX + "*")) == (wanted == "lda")
        photo = (SAMPLE_CATALOG / "images" / "70042.jpg").read_bytes()
        found = create_app(settings).test_client().post("/api/search/image?k=1",
                                                        data={"image": (io.BytesIO(photo), "a.jpg")}).json
        assert found["results"][0]["product"]["id"] == "70042"
