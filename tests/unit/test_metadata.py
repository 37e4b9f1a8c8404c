import pytest

from zeroshift.errors import UsageError
from zeroshift.models.base import ModelInfo
from zeroshift.models.metadata import apply_user_metadata, build_info, family_of, lookup_training


@pytest.mark.parametrize(
    "backend,key,data,size,loss,ft",
    [
        ("open_clip", "ViT-B-32@openai", "WIT-400M", 400_000_000, "contrastive", False),
        ("open_clip", "ViT-L-14@datacomp_xl_s13b_b90k", "DataComp-1B", 1_400_000_000, "contrastive", False),
        ("open_clip", "ViT-B-16-SigLIP@webli", "WebLI", 10_000_000_000, "sigmoid", False),
        (
            "open_clip",
            "coca_ViT-L-14@mscoco_finetuned_laion2b_s13b_b90k",
            "LAION-2B + MSCOCO",
            2_320_000_000,
            "contrastive",
            True,
        ),
        ("hf", "google/siglip-base-patch16-224", "WebLI", 10_000_000_000, "sigmoid", False),
        ("timm", "resnet50.a1_in1k", "ImageNet-1k", 1_281_167, "supervised", False),
        ("timm", "vit_base_patch16_224.augreg_in21k_ft_in1k", "ImageNet-21k", 14_197_122, "supervised", True),
    ],
)
def test_known_weights(backend, key, data, size, loss, ft):
    row = lookup_training(backend, key)
    assert (row["training_data"], row["data_size"], row["loss"], row["fine_tuned"]) == (data, size, loss, ft)


def test_unknown_weights_stay_unknown():
    assert lookup_training("open_clip", "ViT-B-32@/my/weights.pt") == {}
    info = build_info("ViT-B-32", "open_clip", None, 100)
    assert info.training_data is None and info.source == "unknown" and info.family == "ViT"


@pytest.mark.parametrize(
    "arch,family",
    [
        ("RN50", "ResNet"),
        ("convnext_base", "ConvNeXt"),
        ("ViT-H-14", "ViT"),
        ("efficientnet_b0", "EfficientNet"),
        ("mystery", "other"),
    ],
)
def test_families(arch, family):
    assert family_of(arch) == family


def test_user_metadata_overrides_and_validates():
    info = apply_user_metadata(
        ModelInfo("ViT-B-32"), {"training_data": "LAION-400M", "data_size": "4e8", "fine_tuned": "yes"}
    )
    assert (info.training_data, info.data_size, info.fine_tuned, info.source) == (
        "LAION-400M",
        400_000_000,
        True,
        "user",
    )
    with pytest.raises(UsageError, match="unknown field 'colour'"):
        apply_user_metadata(ModelInfo("x"), {"colour": "red"})
    with pytest.raises(UsageError, match="expected a number"):
        apply_user_metadata(ModelInfo("x"), {"data_size": "lots"})
