"""Answer matching of the choice and generate protocols on hand-written answers, and against a test-only port of
ImageNet-D's LLaVA/compute_accuracy.py."""

import pytest

from zeroshift.data.imagenet_d import imagenet_d_classes, imagenet_d_synonyms
from zeroshift.errors import UsageError
from zeroshift.lmm.matching import Synonyms, choice_counts, match_choice, match_free, mentions


@pytest.fixture(scope="module")
def syn():
    return imagenet_d_synonyms()


# --- test-only port of chenshuang-zhang/imagenet_d LLaVA/compute_accuracy.py (the oracle, not project code) -----
def published_label(gt, pred, answer, mapping):
    def test_word_mapping(word, text):
        if word in text:
            return True
        return any(m in text for m in mapping.get(word, []))

    text = answer.lower()
    test_gt, test_pred = test_word_mapping(gt, text), test_word_mapping(pred, text)
    if (gt == "pen" and pred == "can opener") or (gt == "plate" and pred == "drying rack for plates"):
        return "FALSE" if test_pred else "TRUE" if test_gt else "TODO"
    if (gt == "can opener" and pred == "pen") or (gt == "drying rack for plates" and pred == "plate"):
        return "TRUE" if test_gt else "FALSE" if test_pred else "TODO"
    if test_gt and test_pred:
        return "DOUBLE"
    return "TRUE" if test_gt else "FALSE" if test_pred else "TODO"


# ----------------------------------------------------------------------------------------------------------------

ANSWERS = [
    ("tv", "radio", "The main object in this image is a television."),
    ("tv", "radio", "It is a radio."),
    ("tv", "radio", "A TV next to a radio"),
    ("tv", "radio", "I cannot tell."),
    ("pen", "can opener", "A can opener."),
    ("pen", "can opener", "It is a pen."),
    ("can opener", "pen", "A can opener."),
    ("can opener", "pen", "a pen"),
    ("plate", "drying rack for plates", "A drying rack for plates"),
    ("drying rack for plates", "plate", "a plate"),
    ("weight (exercise)", "ruler", "A dumbbell"),
    ("t shirt", "sweater", "a t-shirt"),
    ("coffee or french press", "pitcher", "This is a coffee maker."),
    ("sandal", "running shoe", "A flip flop"),
    ("mug", "tea cup", "a mug or a tea cup"),
    ("cellphone", "remote control", "a mobile phone"),
    ("alarm clock", "watch", "a clock"),
    ("wheel", "bicycle", "a bicycle wheel"),
]


@pytest.mark.parametrize("gt,other,answer", ANSWERS)
def test_choice_labels_match_the_published_rule(gt, other, answer, syn):
    mapping = {k: list(v) for k, v in syn.table.items()}
    assert match_choice(answer, gt, other, syn) == published_label(gt, other, answer, mapping)


def test_hand_written_answers(syn):
    assert match_choice("The main object is a Television.", "tv", "radio", syn) == "TRUE"  # a synonym, any case
    assert match_choice("a radio", "tv", "radio", syn) == "FALSE"
    assert match_choice("a tv and a radio", "tv", "radio", syn) == "DOUBLE"  # both
    assert match_choice("no idea", "tv", "radio", syn) == "TODO"  # neither
    assert match_choice("A can opener.", "pen", "can opener", syn) == "FALSE"  # nested: the longer name decides
    assert match_choice("A can opener.", "can opener", "pen", syn) == "TRUE"


def test_nested_rule_auto_goes_beyond_the_published_pairs():
    syn = Synonyms()
    assert match_choice("a cupboard", "cup", "cupboard", syn) == "DOUBLE"  # as published: no listed pair
    assert match_choice("a cupboard", "cup", "cupboard", syn, nested="auto") == "FALSE"
    assert match_choice("a cup", "cup", "cupboard", syn, nested="auto") == "TRUE"
    with pytest.raises(UsageError, match="nested-name rule"):
        match_choice("a cup", "cup", "mug", syn, nested="longest")


def test_free_answers(syn):
    names = [c["name"] for c in imagenet_d_classes()]
    assert match_free("The main object in this image is a television.", names, syn) == (names.index("tv"), "one")
    assert match_free("I see a can opener on a table.", names, syn) == (names.index("can opener"), "one")
    assert match_free("A banana and a lemon.", names, syn) == (-1, "several")
    assert match_free("Something blue.", names, syn) == (-1, "none")
    assert mentions("A BICYCLE", "bicycle", syn)


def test_counts_exclude_double_and_todo():
    counts = choice_counts(["TRUE"] * 6 + ["FALSE"] * 2 + ["DOUBLE"] * 5 + ["TODO"] * 7)
    assert counts["accuracy"] == 6 / 8 and counts["DOUBLE"] == 5 and counts["TODO"] == 7 and counts["decided"] == 8


def test_synonyms_file_errors(tmp_path):
    bad = tmp_path / "syn.yaml"
    bad.write_text("synonyms: [a, b]\n")
    with pytest.raises(UsageError, match="expected a mapping"):
        Synonyms.from_file(bad)
    with pytest.raises(UsageError, match="cannot read synonyms file"):
        Synonyms.from_file(tmp_path / "absent.yaml")
