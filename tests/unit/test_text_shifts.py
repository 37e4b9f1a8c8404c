"""Text shifts: seeded per caption and bit-equal on rerun, the perturbation rate respected exactly, bad specs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from zeroshift.errors import SpecError, UsageError
from zeroshift.shifts.base import per_image_seed
from zeroshift.shifts.text import (
    DropWords,
    ShuffleWords,
    Typos,
    count_for_rate,
    drop_words,
    keyboard_neighbours,
    shuffle_words,
    typos,
)

CAPTIONS = [
    "A man in a blue shirt is riding a bicycle down the street.",
    "Two dogs play with a red ball on the grass",
    "a small striped triangle on a plain background",
    "An old woman sells fruit at a market stall, smiling.",
]
IDS = [f"img{i}.jpg#{j}" for i in range(2) for j in range(2)]


def letters(text: str) -> int:
    return sum(ch.isascii() and ch.isalpha() for ch in text)


@pytest.mark.parametrize("shift", [Typos(rate=0.1), DropWords(rate=0.3), ShuffleWords()])
def test_seeded_per_caption_and_bit_equal_on_rerun(shift):
    first = shift.apply_captions(CAPTIONS, IDS, run_seed=0)
    again = type(shift)(**shift.params).apply_captions(CAPTIONS, IDS, run_seed=0)
    assert first == again
    assert first != CAPTIONS
    # a caption's perturbation depends on its own id only, not on the other captions of the run
    alone = shift.apply_captions(CAPTIONS[2:3], IDS[2:3], run_seed=0)
    assert alone == first[2:3]
    # the seed is the documented sha256(run seed | canonical spec | caption id)
    assert first[1] == shift.apply_text(CAPTIONS[1], per_image_seed(0, shift.canonical, IDS[1]))
    other_run = shift.apply_captions(CAPTIONS, IDS, run_seed=1)
    assert other_run != first


@pytest.mark.parametrize("rate", [0.02, 0.05, 0.1, 0.3, 1.0])
def test_typo_rate_is_exact_for_each_single_error(rate):
    rng = np.random.default_rng(0)
    for text in CAPTIONS:
        count = count_for_rate(rate, letters(text))
        replaced = typos(text, rate, rng, ops=("replace",))
        assert len(replaced) == len(text)
        assert sum(a != b for a, b in zip(text, replaced, strict=True)) == count
        assert all(
            b in keyboard_neighbours()[a.lower()] for a, b in zip(text.lower(), replaced.lower(), strict=True) if a != b
        )
        assert all(a.isupper() == b.isupper() for a, b in zip(text, replaced, strict=True))
        assert len(typos(text, rate, rng, ops=("drop",))) == len(text) - count
        assert len(typos(text, rate, rng, ops=("insert",))) == len(text) + count


def test_typo_ops_are_drawn_uniformly_and_touch_only_letters():
    rng = np.random.default_rng(1)
    text = "the quick brown fox jumps over the lazy dog, 42 times!"
    lengths = [len(typos(text, 0.25, rng)) - len(text) for _ in range(2000)]
    # 10 errors among 40 letters; drops shorten, inserts lengthen, swaps and replacements keep the length
    assert count_for_rate(0.25, letters(text)) == 10
    assert np.mean(lengths) == pytest.approx(0.0, abs=0.15)
    assert np.std(lengths) == pytest.approx(np.sqrt(10 * 0.5), rel=0.1)  # +-1 with prob 1/4 each: variance 10/2
    digits = typos(text, 1.0, rng, ops=("replace",))
    assert "42" in digits and digits.count(",") == 1 and digits.endswith("!")


def test_zero_rate_changes_nothing():
    rng = np.random.default_rng(2)
    assert typos(CAPTIONS[0], 0.0, rng) == CAPTIONS[0]
    assert drop_words(CAPTIONS[0], 0.0, rng) == CAPTIONS[0]


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.5, 0.9, 1.0])
def test_drop_words_rate_and_order(rate):
    rng = np.random.default_rng(3)
    for text in CAPTIONS:
        words = text.split()
        kept = drop_words(text, rate, rng).split()
        assert len(kept) == len(words) - min(count_for_rate(rate, len(words)), len(words) - 1)
        it = iter(words)
        assert all(w in it for w in kept)  # the kept words are a subsequence: order unchanged


def test_shuffle_is_a_uniform_permutation():
    rng = np.random.default_rng(4)
    seen = {}
    for _ in range(3000):
        out = shuffle_words("one two three", rng)
        seen[out] = seen.get(out, 0) + 1
    assert set(seen) == {" ".join(p) for p in itertools.permutations(["one", "two", "three"])}
    assert min(seen.values()) > 400  # about 500 each
    assert sorted(shuffle_words(CAPTIONS[0], rng).split()) == sorted(CAPTIONS[0].split())


def test_keyboard_neighbours_are_symmetric():
    nb = keyboard_neighbours()
    assert sorted(nb) == list("abcdefghijklmnopqrstuvwxyz")
    assert all(a in nb[b] for a in nb for b in nb[a])
    assert nb["s"] == "adewxz"


def test_spec_and_protocol():
    shift = Typos(rate=0.2, ops=["swap", "drop"])
    assert shift.canonical == "typos(ops=('swap', 'drop'), rate=0.2)"
    assert shift.kind == "text" and shift.depends_on() == frozenset()
    assert "per caption" in shift.protocol["seeding"] and "ASCII letters" in shift.protocol["rate"]
    assert DropWords().canonical == "drop_words(rate=0.2)" and ShuffleWords().canonical == "shuffle_words"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Typos(rate=1.5), "rate must be a number from 0 to 1"),
        (lambda: Typos(rate="high"), "rate must be a number"),
        (lambda: Typos(ops=("swap", "smash")), "ops must be a non-empty tuple"),
        (lambda: Typos(ops=()), "ops must be a non-empty tuple"),
        (lambda: DropWords(rate=-0.1), "rate must be"),
        (lambda: ShuffleWords(rate=0.5), "unknown parameter 'rate'"),
    ],
)
def test_bad_specs(make, message):
    with pytest.raises(SpecError, match=message):
        make()


def test_text_shift_refuses_pixels():
    with pytest.raises(UsageError, match="text shift"):
        Typos().apply(None, None)
