"""``typographic(...)``: write a class name into the image, the typographic attack on CLIP-style models.

Default protocol of Wang et al. 2024 (RoZ, ``scripts/typographic_attack/data/build_imgNet_dataset.py``): the name
of another class, drawn 8 times in white with OpenCV's Hershey Duplex font at scale 0.8, at random positions whose
boxes do not overlap (laid out with thickness 2, drawn with thickness 1). Hershey fonts are compiled into OpenCV,
so no font file is assumed on the system. Differences from RoZ, recorded in each RunRecord: the text is drawn on
the model's input crop (RoZ drew on the full-size photo), so the font scale is given at 224 px and scaled with the
crop; any class of the label space may be written (RoZ kept single-word WordNet names); a name wider than the
image is shrunk to fit.

The parameters:
    text: which class name to write: ``random`` (another class, drawn per image from its seed), ``confusable``
        (the model's highest-scoring wrong class on the clean image, from its cached clean outputs) or
        ``correct`` (the true class: the control).
    count: how many times the name is drawn.
    size: font scale at a 224 px crop (scaled with the crop's shorter side).
    color: a colour name (white, black, red, green, blue, yellow) or an ``(r, g, b)`` tuple of 0-255 values.
    position: ``random`` (non-overlapping random boxes), or ``center``/``top``/``bottom`` (lines stacked there).
    font: a Hershey font: duplex, simplex, complex, triplex, plain, script_simplex, script_complex.
    thickness: stroke thickness at 224 px.

The written class of every sample is computed once in the main process (:meth:`Typographic.prepare`) and reaches
the ``typographic`` metric group (attack success rate, accuracy drop) through ``EvalContext.shift_params()``.

Example:
    >>> import numpy as np
    >>> img = np.zeros((224, 224, 3), dtype=np.uint8)
    >>> boxes = draw_text(img, "goldfish", rng=np.random.default_rng(0))
    >>> len(boxes), int(img.max()), bool((img[..., 0] == img[..., 1]).all())
    (8, 255, True)

"""

from __future__ import annotations

from typing import Any, ClassVar

import cv2
import numpy as np
import torch

from zeroshift.errors import SpecError, UsageError
from zeroshift.shifts.base import Shift, ShiftContext, per_image_seed
from zeroshift.shifts.pixels import from_uint8_hwc, to_uint8_hwc

FONTS = {
    "duplex": cv2.FONT_HERSHEY_DUPLEX,
    "simplex": cv2.FONT_HERSHEY_SIMPLEX,
    "complex": cv2.FONT_HERSHEY_COMPLEX,
    "triplex": cv2.FONT_HERSHEY_TRIPLEX,
    "plain": cv2.FONT_HERSHEY_PLAIN,
    "script_simplex": cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    "script_complex": cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
}
COLORS = {
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
}
TEXT_MODES = ("random", "confusable", "correct")
POSITIONS = ("random", "center", "top", "bottom")
#: attempts to find a box that does not overlap the earlier ones before accepting an overlap (RoZ loops forever)
MAX_PLACEMENT_TRIES = 100


def resolve_color(color: Any) -> tuple[int, int, int]:
    """A colour name or an ``(r, g, b)`` tuple as an RGB tuple; SpecError otherwise.

    Example:
        >>> resolve_color("white"), resolve_color((10, 20, 30))
        ((255, 255, 255), (10, 20, 30))

    """
    if isinstance(color, str) and color in COLORS:
        return COLORS[color]
    if (
        isinstance(color, tuple | list)
        and len(color) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in color)
    ):
        return (int(color[0]), int(color[1]), int(color[2]))
    raise SpecError(
        f"typographic: color must be one of {', '.join(COLORS)} or an (r, g, b) tuple of 0-255, got {color!r}"
    )


def _overlaps(x: int, y: int, width: int, height: int, boxes: list[tuple[int, int]]) -> bool:
    """Whether a corner of the box with bottom-left (x, y) falls strictly inside an earlier box (RoZ's test)."""

    def inside(px: int, py: int) -> bool:
        return any(bx < px < bx + width and by - height < py < by for bx, by in boxes)

    return inside(x, y) or inside(x + width, y) or inside(x, y - height) or inside(x + width, y - height)


def draw_text(
    image: np.ndarray,
    text: str,
    *,
    count: int = 8,
    size: float = 0.8,
    color: tuple[int, int, int] = (255, 255, 255),
    position: str = "random",
    font: str = "duplex",
    thickness: int = 1,
    rng: np.random.Generator,
) -> list[tuple[int, int]]:
    """Draw ``text`` ``count`` times into an ``(H, W, 3)`` uint8 RGB image in place; returns the text origins.

    The font scale is ``size`` at a 224 px image, scaled with the shorter side; boxes are laid out with twice the
    stroke thickness (as RoZ does) so neighbouring words stay apart.

    Example:
        >>> img = np.zeros((224, 224, 3), dtype=np.uint8)
        >>> draw_text(img, "hen", count=2, position="top", rng=np.random.default_rng(0))
        [(89, 23), (89, 48)]

    """
    height, width = image.shape[:2]
    scale = min(height, width) / 224.0
    face = FONTS[font]
    font_scale = size * scale
    stroke = max(1, round(thickness * scale))
    (tw, th), baseline = cv2.getTextSize(text, face, font_scale, 2 * stroke)
    if tw >= width - 1:  # shrink a name that would not fit
        font_scale *= (width - 2) / (tw + 1)
        (tw, th), baseline = cv2.getTextSize(text, face, font_scale, 2 * stroke)
    origins: list[tuple[int, int]] = []
    if position == "random":
        for _ in range(count):
            for _ in range(MAX_PLACEMENT_TRIES):
                x = int(rng.integers(0, width - tw)) if width - tw > 0 else 0
                y = int(rng.integers(th, height)) if height - th > 0 else height - 1
                if not _overlaps(x, y, tw, th, origins):
                    break
            origins.append((x, y))
    else:
        line = th + baseline + max(1, round(2 * scale))
        block = count * line
        top = {"top": 1, "center": (height - block) // 2, "bottom": height - block - 1}[position]
        x = max(0, (width - tw) // 2)
        origins = [(x, top + th + i * line) for i in range(count)]
    for x, y in origins:
        cv2.putText(image, text, (x, y), face, font_scale, color, stroke)
    return origins


class Typographic(Shift):
    """A class name written into the image (see the module docstring).

    Example:
        >>> from zeroshift.shifts import make_shift
        >>> shift = make_shift("typographic(text='correct', count=1)")
        >>> shift.metric_groups, sorted(shift.depends_on())
        (('typographic',), ['label_space'])

    """

    name = "typographic"
    description = "typographic attack: a (wrong or, as control, correct) class name written into the image"
    kind = "pixel"
    metric_groups = ("typographic",)
    condition_kind = "typographic"
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {"text": TEXT_MODES}
    defaults: ClassVar[dict[str, Any]] = {
        "text": "random",
        "count": 8,
        "size": 0.8,
        "color": "white",
        "position": "random",
        "font": "duplex",
        "thickness": 1,
    }

    def validate(self) -> None:  # noqa: D102
        p = self.params
        if p["text"] not in TEXT_MODES:
            raise SpecError(f"typographic: text must be one of {', '.join(TEXT_MODES)}, got {p['text']!r}")
        if isinstance(p["count"], bool) or not isinstance(p["count"], int) or not 1 <= p["count"] <= 64:
            raise SpecError(f"typographic: count must be an integer from 1 to 64, got {p['count']!r}")
        if isinstance(p["size"], bool) or not isinstance(p["size"], int | float) or not 0 < p["size"] <= 10:
            raise SpecError(f"typographic: size must be a number in (0, 10], got {p['size']!r}")
        if isinstance(p["thickness"], bool) or not isinstance(p["thickness"], int) or not 1 <= p["thickness"] <= 10:
            raise SpecError(f"typographic: thickness must be an integer from 1 to 10, got {p['thickness']!r}")
        if p["position"] not in POSITIONS:
            raise SpecError(f"typographic: position must be one of {', '.join(POSITIONS)}, got {p['position']!r}")
        if p["font"] not in FONTS:
            raise SpecError(f"typographic: font must be one of {', '.join(FONTS)}, got {p['font']!r}")
        resolve_color(p["color"])

    def depends_on(self) -> frozenset[str]:
        """The written names come from the label space; ``confusable`` also follows the model's text head."""
        return frozenset({"label_space", "head"}) if self.params["text"] == "confusable" else frozenset({"label_space"})

    def check_condition(self, benchmark: Any, dataset: Any) -> None:
        """Refuse an unlabelled set before any work (there is no class name to write)."""
        if not benchmark.labelled:
            raise UsageError(f"typographic attacks need labelled images; {benchmark.name} has no classes")

    def prepare(self, context: Any) -> list[dict[str, Any]]:
        """The class each sample gets written (label index in the run's label space) and its name."""
        ctx = context
        if not ctx.benchmark.labelled:
            raise UsageError(f"typographic attacks need labelled images; {ctx.benchmark.name} has no classes")
        space = ctx.label_space
        n_classes = len(space.class_names)
        if n_classes < 2 and self.params["text"] != "correct":
            raise UsageError("typographic: a wrong class name needs a label space of at least two classes")
        labels = np.asarray(ctx.benchmark.native_to_label(space))[ctx.dataset.targets]
        mode = self.params["text"]
        spec = self.canonical
        seed = ctx.seed

        def random_other(i: int) -> int:
            # a stream of its own (the image seed with a suffix), apart from the one that places the text
            rng = np.random.default_rng([per_image_seed(seed, spec, ctx.dataset.sample_ids[i]), 1])
            w = int(rng.integers(n_classes - 1))
            return w + int(w >= labels[i])

        if mode == "correct":
            written = [int(v) for v in labels]
        elif mode == "random":
            written = [random_other(i) for i in range(len(labels))]
        else:
            clean = ctx.clean_outputs()
            scores = clean.logits.clone()
            rows = torch.arange(len(clean))
            scores[rows, torch.as_tensor(clean.labels)] = float("-inf")
            best = dict(zip(clean.sample_ids, scores.argmax(dim=1).tolist(), strict=True))
            # samples the clean run could not read are skipped under the shift too; any name will do
            written = [best.get(sid, -1) for sid in ctx.dataset.sample_ids]
            written = [w if w >= 0 else random_other(i) for i, w in enumerate(written)]
        return [{"written": w, "text": space.class_names[w]} for w in written]

    def label(self) -> str:  # noqa: D102
        return {"random": "typographic: random wrong word", "confusable": "typographic: confusable word",
                "correct": "typographic: correct word (control)"}[self.params["text"]]  # fmt: skip

    def apply(self, pixels: torch.Tensor, ctx: ShiftContext) -> torch.Tensor:  # noqa: D102
        if "text" not in ctx.params:
            raise RuntimeError("typographic: the runner did not pass the prepared class names")
        image = to_uint8_hwc(pixels)
        p = self.params
        draw_text(
            image,
            ctx.params["text"],
            count=p["count"],
            size=float(p["size"]),
            color=resolve_color(p["color"]),
            position=p["position"],
            font=p["font"],
            thickness=p["thickness"],
            rng=np.random.default_rng(ctx.seed),
        )
        return from_uint8_hwc(image).to(pixels.dtype)

    @property
    def protocol(self) -> dict[str, Any]:  # noqa: D102
        return {
            **super().protocol,
            "reference": "Wang et al. 2024 (RoZ): wrong class name x8, white, cv2 HERSHEY_DUPLEX, scale 0.8",
            "font": f"OpenCV {cv2.__version__} Hershey {self.params['font']} (compiled into OpenCV; no system font)",
            "scale": "font scale given at 224 px, scaled with the crop's shorter side; too-wide names shrunk to fit",
            "layout": "random: non-overlapping boxes laid out with 2x stroke (RoZ), up to "
            f"{MAX_PLACEMENT_TRIES} tries each; else lines stacked at the position",
            "written_class": {
                "random": "another class of the label space, uniform, seeded per image",
                "confusable": "the model's highest-scoring wrong class on the clean image",
                "correct": "the true class (control)",
            }[self.params["text"]],
            "drawn_on": "the model's input crop (after geometry, before normalisation)",
        }
