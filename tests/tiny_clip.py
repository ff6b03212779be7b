"""A tiny, randomly initialised but structurally real CLIP model, built locally for tests.

No CLIP weights can be downloaded here, so the tests that need an image model that also embeds
text (free-text search over the image vectors) build one from installed packages: a byte-level
BPE tokenizer trained on a few words, a 32-d CLIPModel, saved as a sentence-transformers
directory laid out like sentence-transformers/clip-ViT-B-32. Its similarities mean nothing;
tests may only check what is wired, never what ranks first.
"""

from __future__ import annotations

import collections
import itertools
import json
import pathlib
import shutil

# Words that become single BPE tokens. Any other text still tokenises (without <unk>) because the
# vocab contains all 256 byte-level symbols, with and without the "</w>" end-of-word suffix.
FASHION_WORDS: tuple[str, ...] = tuple(
    """
    a an the of for with and in on to by photo picture image product
    men mens women womens kids girls boys unisex
    red black white blue green yellow pink purple orange brown grey gray navy beige gold silver
    dress shirt tshirt top blouse jeans trousers pants shorts skirt jacket coat hoodie sweater
    cardigan suit shoe shoes sneakers boots sandals heels watch bag handbag backpack wallet belt
    hat cap scarf gloves socks sunglasses necklace ring earrings bracelet jewelry
    leather cotton wool denim silk linen polyester
    summer winter casual formal running sports slim fit long short sleeve small medium large
    """.split()
)

BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def _train_bpe(words: tuple[str, ...]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Classic (Sennrich) BPE on ``words`` in CLIP's format: byte-level alphabet + "</w>" suffix.

    Deterministic: most frequent pair wins, ties broken by the lexicographically smallest pair.
    Runs until every word is a single token. Returns (vocab, merges) in openai/clip's ordering:
    256 byte symbols, the same with "</w>", merged symbols, then <|startoftext|>, <|endoftext|>.
    """
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    byte_symbols = [bytes_to_unicode()[b] for b in range(256)]
    vocab: dict[str, int] = {}
    for symbol in byte_symbols + [s + "</w>" for s in byte_symbols]:
        vocab[symbol] = len(vocab)

    corpus = collections.Counter(
        tuple(w[:-1]) + (w[-1] + "</w>",) for w in dict.fromkeys(words) if w.isascii() and w.isalpha()
    )
    merges: list[tuple[str, str]] = []
    while True:
        pairs: collections.Counter = collections.Counter()
        for symbols, freq in corpus.items():
            for pair in itertools.pairwise(symbols):
                pairs[pair] += freq
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        vocab.setdefault(best[0] + best[1], len(vocab))
        new_corpus: collections.Counter = collections.Counter()
        for symbols, freq in corpus.items():
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            new_corpus[tuple(out)] += freq
        corpus = new_corpus

    vocab[BOS] = len(vocab)
    vocab[EOS] = len(vocab)
    return vocab, merges


def build_tiny_clip(
    path: pathlib.Path,
    *,
    seed: int = 0,
    dim: int = 32,
    image_size: int = 32,
) -> None:
    """Create a tiny random CLIP SentenceTransformer directory at ``path`` (overwritten if present).

    Args:
        path: target directory.
        seed: torch seed for the weights (the global RNG state is restored afterwards).
        dim: hidden size of both towers and the shared projection, i.e. the embedding dimension.
        image_size: CLIP image resolution; the processor resizes/crops every image to this square.
    """
    import torch
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.utils import logging as hf_logging

    path = pathlib.Path(path)
    if path.exists():
        shutil.rmtree(path)
    hf_dir = path / "0_CLIPModel"
    hf_dir.mkdir(parents=True)

    # --- tokenizer (byte-level BPE exactly like openai/clip, tiny vocab) ---
    vocab, merges = _train_bpe(FASHION_WORDS)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)
    # --- image processor: the PIL backend (the default CLIPImageProcessor needs torchvision) ---
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )

    # --- model ---
    heads = 2 if dim % 2 == 0 else 1
    tower = {"hidden_size": dim, "intermediate_size": 2 * dim, "num_hidden_layers": 2, "num_attention_heads": heads}
    config = CLIPConfig(
        text_config={
            **tower,
            "vocab_size": len(vocab),
            "max_position_embeddings": 77,
            "projection_dim": dim,
            "bos_token_id": vocab[BOS],
            "eos_token_id": vocab[EOS],  # != 2, so pooling picks the first <|endoftext|> position
            "pad_token_id": vocab[EOS],
        },
        vision_config={**tower, "image_size": image_size, "patch_size": max(1, image_size // 4), "projection_dim": dim},
        projection_dim=dim,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(config).eval()

    progress_was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # silence the "Writing model shards" / "Loading weights" bars
    try:
        model.save_pretrained(hf_dir)
        _write_hub_layout(path, hf_dir, tokenizer, image_processor, vocab, merges)
    finally:
        if progress_was_enabled:
            hf_logging.enable_progress_bar()


def _write_hub_layout(path, hf_dir, tokenizer, image_processor, vocab, merges) -> None:
    """Mirror sentence-transformers/clip-ViT-B-32: a legacy ``CLIPModel`` module in ``0_CLIPModel/``
    holding transformers-4-era files (vocab.json, merges.txt, preprocessor_config.json,
    special_tokens_map.json, tokenizer_config.json, config.json, weights), no
    sentence_bert_config.json. ST 6.2.0 loads it as a ``Transformer`` subclass whose modality_config
    is hard-coded to text -> get_text_features, image -> get_image_features."""
    import torch
    from sentence_transformers import __version__ as st_version
    from transformers import __version__ as tf_version

    def dump(file, obj):
        file.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    image_processor.save_pretrained(hf_dir)  # -> preprocessor_config.json
    preprocessor = json.loads((hf_dir / "preprocessor_config.json").read_text())
    dump(hf_dir / "preprocessor_config.json", {**preprocessor, "processor_class": "CLIPProcessor"})
    tokenizer.save_pretrained(hf_dir)  # -> tokenizer_config.json (+ tokenizer.json, dropped below)
    (hf_dir / "tokenizer.json").unlink()  # force the vocab.json/merges.txt path, like the Hub repo
    tokenizer_config = json.loads((hf_dir / "tokenizer_config.json").read_text())
    dump(hf_dir / "tokenizer_config.json", {**tokenizer_config, "processor_class": "CLIPProcessor"})
    dump(hf_dir / "special_tokens_map.json", {"bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS})
    dump(hf_dir / "vocab.json", vocab)
    (hf_dir / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")

    dump(
        path / "modules.json",
        [{"idx": 0, "name": "0", "path": "0_CLIPModel", "type": "sentence_transformers.models.CLIPModel"}],
    )
    dump(
        path / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": st_version,
                "transformers": tf_version,
                "pytorch": torch.__version__,
            },
            "model_type": "SentenceTransformer",
            "prompts": {},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
