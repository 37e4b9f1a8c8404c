"""Benchmarks: the registry of dataset readers, each reading a published folder layout under a data root.

Example:
    >>> "imagenet_r" in benchmarks and "imagenet_c" in benchmarks
    True
    >>> make_benchmark("imagenet_c(corruption='fog', severity=3)", "/data").canonical
    "imagenet_c(corruption='fog', severity=3)"
    >>> make_benchmark("factorworld(n=8)", None).dataset().classes[:2]
    ['circle', 'square']

"""

from __future__ import annotations

from pathlib import Path

from zeroshift.data.base import Benchmark, Dataset, LabelSpace
from zeroshift.registry import Registry
from zeroshift.specs import CallSpec

benchmarks: Registry[type[Benchmark]] = Registry("benchmark")

for _name, _target in {
    "imagenet": "zeroshift.data.imagenet:ImageNetVal",
    "imagenet_v2": "zeroshift.data.imagenet:ImageNetV2",
    "imagenet_sketch": "zeroshift.data.imagenet:ImageNetSketch",
    "imagenet_r": "zeroshift.data.imagenet:ImageNetR",
    "imagenet_a": "zeroshift.data.imagenet:ImageNetA",
    "imagenet_c": "zeroshift.data.imagenet:ImageNetC",
    "imagenet_3dcc": "zeroshift.data.imagenet_3dcc:ImageNet3DCC",
    "objectnet": "zeroshift.data.objectnet:ObjectNet",
    "imagenet_d": "zeroshift.data.imagenet_d:ImageNetD",
    "factorworld": "zeroshift.data.factorworld.benchmarks:FactorWorldTest",
    "factorworld_sketch": "zeroshift.data.factorworld.benchmarks:FactorWorldSketch",
    "factorworld_rendition": "zeroshift.data.factorworld.benchmarks:FactorWorldRendition",
    "factorworld_backgrounds": "zeroshift.data.factorworld.benchmarks:FactorWorldBackgrounds",
    "factorworld_combos": "zeroshift.data.factorworld.benchmarks:FactorWorldCombos",
    "factorworld_factors": "zeroshift.data.factorworld.benchmarks:FactorWorldFactors",
    "factorworld_cue_conflict": "zeroshift.data.factorworld.benchmarks:FactorWorldCueConflict",
    "factorworld_typographic": "zeroshift.data.factorworld.benchmarks:FactorWorldTypographic",
    "factorworld_ood": "zeroshift.data.factorworld.benchmarks:FactorWorldOOD",
    "factorworld_leaked": "zeroshift.data.factorworld.leaked:FactorWorldLeaked",
    "corpus": "zeroshift.overlap.benchmark:CorpusBenchmark",
    "imagenet_o": "zeroshift.data.ood:ImageNetO",
    "inaturalist_ood": "zeroshift.data.ood:INaturalistOOD",
    "sun_ood": "zeroshift.data.ood:SUNOOD",
    "places_ood": "zeroshift.data.ood:PlacesOOD",
    "textures_ood": "zeroshift.data.ood:TexturesOOD",
    "ood_folder": "zeroshift.data.ood:OODFolder",
    "cue_conflict": "zeroshift.data.cue_conflict:CueConflict",
    "edges": "zeroshift.data.cue_conflict:Edges",
    "silhouettes": "zeroshift.data.cue_conflict:Silhouettes",
    "mscoco_retrieval": "zeroshift.data.retrieval:MSCOCORetrieval",
    "flickr30k_retrieval": "zeroshift.data.retrieval:FlickrRetrieval",
    "captions_folder": "zeroshift.data.retrieval:CaptionsFolder",
    "factorworld_retrieval": "zeroshift.data.factorworld.retrieval:FactorWorldRetrieval",
    "spair": "zeroshift.data.spair:SPair",
    "homography_pairs": "zeroshift.data.homography:HomographyPairs",
    "factorworld_pairs": "zeroshift.data.factorworld.pairs:FactorWorldPairs",
}.items():
    benchmarks.register_lazy(_name, _target)


def make_benchmark(spec: str | CallSpec, data_root: str | Path | None) -> Benchmark:
    """Build the benchmark a spec names, with its parameters checked.

    The label space is not a benchmark parameter: it is a field of the run (``--label-space``).
    """
    call = CallSpec.parse(spec)
    return benchmarks.get(call.name)(data_root, **call.kwargs)


__all__ = ["Benchmark", "Dataset", "LabelSpace", "benchmarks", "make_benchmark"]
