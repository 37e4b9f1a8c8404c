"""Throughputs that size a full-population sweep (docs/scaling.md), measured in one run on the machine at hand.

Measures, with random weights (no download; throughput does not depend on the weights):

1. image-encoder images/s of the image towers of the CLIP population's architectures and of a few supervised
   classifiers, as timm builds them (``vit_base_patch32_clip_224`` is open_clip's ViT-B-32 image tower, etc.),
   bf16 autocast, channels-last, batch ``--batch``, on ``--device``;
2. text-encoder prompts/s of CLIP text towers (transformers ``CLIPTextModel`` at the ViT-L/14, ViT-H/14 and
   ViT-bigG/14 text widths), 77-token prompts: a zero-shot head over 1,000 classes x 80 templates is 80,000 prompts;
3. decode + geometry images/s on every CPU core (PIL JPEG decode, bicubic resize of the short side to 224, centre
   crop), on JPEGs of scikit-image's bundled photos at ImageNet's typical size (500 x 375, quality 90);
4. the same decode rate on one core, so the ratio says how the loader scales with cores.

Prints a table and writes JSON to ``--out`` (default ``$OUT/accelerator_throughput.json`` when ``$OUT`` is set).

Usage: python benchmarks/accelerator_throughput.py [--device cuda] [--batch 256] [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import platform
import time

import torch

IMAGE_TOWERS = {
    # label: (timm name, input size)
    "CLIP RN50-like (resnet50)": ("resnet50", 224),
    "CLIP ConvNeXt-B": ("convnext_base", 256),
    "CLIP ViT-B/32": ("vit_base_patch32_clip_224", 224),
    "CLIP ViT-B/16": ("vit_base_patch16_clip_224", 224),
    "CLIP ViT-L/14": ("vit_large_patch14_clip_224", 224),
    "CLIP ViT-L/14@336": ("vit_large_patch14_clip_336", 336),
    "CLIP ViT-H/14": ("vit_huge_patch14_clip_224", 224),
    "CLIP ViT-g/14": ("vit_giant_patch14_clip_224", 224),
    "CLIP ViT-bigG/14": ("vit_gigantic_patch14_clip_224", 224),
    "SigLIP SO400M/14@384": ("vit_so400m_patch14_siglip_384", 384),
    "sup. efficientnet_b0": ("efficientnet_b0", 224),
    "sup. vit_base_patch16_224": ("vit_base_patch16_224", 224),
}
QUICK = ("CLIP ViT-B/32", "sup. efficientnet_b0")

TEXT_TOWERS = {
    # label: (width, layers, heads) of the CLIP text transformer (open_clip model configs)
    "text ViT-L/14 (768 x 12)": (768, 12, 12),
    "text ViT-H/14 (1024 x 24)": (1024, 24, 16),
    "text ViT-bigG/14 (1280 x 32)": (1280, 32, 20),
}


def timed_rate(step, items_per_step: int, min_seconds: float, device: str) -> float:
    """Items/s of ``step`` after 3 warm-up calls, over at least ``min_seconds`` and 3 calls."""
    for _ in range(3):
        step()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    start, calls = time.perf_counter(), 0
    while calls < 3 or time.perf_counter() - start < min_seconds:
        step()
        calls += 1
        if calls % 4 == 0:
            sync()
    sync()
    return calls * items_per_step / (time.perf_counter() - start)


def image_rates(device: str, batch: int, names: dict[str, tuple[str, int]], min_seconds: float) -> dict[str, dict]:
    out = {}
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    for label, (name, size) in names.items():
        try:
            out[label] = image_rate(label, name, size, device, batch, dtype, min_seconds)
        except Exception as err:  # one missing architecture must not cost the other measurements
            print(f"{label}: failed ({type(err).__name__}: {err})", flush=True)
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    return out


def image_rate(label: str, name: str, size: int, device: str, batch: int, dtype, min_seconds: float) -> dict:
    import timm

    kwargs = {"img_size": size} if "vit" in name else {}
    with torch.device(device):  # parameters created on the device: a 1.8B-parameter tower initialises in seconds
        model = timm.create_model(name, pretrained=False, num_classes=0, **kwargs)
    model = model.eval().to(device, memory_format=torch.channels_last)
    x = torch.rand(batch, 3, size, size, device=device).to(memory_format=torch.channels_last)

    def step() -> None:
        with torch.inference_mode(), torch.autocast("cuda", dtype=dtype, enabled=device.startswith("cuda")):
            model(x)

    rate = timed_rate(step, batch, min_seconds, device)
    params = sum(p.numel() for p in model.parameters())
    print(f"{label:32s} {params / 1e6:8.1f}M {size:4d}px {rate:10.1f} images/s", flush=True)
    return {"timm": name, "size": size, "params_m": round(params / 1e6, 1), "images_per_s": round(rate, 1)}


def text_rates(device: str, batch: int, min_seconds: float) -> dict[str, dict]:
    from transformers import CLIPTextConfig, CLIPTextModel

    out = {}
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    for label, (width, layers, heads) in TEXT_TOWERS.items():
        config = CLIPTextConfig(
            hidden_size=width, intermediate_size=4 * width, num_hidden_layers=layers, num_attention_heads=heads,
            max_position_embeddings=77, vocab_size=49408,
        )  # fmt: skip
        with torch.device(device):
            model = CLIPTextModel(config).eval()
        tokens = torch.randint(0, 49407, (batch, 77), device=device)

        def step(model=model, tokens=tokens):
            with torch.inference_mode(), torch.autocast("cuda", dtype=dtype, enabled=device.startswith("cuda")):
                model(input_ids=tokens)

        rate = timed_rate(step, batch, min_seconds, device)
        out[label] = {"prompts_per_s": round(rate, 1), "head_1000x80_s": round(80_000 / rate, 2)}
        print(f"{label:32s} {rate:10.1f} prompts/s  (1000 classes x 80 templates: {80_000 / rate:6.1f} s)", flush=True)
        del model
    return out


def _jpegs() -> list[bytes]:
    from PIL import Image
    from skimage import data

    photos = [data.chelsea(), data.coffee(), data.astronaut(), data.rocket(), data.hubble_deep_field()]
    out = []
    for p in photos:
        buf = io.BytesIO()
        Image.fromarray(p).convert("RGB").resize((500, 375), Image.BICUBIC).save(buf, format="JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def _decode_many(args: tuple[list[bytes], int]) -> int:
    from PIL import Image

    jpegs, n = args
    done = 0
    for i in range(n):
        image = Image.open(io.BytesIO(jpegs[i % len(jpegs)])).convert("RGB")
        w, h = image.size
        scale = 224 / min(w, h)
        image = image.resize((round(w * scale), round(h * scale)), Image.BICUBIC)
        left, top = (image.width - 224) // 2, (image.height - 224) // 2
        torch.frombuffer(bytearray(image.crop((left, top, left + 224, top + 224)).tobytes()), dtype=torch.uint8)
        done += 1
    return done


def decode_rates(per_worker: int) -> dict[str, float]:
    jpegs = _jpegs()
    cores = os.cpu_count() or 1
    start = time.perf_counter()
    _decode_many((jpegs, per_worker))
    one = per_worker / (time.perf_counter() - start)
    with mp.get_context("fork").Pool(cores) as pool:
        pool.map(_decode_many, [(jpegs, 4)] * cores)  # workers started and warm
        start = time.perf_counter()
        total = sum(pool.map(_decode_many, [(jpegs, per_worker)] * cores))
        all_cores = total / (time.perf_counter() - start)
    print(f"decode+resize+crop: {one:.1f} images/s on 1 core, {all_cores:.1f} images/s on {cores} cores", flush=True)
    return {"cores": cores, "one_core": round(one, 1), "all_cores": round(all_cores, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--text-batch", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum timed seconds per model")
    parser.add_argument("--decode-images", type=int, default=200, help="images each core decodes")
    parser.add_argument("--quick", action="store_true", help="two image towers, small batches (a CPU smoke run)")
    parser.add_argument(
        "--out", default=os.path.join(os.environ["OUT"], "accelerator_throughput.json") if "OUT" in os.environ else None
    )
    args = parser.parse_args()
    towers = {k: IMAGE_TOWERS[k] for k in QUICK} if args.quick else IMAGE_TOWERS
    result = {
        "device": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor() or "cpu",
        "torch": torch.__version__,
        "batch": args.batch,
        "precision": "bf16 autocast" if args.device.startswith("cuda") else "fp32",
    }
    print(json.dumps(result), flush=True)
    result["decode"] = decode_rates(args.decode_images)
    result["image"] = image_rates(args.device, args.batch, towers, args.seconds)
    result["text"] = {} if args.quick else text_rates(args.device, args.text_batch, args.seconds)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
