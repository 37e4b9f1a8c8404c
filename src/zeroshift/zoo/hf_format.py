"""Building the zoo's transformers-format models: vocabulary, tokenizers, image processor, configs, chat template.

The zoo's CLIP and LLaVAs use transformers' own classes (``CLIPModel``, ``LlavaForConditionalGeneration``)
with a word-level ``tokenizers`` vocabulary over FactorWorld's caption words, the words of the LMM questions,
the chat template's words and punctuation. Text is lower-cased and split into words and punctuation; unknown
words map to ``<unk>``. The CLIP tokenizer wraps a text in ``<s> ... </s>`` (CLIP pools at the end token); the
LLaVA tokenizer starts it with ``<s>`` as Llama's does. The chat template (``_info/llava_chat_template.jinja``)
is LLaVA-1.5's conversation format.

Example:
    >>> words = vocabulary()
    >>> {"circle", "what", "assistant", "?"} <= set(words)
    True
    >>> tok = build_tokenizer(words, "clip")
    >>> tok.convert_ids_to_tokens(tok("A red circle.")["input_ids"])
    ['<s>', 'a', 'red', 'circle', '.', '</s>']

"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from zeroshift.data.factorworld.captions import vocabulary as caption_vocabulary

PAD, UNK, BOS, EOS, IMAGE = "<pad>", "<unk>", "<s>", "</s>", "<image>"
SPECIAL = (PAD, UNK, BOS, EOS, IMAGE)
PUNCTUATION = (".", ",", "?", ":", "!", "-", '"', "'")
#: the words of the chat template besides its special tokens
CHAT_WORDS = ("user", "assistant")
_WORDS = re.compile(r"[a-z]+")


def chat_template() -> str:
    """The zoo LLaVAs' chat template (LLaVA-1.5's format: ``USER: <image>``, a line break, the question, then
    ``ASSISTANT: answer</s>``).
    """
    return (resources.files("zeroshift.zoo") / "_info" / "llava_chat_template.jinja").read_text(encoding="utf-8")


def _question_words(extra: list[str]) -> set[str]:
    from zeroshift.lmm.templates import _questions

    texts = list(extra)
    for table in _questions().values():
        for entry in table.values():
            texts += [entry.get("question", ""), entry.get("answer", "")]
    words: set[str] = set()
    for text in texts:
        words |= set(_WORDS.findall(re.sub(r"\{[a-z_]+\}", " ", text).lower()))
    return words


def vocabulary(extra_texts: list[str] | None = None) -> list[str]:
    """Special tokens, then punctuation, then every word sorted (captions, questions, chat template)."""
    words = set(caption_vocabulary()) | _question_words(extra_texts or []) | set(CHAT_WORDS)
    return list(SPECIAL) + list(PUNCTUATION) + sorted(words - set(SPECIAL) - set(PUNCTUATION))


def build_tokenizer(words: list[str], kind: str) -> Any:
    """A ``PreTrainedTokenizerFast`` over ``words``: ``kind="clip"`` wraps texts in ``<s> </s>``, ``"lmm"`` adds
    ``<s>`` in front and knows ``<image>``.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(words)}
    raw = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    raw.normalizer = normalizers.Lowercase()
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    single = f"{BOS} $A {EOS}" if kind == "clip" else f"{BOS} $A"
    special = [(BOS, vocab[BOS])] + ([(EOS, vocab[EOS])] if kind == "clip" else [])
    raw.post_processor = processors.TemplateProcessing(single=single, special_tokens=special)
    extra = {"extra_special_tokens": {"image_token": IMAGE}} if kind == "lmm" else {}
    return PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token=BOS, eos_token=EOS, unk_token=UNK, pad_token=PAD, **extra
    )


def build_image_processor(size: int, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    """A ``CLIPImageProcessor``: shorter side to ``size`` (bicubic), centre crop, then normalisation."""
    from transformers import CLIPImageProcessor

    return CLIPImageProcessor(
        size={"shortest_edge": size},
        crop_size={"height": size, "width": size},
        image_mean=list(mean),
        image_std=list(std),
    )


def clip_config(recipe: dict[str, Any], words: list[str]) -> Any:
    """The ``CLIPConfig`` of a ``clip`` recipe."""
    from transformers import CLIPConfig

    v, t = recipe["vision"], recipe["text"]
    return CLIPConfig(
        text_config={
            "vocab_size": len(words), "hidden_size": t["hidden"], "intermediate_size": t["mlp"],
            "num_hidden_layers": t["layers"], "num_attention_heads": t["heads"],
            "max_position_embeddings": t["max_len"], "pad_token_id": words.index(PAD),
            "bos_token_id": words.index(BOS), "eos_token_id": words.index(EOS),
        },
        vision_config={
            "image_size": recipe["image_size"], "patch_size": v["patch"], "hidden_size": v["hidden"],
            "intermediate_size": v["mlp"], "num_hidden_layers": v["layers"], "num_attention_heads": v["heads"],
        },
        projection_dim=recipe["embed_dim"],
    )  # fmt: skip


def llava_config(recipe: dict[str, Any], vision_config: Any, words: list[str]) -> Any:
    """The ``LlavaConfig`` of an ``lmm`` recipe on a CLIP tower's vision config (Llama language model)."""
    from transformers import LlavaConfig

    lm = recipe["lm"]
    n_patches = (vision_config.image_size // vision_config.patch_size) ** 2
    return LlavaConfig(
        vision_config=vision_config.to_dict(),
        text_config={
            "model_type": "llama", "vocab_size": len(words), "hidden_size": lm["hidden"],
            "intermediate_size": lm["mlp"], "num_hidden_layers": lm["layers"], "num_attention_heads": lm["heads"],
            "num_key_value_heads": lm["heads"],
            "max_position_embeddings": 192, "pad_token_id": words.index(PAD), "bos_token_id": words.index(BOS),
            "eos_token_id": words.index(EOS), "tie_word_embeddings": True,
        },
        image_token_index=words.index(IMAGE), image_seq_length=n_patches, vision_feature_layer=recipe["feature_layer"],
        vision_feature_select_strategy="default", tie_word_embeddings=True,
    )  # fmt: skip


def llava_processor(image_processor: Any, tokenizer: Any, patch: int) -> Any:
    """The ``LlavaProcessor`` of a zoo LLaVA (patch tokens only: the class token is dropped, ``default``)."""
    from transformers import LlavaProcessor

    return LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=patch,
        vision_feature_select_strategy="default",
        chat_template=chat_template(),
        num_additional_image_tokens=1,
    )
