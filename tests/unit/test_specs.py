import pytest

from zeroshift.errors import SpecError
from zeroshift.registry import Registry
from zeroshift.specs import CACHE_VERSION, CallSpec, ModelSpec, RunSpec, fingerprint


def test_call_spec_canonical_sorts_keys_and_normalises_spacing():
    a = CallSpec.parse("corruption( severity=3,name='fog')")
    b = CallSpec.parse('corruption(name="fog", severity=3)')
    assert a == b
    assert a.canonical == "corruption(name='fog', severity=3)"
    assert CallSpec.parse(a.canonical) == a


def test_call_spec_bare_name_and_lists():
    assert CallSpec.parse("imagenet").canonical == "imagenet"
    spec = CallSpec.parse("x(levels=[1, 2], tag=None, on=True, eps=0.5)")
    assert spec.kwargs == {"levels": (1, 2), "tag": None, "on": True, "eps": 0.5}
    assert CallSpec.parse(spec.canonical) == spec


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("corruption(3)", "give every value with its name"),
        ("corruption(name=fog)", "must be a literal"),
        ("corruption(name='a', name='b')", "given twice"),
        ("1 + 2", "cannot parse"),
        ("corr(", "cannot parse"),
        ("x(v={'a': 1})", "values must be"),
    ],
)
def test_call_spec_errors_are_one_clear_line(text, fragment):
    with pytest.raises(SpecError) as err:
        CallSpec.parse(text)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_model_spec_parts_and_paths(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    spec = ModelSpec.parse(f"open_clip:ViT-B-32@{weights}")
    assert (spec.scheme, spec.name, spec.ref) == ("open_clip", "ViT-B-32", str(weights))
    assert spec.ref_is_path
    tag = ModelSpec.parse("open_clip:ViT-B-32@laion2b_s34b_b79k")
    assert not tag.ref_is_path
    rnd = ModelSpec.parse("random:open_clip/ViT-B-32?seed=3")
    assert rnd.option_dict == {"seed": "3"} and rnd.canonical == "random:open_clip/ViT-B-32?seed=3"
    assert ModelSpec.parse(rnd.canonical) == rnd


def test_model_spec_relative_path_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = ModelSpec.parse("open_clip:ViT-B-32@./w.pt")
    assert spec.ref == str(tmp_path / "w.pt")


@pytest.mark.parametrize("text", ["ViT-B-32", ":x", "open_clip:", "open_clip:ViT-B-32@"])
def test_model_spec_errors(text):
    with pytest.raises(SpecError):
        ModelSpec.parse(text)


def test_fingerprint_is_stable_and_sensitive():
    a = fingerprint({"model": "zoo:x", "shift": None})
    assert a == fingerprint({"shift": None, "model": "zoo:x"})
    assert a != fingerprint({"model": "zoo:y", "shift": None})
    assert len(a) == 24 and CACHE_VERSION


def test_run_spec_clean_shift_aliases():
    for clean in (None, "", "none", "clean"):
        assert RunSpec.make("zoo:x", "imagenet", clean).shift is None
    spec = RunSpec.make("zoo:x", "imagenet", "corruption(severity=1, name='fog')")
    assert spec.canonical["shift"] == "corruption(name='fog', severity=1)"


def test_registry_lazy_duplicate_and_suggestions():
    reg: Registry = Registry("thing")
    reg.register_lazy("sqrt", "math:sqrt")
    assert "sqrt" in reg and reg.get("sqrt")(9.0) == 3.0
    with pytest.raises(ValueError):
        reg.register_lazy("sqrt", "math:floor")
    reg.register("square", lambda x: x * x)
    with pytest.raises(ValueError):
        reg.register("square", lambda x: x)
    with pytest.raises(SpecError, match="did you mean 'square'"):
        reg.get("sqaure")
    with pytest.raises(SpecError, match="unknown thing 'zzz'$"):
        reg.get("zzz")
    assert reg.names() == ["sqrt", "square"]
