"""Closed-set classification with large multimodal models (LLaVA family): the pieces the protocols share.

Modules: ``templates`` (questions, answer slots and the chat template), ``tokens`` (continuation token ids at
the prefix boundary), ``scoring`` (candidate log-likelihoods over a shared key-value cache, and from scratch),
``candidates`` (label-space candidates, a CLIP's top-k, the ImageNet-D failure category), ``matching``
(answers matched to class names and synonyms), ``keys`` (cache keys of answers and scores). The adapter is
:mod:`zeroshift.models.lmm`; the comparison with the LMM's own CLIP is :mod:`zeroshift.metrics.lmm`.

Example:
    >>> from zeroshift.lmm.templates import AnswerTemplate
    >>> AnswerTemplate.named().question
    'What is the main object in this image?'

"""
