"""The three closed-set LMM protocols end to end through the engine (issue 14, items 2-4): a tiny random LLaVA
saved in the test (its vocabulary holds FactorWorld's class names) and a tiny CLIP named as the CLIP to use.

Random models answer garbage, so the tests check the plumbing: the two-way question of each image and its answer,
regenerated with transformers alone and matched by a hand-written rule, against the record's TRUE/FALSE/DOUBLE/TODO
labels and counts; free answers likewise; the CLIP's top-k as likelihood candidates from the CLIP's own logits; and a
second metric, a new normalisation or new synonyms of a cached run decoding nothing (``generate`` and ``likelihood``
replaced by functions that fail)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.helpers import make_tiny_hf_model
from tests.tiny_llava import save_tiny_llava
from zeroshift.data import make_benchmark
from zeroshift.engine.options import RunOptions
from zeroshift.engine.plan import PlanItem
from zeroshift.engine.runner import Runner
from zeroshift.models.lmm import LMMModel
from zeroshift.specs import RunSpec

BENCH = "factorworld(n=8)"
TOKENS = 6


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("lmm-protocols")
    classes = tuple(make_benchmark(BENCH, None).label_space().class_names)
    return save_tiny_llava(tmp / "llava", extra_words=classes), "hf:" + str(make_tiny_hf_model(tmp / "clip", "clip"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lmm-protocols-cache")


def run(cache: Path, model: str, groups: tuple[str, ...], params=None, store: Path | None = None):
    options = RunOptions(cache_dir=cache, workers=0, bootstrap=0, save_samples=True, progress=False,
                         store=str(store) if store else None)  # fmt: skip
    return Runner(options).run(PlanItem(RunSpec.make(model, BENCH), groups, params or {}))


def clip_logits(cache: Path, clip: str) -> np.ndarray:
    return (
        Runner(RunOptions(cache_dir=cache, workers=0, progress=False)).outputs(RunSpec.make(clip, BENCH)).logits.numpy()
    )


def greedy_answers(folder: Path, questions: list[str]) -> list[str]:
    """Greedy answers by transformers alone: the chat template's generation prompt, ``generate`` without sampling."""
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    model = LlavaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(folder)
    ds = make_benchmark(BENCH, None).dataset()
    out = []
    with torch.no_grad():
        for i, question in enumerate(questions):
            chat = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
            prompt = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
            batch = processor(images=[ds.load(i)[0]], text=[prompt], return_tensors="pt")
            ids = model.generate(**batch, do_sample=False, num_beams=1, max_new_tokens=TOKENS)
            out.append(processor.tokenizer.decode(ids[0, batch["input_ids"].shape[1] :], skip_special_tokens=True))
    return [a.strip() for a in out]


def hand_label(answer: str, gt: list[str], other: list[str]) -> str:
    """ImageNet-D's rule written out: which option's strings the lower-cased answer contains."""
    a = answer.lower()
    hit_gt, hit_other = any(t in a for t in gt), any(t in a for t in other)
    return {(True, True): "DOUBLE", (True, False): "TRUE", (False, True): "FALSE", (False, False): "TODO"}[
        (hit_gt, hit_other)
    ]


def test_choice_labels_and_counts_match_answers_regenerated_by_hand(models, cache, tmp_path, monkeypatch):
    llava, clip = models
    spec = f"lmm:{llava}?protocol=choice&clip={clip}&max_new_tokens={TOKENS}"
    first = run(cache, spec, ("accuracy",))
    bench = make_benchmark(BENCH, None)
    names = list(bench.label_space().class_names)
    labels = bench.dataset().targets
    logits = clip_logits(cache, clip)
    order = np.argsort(-logits, axis=1, kind="stable")
    other = np.where(order[:, 0] != labels, order[:, 0], order[:, 1])
    question = "What is the main object in this image? Choose from the following list: {}, {}."
    answers = greedy_answers(llava, [question.format(names[g], names[o]) for g, o in zip(labels, other, strict=True)])
    expected = [hand_label(a, [names[g]], [names[o]]) for a, g, o in zip(answers, labels, other, strict=True)]
    assert first.protocol["scores"]["protocol"] == "choice" and first.protocol["scores"]["candidates"]["clip"] == clip
    assert first.protocol["scores"]["decoding"]["max_new_tokens"] == TOKENS and first.counts["encoded_total"] > 0

    # a second metric on the cached run: nothing is decoded again
    def refuse(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(LMMModel, "_generate", refuse)
    second = run(cache, spec, ("accuracy", "lmm"), {"lmm": {"clip": clip}})
    assert second.counts["encoded_total"] == 0
    check_choice(second, expected, labels, other, logits)

    # new synonyms (a space names each of the first 8 classes): answers matched again, nothing decoded
    synonyms = tmp_path / "syn.yaml"
    synonyms.write_text("synonyms:\n" + "".join(f"  {n}: [' ']\n" for n in names[:8]))
    third = run(cache, spec + f"&synonyms={synonyms}", ("lmm",), {"lmm": {"clip": clip}})
    terms = {n: [n, " "] if i < 8 else [n] for i, n in enumerate(names)}
    rematched = [hand_label(a, terms[names[g]], terms[names[o]]) for a, g, o in zip(answers, labels, other,
                                                                                     strict=True)]  # fmt: skip
    assert {"TRUE", "FALSE"} & set(rematched)  # the counts below cover decided answers too
    check_choice(third, rematched, labels, other, logits)
    assert third.protocol["scores"]["synonyms"]["source"] == "syn.yaml"


def check_choice(record, expected: list[str], labels: np.ndarray, other: np.ndarray, logits: np.ndarray) -> None:
    """The record's labels, counts and accuracies against the hand-matched answers."""
    counts = record.protocol["lmm"]["choice"]
    assert [counts[k] for k in ("TRUE", "FALSE", "DOUBLE", "TODO")] == [expected.count(k) for k in
                                                                       ("TRUE", "FALSE", "DOUBLE", "TODO")]  # fmt: skip
    assert record.samples.extra["choice_label"] == expected and record.samples.extra["other"] == other.tolist()
    decided = np.asarray([e in ("TRUE", "FALSE") for e in expected])
    lmm_top1 = record.metric("lmm_top1").value
    if decided.any():
        assert lmm_top1 == pytest.approx(expected.count("TRUE") / decided.sum())
        # the CLIP restricted to {true, other} on the same decided images: right where the true class scores higher
        rows = np.arange(len(labels))
        clip_right = logits[rows, labels] >= logits[rows, other]
        assert record.metric("clip_restricted_top1").value == pytest.approx(clip_right[decided].mean())
    else:
        assert np.isnan(lmm_top1)
    assert record.metric("choice_todo_rate").value == pytest.approx(expected.count("TODO") / len(labels))
    assert record.metric("choice_double_rate").value == pytest.approx(expected.count("DOUBLE") / len(labels))


def test_generate_matches_free_answers_to_the_label_space(models, cache):
    llava, clip = models
    spec = f"lmm:{llava}?protocol=generate&max_new_tokens={TOKENS}"
    first = run(cache, spec, ("accuracy", "lmm"), {"lmm": {"clip": clip}})
    bench = make_benchmark(BENCH, None)
    names = list(bench.label_space().class_names)
    labels = bench.dataset().targets
    answers = greedy_answers(llava, ["What is the main object in this image?"] * len(labels))
    named = [[j for j, n in enumerate(names) if n in a.lower()] for a in answers]
    status = ["one" if len(h) == 1 else "none" if not h else "several" for h in named]
    assert first.samples.extra["match_status"] == status
    right = [len(h) == 1 and h[0] == y for h, y in zip(named, labels, strict=True)]
    assert first.metric("lmm_top1").value == pytest.approx(np.mean(right))
    assert first.metric("generate_none_rate").value == pytest.approx(status.count("none") / len(labels))
    assert first.protocol["lmm"]["generate"]["one"] == status.count("one")
    # the accuracy group reads the same class scores: a matched answer is its class
    top1 = [t[0] for t in first.samples.topk]
    assert all(t == h[0] for t, h in zip(top1, named, strict=True) if len(h) == 1)


def test_clip_topk_candidates_come_from_the_clips_logits_and_renormalising_decodes_nothing(models, cache, monkeypatch):
    llava, clip = models
    spec = f"lmm:{llava}?candidates=clip_topk(k=3,model='{clip}')"
    first = run(cache, spec, ("accuracy", "lmm"), {"lmm": {"clip": clip}})
    logits = clip_logits(cache, clip)
    top3 = np.argsort(-logits, axis=1, kind="stable")[:, :3]
    labels = make_benchmark(BENCH, None).dataset().targets
    assert first.metric("label_in_candidates").value == pytest.approx((top3 == labels[:, None]).any(axis=1).mean())
    assert all(t[0] in row for t, row in zip(first.samples.topk, top3.tolist(), strict=True))
    scores = first.protocol["scores"]
    assert scores["candidates"]["rule"] == "clip_topk" and scores["candidates"]["clip"] == clip
    assert first.protocol["lmm"]["candidates"] == {"rule": "clip_topk", "n": 3}
    # the CLIP restricted to its own top-3 is its top-1
    assert first.metric("clip_restricted_top1").value == pytest.approx((top3[:, 0] == labels).mean())

    def refuse(*args, **kwargs):
        raise AssertionError("scored again")

    monkeypatch.setattr(LMMModel, "likelihood", refuse)
    summed = run(cache, spec + "&normalise=sum", ("accuracy",))
    assert summed.counts["encoded_total"] == 0 and summed.protocol["scores"]["normalise"] == "summed log-likelihood"


def test_the_report_shows_the_protocol_and_the_choice_counts(models, cache, tmp_path):
    import re

    from zeroshift.reports.html import build_report
    from zeroshift.results.store import Store

    llava, clip = models
    store = tmp_path / "results.db"
    choice = run(cache, f"lmm:{llava}?protocol=choice&clip={clip}&max_new_tokens={TOKENS}", ("lmm",),
                 {"lmm": {"clip": clip}}, store)  # fmt: skip
    run(cache, f"lmm:{llava}?candidates=clip_topk(k=3,model='{clip}')", ("lmm",), {"lmm": {"clip": clip}}, store)
    out = tmp_path / "report.html"
    build_report(Store(str(store)), out)
    page = out.read_text()
    counts = choice.protocol["lmm"]["choice"]
    table = page[page.index('id="table-lmm-choice"') :]
    table = table[: table.index("</table>")]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table)
    assert [c for c in cells if c.strip().isdigit()][:4] == [str(counts[k]) for k in ("TRUE", "FALSE", "DOUBLE",
                                                                                        "TODO")]  # fmt: skip
    assert "neither" in table and "likelihood, clip_topk k=3" in page and ">choice<" in page


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("?candidates=classes(names=('circle','sqare'))", "candidate class 'sqare' is not in the label space; did you "
                                                          "mean 'square'"),
        ("?question=What is it?", "has no {answer} slot"),
        ("?protocol=choice&question=Which one?", "needs the {first} and {second} slots"),
        ("?protocol=choice", "names no companion CLIP for choice's second option; give one with ?clip=SPEC"),
        ("?protocl=choice", "unknown option 'protocl'; did you mean 'protocol'?"),
        ("?protocol=generate&candidates=clip_topk(k=3,model='hf:x')", "applies to the likelihood protocol"),
        ("", "is not an LMM of the LLaVA family"),  # a CLIP folder given as an LMM
    ],
)  # fmt: skip
def test_bad_lmm_input_is_one_line_and_exit_code_2(models, tmp_path, monkeypatch, capsys, options, message):
    from tests.integration.test_cli import cli

    monkeypatch.setenv("ZEROSHIFT_CACHE", str(tmp_path / "cache"))
    llava, clip = models
    folder = clip.removeprefix("hf:") if not options else llava
    code, _, err = cli(capsys, "run", "-m", f"lmm:{folder}{options}", "-b", BENCH, "--workers", "0", "--no-progress")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and message in lines[0], err
