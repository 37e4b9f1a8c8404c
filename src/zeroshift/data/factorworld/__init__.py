"""FactorWorld: a procedurally generated world of captioned shapes whose visual factors are known exactly.

Modules: ``world`` (the label data in ``_info/world.yaml``), ``shapes``, ``patterns``, ``photos`` (backgrounds
from scikit-image's bundled photos), ``sampler`` (seeded sample parameters per split), ``render`` (parameters
-> image), ``captions`` (varied captions and their vocabulary), ``benchmarks`` (the registered benchmarks).

Example:
    >>> from zeroshift.data import make_benchmark
    >>> make_benchmark("factorworld_sketch(n=8)", None).dataset().meta["style"][:2]
    ['sketch', 'sketch']

"""
