"""The real models, offline: shapes, unit length, meaning, and image decoding errors."""

import csv
import io
import itertools
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from finder import embeddings
from finder.config import BUILTIN_IMAGE_MODELS, BUILTIN_TEXT_MODELS, PROJECT_ROOT
from finder.embeddings import EfficientNetLite, Embedder, ImageError, MiniLMOnnx, load_image, square_thumbnail
from indexer.catalog import read_catalog
from tests.support import SAMPLE_CATALOG

INT8_TEXT_MODEL, FLOAT_TEXT_MODEL = BUILTIN_TEXT_MODELS
# The built-in text model runs on ONNX Runtime; its vectors are sentence-transformers' (PyTorch)
# within these bounds. Measured on the texts below: max abs difference 2e-7, min cosine 0.9999999.
MAX_ABS_DIFFERENCE = 1e-5
MIN_COSINE = 0.99999
# The int8 model (the default) against the float one, on the same texts: min cosine measured 0.988.
MIN_INT8_COSINE = 0.98
BF16_IMAGE_MODEL, FLOAT_IMAGE_MODEL = BUILTIN_IMAGE_MODELS
# The float image model on OpenVINO against the PyTorch network: features are kept in float16, so
# they match to its rounding (measured: max abs difference 1.2e-4 over 64 photos).
MAX_IMAGE_FEATURE_DIFFERENCE = 1e-3
# The bf16 image model (the default) against the float one, per feature block: min cosine measured
# 0.996 over 512 photos of the fashion sample.
MIN_BF16_FEATURE_COSINE = 0.99
LONG_TEXT = "red cotton shirt with long sleeves " * 200  # ~1,200 word pieces; the model reads 256


def test_text_vectors_are_unit_length_float32_of_the_model_size(embedder):
    vectors = embedder.embed_texts(["red dress for women", "black leather watch", "running shoes"])
    assert vectors.shape == (3, embedder.text_dim) == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_text_vectors_carry_meaning(embedder):
    query, close, far = embedder.embed_texts(["red dress for women", "crimson evening gown", "laptop backpack"])
    assert query @ close > query @ far + 0.1


def real_texts() -> list[str]:
    """Product names and the texts the loader embeds for them, shopper queries, and odd ones."""
    products = [row.product for row in read_catalog(SAMPLE_CATALOG)[0]]
    with open(PROJECT_ROOT / "bench" / "shopper_queries.csv", newline="", encoding="utf-8") as handle:
        queries = [record["query"] for record in csv.DictReader(handle)]
    odd = ["", "x", "Ünïcödé café, naïve 東京 ☃ 👗", "T-SHIRT!!! 50% off (size: XL)", LONG_TEXT]
    return [product.name for product in products] + [product.embedding_text() for product in products] + queries + odd


def float_embedder(embedder) -> Embedder:
    return Embedder(FLOAT_TEXT_MODEL, embedder.image_model, embedder.cache_dir)


def test_onnx_text_vectors_equal_the_sentence_transformers_ones(embedder):
    from sentence_transformers import SentenceTransformer

    texts = real_texts()
    reference = SentenceTransformer(str(embeddings._minilm_dir()), device="cpu")
    expected = reference.encode(texts, batch_size=64, convert_to_numpy=True)
    vectors = float_embedder(embedder).embed_texts(texts)
    assert np.abs(vectors - expected).max() <= MAX_ABS_DIFFERENCE
    cosines = (vectors * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    assert cosines.min() >= MIN_COSINE


def test_the_int8_text_model_is_quantised_and_close_to_the_float_one(embedder):
    import onnx

    assert embedder.text_model == INT8_TEXT_MODEL  # the default
    texts = real_texts()
    vectors = embedder.embed_texts(texts)
    cosines = (vectors * float_embedder(embedder).embed_texts(texts)).sum(axis=1)
    assert cosines.min() >= MIN_INT8_COSINE
    assert cosines.mean() < 0.9999  # not the float model under another name
    exported = embedder.cache_dir / f"{INT8_TEXT_MODEL}-{MiniLMOnnx.EXPORT_VERSION}.onnx"
    operators = {node.op_type for node in onnx.load(str(exported)).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= operators


def test_a_text_embeds_the_same_alone_and_beside_others(embedder):
    texts = ["navy shirt for office", "a much longer text about red leather boots for women in winter", "x"]
    together = embedder.embed_texts(texts)
    alone = np.concatenate([embedder.embed_texts([text]) for text in texts])
    np.testing.assert_array_equal(together, alone)


def test_a_text_longer_than_the_model_reads_is_truncated_to_its_start(embedder):
    long, start = embedder.embed_texts([LONG_TEXT, LONG_TEXT[: len(LONG_TEXT) // 2]])
    np.testing.assert_allclose(np.linalg.norm(long), 1.0, rtol=1e-5)
    np.testing.assert_allclose(long, start, atol=1e-6)  # both are cut to the same first 256 word pieces


def test_an_empty_batch_gives_no_vectors_of_the_model_size(embedder):
    vectors = embedder.embed_texts([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


@pytest.mark.parametrize("name", BUILTIN_TEXT_MODELS)
def test_the_onnx_text_model_is_exported_once_then_reused(embedder, monkeypatch, name):
    MiniLMOnnx(name, embeddings._minilm_dir(), embedder.cache_dir)  # exports it if this is the first use
    exported = embedder.cache_dir / f"{name}-{MiniLMOnnx.EXPORT_VERSION}.onnx"
    modified = exported.stat().st_mtime_ns

    def export_again(*_):
        raise AssertionError("exported again")

    monkeypatch.setattr(embeddings, "_export_minilm", export_again)
    monkeypatch.setattr(embeddings, "_quantize_int8", export_again)
    again = MiniLMOnnx(name, embeddings._minilm_dir(), embedder.cache_dir)
    assert again.encode_texts(["loads the file exported before"]).shape == (1, 384)
    assert exported.stat().st_mtime_ns == modified
    assert not list(embedder.cache_dir.glob("*.partial"))


def test_both_models_can_be_exported_at_once_from_two_threads(embedder, tmp_path):
    """The loader exports the text model while the image model runs; two first loads at once
    must each get their model (torch's exporter refuses to run twice at the same moment)."""
    fresh = Embedder(embedder.text_model, embedder.image_model, tmp_path / "models")
    with ThreadPoolExecutor(max_workers=2) as pool:
        texts = pool.submit(fresh.embed_texts, ["navy blue shirt"])
        images = pool.submit(fresh.embed_images, [SAMPLE_CATALOG / "images" / "70001.jpg"])
        text_vector, image_vector = texts.result()[0], images.result()[0]
    np.testing.assert_allclose(text_vector, embedder.embed_texts(["navy blue shirt"])[0], atol=1e-6)
    np.testing.assert_allclose(image_vector, embedder.embed_images([SAMPLE_CATALOG / "images" / "70001.jpg"])[0],
                               atol=1e-6)
    assert not list((tmp_path / "models").glob("*.partial"))


def test_the_built_in_models_embed_without_importing_pytorch_or_telemetry(embedder):
    embedder.warm_up()  # both ONNX files exported (that alone needs PyTorch)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from finder.embeddings import Embedder\n"
        f"Embedder({embedder.text_model!r}, {embedder.image_model!r}, Path({str(embedder.cache_dir)!r})).warm_up()\n"
        "print(sorted(name for name in ('torch', 'transformers', 'sentence_transformers', 'openvino_telemetry')"
        " if sys.modules.get(name)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"  # nor OpenVINO's telemetry, which reports every import


def test_a_local_sentence_transformers_text_model_runs_as_before(tmp_path):
    from tests.tiny_clip import build_tiny_clip

    build_tiny_clip(tmp_path / "tiny-clip")
    embedder = Embedder(str(tmp_path / "tiny-clip"), "efficientnet-lite0", tmp_path / "models")
    assert embedder.embed_texts(["red dress", "black shoes"]).shape == (2, 32)
    assert not (tmp_path / "models").exists()  # through sentence-transformers: nothing exported


def test_image_vectors_are_unit_length_float32_of_the_model_size(embedder):
    paths = sorted((SAMPLE_CATALOG / "images").glob("*.jpg"))[:3]
    vectors = embedder.embed_images(paths)
    assert vectors.shape == (3, embedder.image_dim) == (3, 1280)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def sample_photos(count: int) -> list:
    return sorted((SAMPLE_CATALOG / "images").glob("*.jpg"))[:count]


def test_the_float_image_model_gives_the_pytorch_networks_features(embedder):
    import torch

    photos = sample_photos(8)
    features = Embedder(embedder.text_model, FLOAT_IMAGE_MODEL, embedder.cache_dir).image_features(photos)
    pixels = np.stack([embeddings._model_input(load_image(photo))[0] for photo in photos])
    with torch.no_grad():
        outputs = embeddings.efficientnet_lite0_features(EfficientNetLite.TAPPED_BLOCKS)(torch.from_numpy(pixels))
    expected = np.hstack([embeddings.unit_rows(output.numpy()) for output in outputs])
    assert expected.shape == (8, sum(EfficientNetLite.OUTPUT_DIMS))
    np.testing.assert_allclose(features[:, : expected.shape[1]], expected, atol=MAX_IMAGE_FEATURE_DIFFERENCE)


def test_the_bf16_image_model_is_close_to_the_float_one(embedder):
    photos = sample_photos(32)
    bf16 = Embedder(embedder.text_model, BF16_IMAGE_MODEL, embedder.cache_dir).image_features(photos)
    float32 = Embedder(embedder.text_model, FLOAT_IMAGE_MODEL, embedder.cache_dir).image_features(photos)
    bounds = np.cumsum((0, *EfficientNetLite.OUTPUT_DIMS))
    for start, stop in itertools.pairwise(bounds):
        cosines = (bf16[:, start:stop] * float32[:, start:stop]).sum(axis=1)
        assert cosines.min() >= MIN_BF16_FEATURE_COSINE, (start, stop)
    np.testing.assert_array_equal(bf16[:, bounds[-1]:], float32[:, bounds[-1]:])  # the colour histogram: no network
    if embeddings._cpu_has_bf16():
        assert not np.array_equal(bf16, float32)  # not the float model under another name


def test_a_photo_embeds_the_same_alone_and_beside_others(embedder):
    photos = sample_photos(9)
    np.testing.assert_array_equal(embedder.image_features(photos[:1])[0], embedder.image_features(photos)[0])


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
