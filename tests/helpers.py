"""Test helpers: the shared real-data folder and ImageNet-family layouts built from its photos."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$ZEROSHIFT_SHARED_DATA`` or ``../shared/data`` next to the repository."""
    return Path(os.environ.get("ZEROSHIFT_SHARED_DATA", REPO.parent / "shared" / "data"))


def require_shared(sub: str = "") -> Path:
    """The shared data folder (or a subfolder), skipping the test with a reason when it is absent."""
    path = shared_data_dir() / sub
    if not path.exists():
        pytest.skip(f"shared real-data folder {path} is absent (set ZEROSHIFT_SHARED_DATA)")
    return path


def sample_manifest() -> list[dict[str, str]]:
    """Rows of imagenet-samples/manifest.csv: file, wnid, class_index, label, ..."""
    folder = require_shared("imagenet-samples")
    with open(folder / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def build_wnid_layout(
    root: Path,
    wnids: set[str] | None = None,
    per_class: int = 1,
    index_folders: bool = False,
    rename: str | None = None,
) -> list[Path]:
    """Folders ``root/<wnid or class index>/<file>`` of shared photos (one photo per class, repeated if asked)."""
    folder = require_shared("imagenet-samples")
    placed = []
    for row in sample_manifest():
        if wnids is not None and row["wnid"] not in wnids:
            continue
        cls = row["class_index"] if index_folders else row["wnid"]
        for k in range(per_class):
            name = row["file"] if k == 0 else f"{Path(row['file']).stem}_{k}{Path(row['file']).suffix}"
            if rename:
                name = Path(name).stem + rename
            dst = root / cls / name
            _place(folder / row["file"], dst)
            placed.append(dst)
    return placed


def make_word_tokenizer(folder: Path, words: list[str], max_length: int = 16) -> None:
    """Save a word-level fast tokenizer (BOS ... EOS, padded) to ``folder``, as transformers loads it."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[UNK]": 1, "[BOS]": 2, "[EOS]": 3}
    for word in sorted({w.lower() for w in words}):
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Punctuation()])
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", 2), ("[EOS]", 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        model_max_length=max_length,
    )
    fast.save_pretrained(folder)


def make_tiny_hf_model(folder: Path, kind: str = "clip", seed: int = 0, image_size: int = 32) -> Path:
    """Save a tiny random CLIPModel or SiglipModel with tokenizer and image processor to ``folder``."""
    import torch
    import transformers

    from zeroshift.data.info import clip_classnames
    from zeroshift.prompts import load_prompts

    words = " ".join(list(clip_classnames()) + list(load_prompts("openai").templates)).replace("{}", " ")
    words_list = [w for w in words.replace(",", " ").replace(".", " ").replace("'", " ").replace("-", " ").split()]
    folder.mkdir(parents=True, exist_ok=True)
    make_word_tokenizer(folder, words_list, max_length=16)
    vocab_size = len(transformers.AutoTokenizer.from_pretrained(folder))
    text = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        vocab_size=vocab_size,
        max_position_embeddings=16,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
    )
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=image_size,
        patch_size=8,
    )
    torch.manual_seed(seed)
    if kind == "clip":
        config = transformers.CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)
        model = transformers.CLIPModel(config)
        processor = transformers.CLIPImageProcessor(
            size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
        )
    else:
        config = transformers.SiglipConfig(text_config=text, vision_config=vision)
        model = transformers.SiglipModel(config)
        processor = transformers.SiglipImageProcessor(size={"height": image_size, "width": image_size})
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def start_postgres() -> tuple[str, callable]:
    """Start a throwaway PostgreSQL server on a Unix socket in a temp folder; returns (SQLAlchemy URL, stop)."""
    import glob
    import shutil as sh
    import subprocess
    import tempfile
    import time

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))  # Debian keeps the server binaries off PATH
    path = os.pathsep.join([os.environ.get("PATH", ""), *bins])
    initdb, pg_ctl = sh.which("initdb", path=path), sh.which("pg_ctl", path=path)
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if not sh.which("runuser"):
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        prefix = ["runuser", "-u", "postgres", "--"]
        import pwd

        uid = pwd.getpwnam("postgres").pw_uid
    folder = Path(tempfile.mkdtemp(prefix="zeroshift-pg-"))  # under /tmp: the postgres user can reach it
    data, sock = folder / "data", folder / "sock"
    sock.mkdir()
    if prefix:
        for p in (folder, sock):
            os.chown(p, uid, -1)
    subprocess.run(prefix + [initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, capture_output=True)
    port = 54000 + os.getpid() % 1000
    subprocess.run(
        prefix
        + [
            pg_ctl,
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-w",
            "-o",
            f"-k {sock} -p {port} -c listen_addresses=''",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    for _ in range(50):
        if any(sock.iterdir()):
            break
        time.sleep(0.1)

    def stop() -> None:
        subprocess.run(prefix + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        sh.rmtree(folder, ignore_errors=True)

    return f"postgresql+psycopg://postgres@/postgres?host={sock}&port={port}", stop


def clip_benchmark_command(
    checkpoint: Path,
    data_root: Path,
    templates: Path,
    output: Path,
    batch_size: int = 64,
    workers: int = 1,
    extra: list[str] | None = None,
) -> list[str]:
    """The CLIP_benchmark command for zero-shot ImageNet-R on an open_clip ViT-B-32 checkpoint, fp32 (``--no_amp``)."""
    import sys

    return [
        sys.executable,
        "-c",
        "from clip_benchmark.cli import main; main()",
        "eval",
        "--model",
        "ViT-B-32",
        "--pretrained",
        str(checkpoint),
        "--dataset",
        "imagenet-r",
        "--dataset_root",
        str(data_root),
        "--task",
        "zeroshot_classification",
        "--no_amp",
        "--batch_size",
        str(batch_size),
        "--num_workers",
        str(workers),
        "--custom_template_file",
        str(templates),
        "--output",
        str(output),
        *(extra or []),
    ]
