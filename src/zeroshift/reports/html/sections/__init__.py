"""The registry of report sections; the page builds every registered section whose measurements exist.

A new analysis adds a :class:`~zeroshift.reports.html.section.Section` subclass and one lazy entry here.

Example:
    >>> [s.name for s in ordered()][:2]
    ['accuracy', 'effective_robustness']

"""

from __future__ import annotations

from zeroshift.registry import Registry
from zeroshift.reports.html.section import Section

sections: Registry[type[Section]] = Registry("report section")
for _name, _target in {
    "accuracy": "zeroshift.reports.html.sections.accuracy:AccuracySection",
    "effective_robustness": "zeroshift.reports.html.sections.effective_robustness:EffectiveRobustnessSection",
    "corruptions": "zeroshift.reports.html.sections.corruptions:CorruptionSection",
    "corruptions3d": "zeroshift.reports.html.sections.corruptions3d:Corruption3DSection",
    "typographic": "zeroshift.reports.html.sections.typographic:TypographicSection",
    "adversarial": "zeroshift.reports.html.sections.adversarial:AdversarialSection",
    "calibration": "zeroshift.reports.html.sections.calibration:CalibrationSection",
    "ood": "zeroshift.reports.html.sections.ood:OODSection",
    "shape_bias": "zeroshift.reports.html.sections.shape_bias:ShapeBiasSection",
    "factors": "zeroshift.reports.html.sections.factors:FactorSection",
    "six_factors": "zeroshift.reports.html.sections.six_factors:SixFactorSection",
    "retrieval": "zeroshift.reports.html.sections.retrieval:RetrievalSection",
    "correspondence": "zeroshift.reports.html.sections.correspondence:CorrespondenceSection",
    "lmm": "zeroshift.reports.html.sections.lmm:LMMSection",
    "overlap": "zeroshift.reports.html.sections.overlap:OverlapSection",
}.items():
    sections.register_lazy(_name, _target)


def ordered() -> list[Section]:
    """One instance of every registered section, in page order."""
    return sorted((sections.get(n)() for n in sections.names()), key=lambda s: (s.order, s.name))


__all__ = ["Section", "ordered", "sections"]
