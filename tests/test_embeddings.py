"""The real models, offline: shapes, unit length, meaning, and image decoding errors."""

import io

import numpy as np
import pytest
from PIL import Image

from finder.embeddings import ImageError, load_image, square_thumbnail
from tests.support import SAMPLE_CATALOG


def test_text_vectors_are_unit_length_float32_of_the_model_size(embedder):
    vectors = embedder.embed_texts(["red dress for women", "black leather watch", "running shoes"])
    assert vectors.shape == (3, embedder.text_dim) == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_text_vectors_carry_meaning(embedder):
    query, close, far = embedder.embed_texts(["red dress for women", "crimson evening gown", "laptop backpack"])
    assert query @ close > query @ far + 0.1


def test_text_embedding_is_deterministic(embedder):
    first = embedder.embed_texts(["navy shirt for office"])
    second = embedder.embed_texts(["navy shirt for office", "something else"])[:1]
    np.testing.assert_allclose(first, second, atol=1e-5)


def test_image_vectors_are_unit_length_float32_of_the_model_size(embedder):
    paths = sorted((SAMPLE_CATALOG / "images").glob("*.jpg"))[:3]
    vectors = embedder.embed_images(paths)
    assert vectors.shape == (3, embedder.image_dim) == (3, 1280)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_the_same_photo_from_path_bytes_or_pil_gives_the_same_vector(embedder):
    path = sorted((SAMPLE_CATALOG / "images").glob("*.jpg"))[0]
    by_path, by_bytes, by_image = embedder.embed_images([path, path.read_bytes(), Image.open(path)])
    np.testing.assert_allclose(by_path, by_bytes, atol=1e-6)
    np.testing.assert_allclose(by_path, by_image, atol=1e-6)


def test_a_photo_is_closer_to_a_resized_copy_of_itself_than_to_another_product(embedder):
    paths = sorted((SAMPLE_CATALOG / "images").glob("*.jpg"))
    original = Image.open(paths[0])
    resized = original.resize((400, 400))
    vectors = embedder.embed_images([original, resized, paths[len(paths) // 2]])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_transparent_images_are_put_on_white():
    transparent = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    assert load_image(transparent).getpixel((5, 5)) == (255, 255, 255)


def test_non_square_images_are_padded_not_cropped():
    wide = Image.new("RGB", (300, 100), "black")
    thumbnail = square_thumbnail(wide)
    assert thumbnail.size == (224, 224)
    assert thumbnail.getpixel((112, 5)) == (255, 255, 255)  # padding above
    assert thumbnail.getpixel((112, 112)) == (0, 0, 0)  # the image itself


@pytest.mark.parametrize(
    "data",
    [b"this is not an image", b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20],
    ids=["text", "empty", "broken-png-header"],
)
def test_bytes_that_are_not_an_image_raise_image_error(embedder, data):
    with pytest.raises(ImageError):
        embedder.embed_images([data])


def test_a_truncated_jpeg_raises_image_error(embedder):
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), "navy").save(buffer, "JPEG")
    with pytest.raises(ImageError):
        embedder.embed_images([buffer.getvalue()[: len(buffer.getvalue()) // 2]])


def test_fingerprints_change_with_content_and_model(embedder):
    from dataclasses import replace

    assert embedder.text_fingerprint("a") == embedder.text_fingerprint("a")
    assert embedder.text_fingerprint("a") != embedder.text_fingerprint("b")
    assert embedder.image_fingerprint(b"x") != embedder.image_fingerprint(b"y")
    other_model = replace(embedder, image_model="another-model")
    assert other_model.image_fingerprint(b"x") != embedder.image_fingerprint(b"x")
