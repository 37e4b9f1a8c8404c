"""The zoo: zeroshift's own small CLIP-style and supervised models, trained on FactorWorld and shipped as
safetensors in ``weights/`` (loaded by the ``zoo:`` adapter, :mod:`zeroshift.models.zoo`).

Modules: ``nets`` (architectures and losses), ``tokenizer`` (word-level, over the caption vocabulary),
``train`` (``zeroshift zoo train``), ``recipes.yaml`` (how each model is trained).

Example:
    >>> from zeroshift.zoo.train import recipe_names
    >>> "clip-cnn-diverse" in recipe_names() and "sup-cnn-base" in recipe_names()
    True

"""
