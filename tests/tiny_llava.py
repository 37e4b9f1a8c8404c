"""Tiny random-weight LLaVA models built in the test with transformers' own classes (no download), as
transformers' ``tests/models/llava`` do: a Llama text config of hidden size 32 and a CLIP vision config of
patch 8 on 32-pixel images, a word-level tokenizer from ``tokenizers`` and a LLaVA-1.5-style chat template
written here (``USER: <image>\\n{question} ASSISTANT: {answer}</s>``).
"""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = [
    "<pad>",
    "<unk>",
    "<s>",
    "</s>",
    "<image>",
    "user",
    "assistant",
    ":",
    "?",
    ".",
    ",",
    "what",
    "is",
    "the",
    "main",
    "object",
    "in",
    "this",
    "image",
    "choose",
    "from",
    "following",
    "list",
    "a",
    "an",
    "cat",
    "dog",
    "red",
    "bird",
    "car",
    "big",
    "hot",
    "tea",
    "tv",
    "television",
    "radio",
    "can",
    "opener",
    "pen",
    "it",
    "answer",
]

CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'user' %}USER: "
    "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>\n{% endif %}{% endfor %}"
    "{% for c in m['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %} "
    "{% else %}ASSISTANT: {% for c in m['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{{ eos_token }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def tiny_processor(image_size: int = 32, patch: int = 8, words: list[str] | None = None):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import CLIPImageProcessor, LlavaProcessor, PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(words or WORDS)}
    raw = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    raw.normalizer = normalizers.Lowercase()
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", vocab["<s>"])])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
    )  # fmt: skip
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size},
        image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25],
    )  # fmt: skip
    return LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=patch, chat_template=CHAT_TEMPLATE,
        vision_feature_select_strategy="default", num_additional_image_tokens=1,
    )  # fmt: skip


def tiny_llava(seed: int = 0, image_size: int = 32, patch: int = 8, words: list[str] | None = None):
    from transformers import LlavaConfig, LlavaForConditionalGeneration

    config = LlavaConfig(
        text_config={
            "model_type": "llama", "vocab_size": len(words or WORDS), "hidden_size": 32, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 37, "max_position_embeddings": 128,
            "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3,
        },
        vision_config={
            "model_type": "clip_vision_model", "image_size": image_size, "patch_size": patch, "hidden_size": 32,
            "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 37, "projection_dim": 32,
        },
        image_token_index=WORDS.index("<image>"), image_seq_length=(image_size // patch) ** 2,
        vision_feature_layer=-1, vision_feature_select_strategy="default",
    )  # fmt: skip
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    # random weights give flat answers; larger output weights make the tests' scores differ clearly
    with torch.no_grad():
        model.lm_head.weight.mul_(20.0)
    return model


def save_tiny_llava(folder: Path, seed: int = 0, extra_words: tuple[str, ...] = ()) -> Path:
    """A folder as ``save_pretrained`` writes it: config, safetensors, tokenizer, processor, chat template
    (``extra_words``: more vocabulary, e.g. a benchmark's class names)."""
    words = WORDS + [w for w in extra_words if w not in WORDS]
    folder.mkdir(parents=True, exist_ok=True)
    tiny_llava(seed, words=words).save_pretrained(folder)
    tiny_processor(words=words).save_pretrained(folder)
    return folder
