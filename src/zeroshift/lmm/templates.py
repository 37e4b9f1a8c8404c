"""Questions of the closed-set LMM protocols and how they become token sequences through a chat template.

A likelihood question is a user turn (the image, then ``question``) and an assistant reply template with one
``{answer}`` slot; a candidate's score is the log-likelihood of the reply with the candidate in the slot. The
prompt is rendered with the model's own chat template *including* the assistant turn, with a sentinel in the
slot: everything before the sentinel is the shared prefix (encoded once per image), the candidate and the rest
of the reply template are the continuation. Whitespace at the end of the prefix moves to the continuation, as
lm-evaluation-harness does, so that word-piece tokenizers see `` cat`` rather than a lone space. Named
templates live in ``_info/questions.yaml``.

Example:
    >>> t = AnswerTemplate.parse("What is the main object in this image? Answer: {answer}.")
    >>> t.question, t.answer
    ('What is the main object in this image? Answer:', '{answer}.')
    >>> t.continuation("cat")
    'cat.'
    >>> AnswerTemplate.parse("What is this?")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    zeroshift.errors.UsageError: answer template 'What is this?' has no {answer} slot (e.g. ...)

"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from zeroshift.errors import UsageError
from zeroshift.registry import suggest

SLOT = "{answer}"
#: what stands in the slot while the chat template renders (no chat template touches it)
SENTINEL = "ZSLOTANSWERZ"
_EXAMPLE = "What is the main object in this image? {answer}"


@cache
def _questions() -> dict[str, Any]:
    return yaml.safe_load((resources.files("zeroshift.lmm") / "_info" / "questions.yaml").read_text("utf-8"))


def named_question(protocol: str, name: str) -> dict[str, str]:
    """A named question of ``protocol`` (``likelihood``, ``choice``, ``generate``) from ``_info/questions.yaml``.

    Example:
        >>> named_question("choice", "imagenet_d")["question"][:31]
        'What is the main object in this'

    """
    table = _questions()[protocol]
    if name not in table:
        raise UsageError(f"no {protocol} question {name!r}" + (suggest(name, list(table)) or ""))
    return dict(table[name])


@dataclass(frozen=True)
class AnswerTemplate:
    """A likelihood question: the user turn and the assistant reply with its ``{answer}`` slot.

    Attributes:
        question: text of the user turn, after the image.
        answer: the reply; exactly one ``{answer}`` slot.

    """

    question: str
    answer: str = SLOT

    def __post_init__(self) -> None:
        if self.answer.count(SLOT) != 1:
            what = "has no" if SLOT not in self.answer else "has more than one"
            raise UsageError(f"answer template {self.answer!r} {what} {SLOT} slot (e.g. {_EXAMPLE!r})")
        if SLOT in self.question:
            raise UsageError(f"the question {self.question!r} holds the {SLOT} slot; the slot belongs to the answer")

    @classmethod
    def parse(cls, text: str) -> AnswerTemplate:
        """One string: the text before ``{answer}`` is the question, the slot and what follows the reply."""
        if SLOT not in text:
            raise UsageError(f"answer template {text!r} has no {SLOT} slot (e.g. {_EXAMPLE!r})")
        head, _, tail = text.partition(SLOT)
        return cls(head.rstrip(), SLOT + tail)

    @classmethod
    def named(cls, name: str = "default") -> AnswerTemplate:
        """A template of ``_info/questions.yaml`` (``likelihood`` section)."""
        entry = named_question("likelihood", name)
        return cls(entry["question"], entry.get("answer", SLOT))

    def continuation(self, candidate: str) -> str:
        """The reply with ``candidate`` in the slot, from the slot on (the text scored for that candidate)."""
        return candidate + self.answer.split(SLOT, 1)[1]

    @property
    def record(self) -> dict[str, str]:
        """The template as recorded in protocols."""
        return {"question": self.question, "answer": self.answer}


def conversation(question: str, reply: str | None = None) -> list[dict[str, Any]]:
    """The chat of one image question (and, with ``reply``, the assistant's answer) in transformers' format.

    Example:
        >>> conversation("What?")[0]["content"][0]
        {'type': 'image'}

    """
    chat: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    if reply is not None:
        chat.append({"role": "assistant", "content": [{"type": "text", "text": reply}]})
    return chat


def generation_prompt(processor: Any, question: str) -> str:
    """The chat-templated prompt of ``question`` up to where the assistant starts answering."""
    _check_template(processor)
    return processor.apply_chat_template(conversation(question), add_generation_prompt=True, tokenize=False)


def split_prompt(processor: Any, template: AnswerTemplate) -> tuple[str, str]:
    """``(prefix, lead)``: the shared prefix text and the text every continuation starts with.

    The assistant turn is rendered with a sentinel in the slot, so the model's own formatting of a reply
    (``ASSISTANT: ``, ``[/INST] ``...) is kept; the reply text before the slot and the whitespace at the end of
    the prefix make ``lead``. Chat templates that cannot render an assistant turn fall back to the generation
    prompt followed by one space.
    """
    _check_template(processor)
    reply = template.answer.replace(SLOT, SENTINEL)
    try:
        rendered = processor.apply_chat_template(
            conversation(template.question, reply), add_generation_prompt=False, tokenize=False
        )
    except Exception:  # noqa: BLE001 - a template that only renders user turns: use the generation prompt
        rendered = ""
    at = rendered.find(SENTINEL)
    if at < 0:
        rendered = generation_prompt(processor, template.question) + " " + reply
        at = rendered.find(SENTINEL)
    prefix = rendered[:at]
    stripped = prefix.rstrip()
    return stripped, prefix[len(stripped) :]


def _check_template(processor: Any) -> None:
    if not getattr(processor, "chat_template", None):
        raise UsageError(
            "the model's processor has no chat template (chat_template.jinja or chat_template.json in its folder); "
            "LMM protocols format questions through it"
        )
