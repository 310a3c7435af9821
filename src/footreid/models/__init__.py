"""Model registry: OSNet/-AIN/-LCT (Open Model Zoo), ResNet-50, DINOv2/CLIP ViTs (LoRA), colour.

Importing this package registers every family (one import line each) and loads torch
and timm, never peft (imported when a LoRA model is built).
"""

from footreid.models import (
    colour,  # noqa: F401  (registers hsv, lab: training-free colour histograms)
    omz,  # noqa: F401  (registers omz_reid_*: Open Model Zoo's OSNet-LCT models)
    osnet,  # noqa: F401  (registers osnet_*, osnet_ain_*)
    resnet,  # noqa: F401  (registers resnet50, resnet50_fc512)
    vit,  # noqa: F401  (registers DINOv2, CLIP and tiny ViTs)
)
from footreid.models.factory import (
    create_model,
    list_models,
    load_trained,
    model_spec,
    trained_input_size,
)
from footreid.models.spec import ModelSpec, ReidModel, ReidOutput

__all__ = [
    "ModelSpec",
    "ReidModel",
    "ReidOutput",
    "create_model",
    "list_models",
    "load_trained",
    "model_spec",
    "trained_input_size",
]
