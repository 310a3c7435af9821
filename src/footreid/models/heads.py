"""ReID heads: the BNNeck of Luo et al. ("Bag of Tricks", CVPR-W 2019) and classifiers.

BNNeck: a BatchNorm1d between the pooled feature and the identity classifier. The
metric loss (triplet, centroid) sees the pre-BN feature, the softmax loss and inference
see the post-BN one; the BN bias is frozen so the embedding stays centred.
"""

from __future__ import annotations

import torch
from torch import nn

from footreid.models.spec import ReidOutput


def make_classifier(
    in_dim: int, num_classes: int, bias: bool = False, std: float = 0.001
) -> nn.Linear | None:
    """A linear identity classifier (None for ``num_classes == 0``).

    Args:
        in_dim: D of its input.
        num_classes: C identity classes.
        bias: with a bias (torchreid's OSNet has one, the BNNeck classifier has none).
        std: standard deviation of the normal weight initialisation.
    """
    if num_classes < 0:
        raise ValueError(f"num_classes must be >= 0, got {num_classes}")
    if num_classes == 0:
        return None
    layer = nn.Linear(in_dim, num_classes, bias=bias)
    nn.init.normal_(layer.weight, 0.0, std)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


class BNNeckHead(nn.Module):
    """Optional linear reduction, BNNeck, identity classifier.

    Args:
        in_dim: D of the pooled backbone feature.
        num_classes: C identity classes (0: no classifier, no logits).
        fc_dim: if > 0, a Linear(in_dim, fc_dim) reduction before the BNNeck
            (``resnet50_fc512``); the reduced vector is the metric feature.

    State-dict keys: ``fc.*`` (with ``fc_dim``), ``bnneck.*``, ``classifier.*``.
    """

    def __init__(self, in_dim: int, num_classes: int, fc_dim: int = 0) -> None:
        super().__init__()
        self.fc: nn.Linear | None = None
        if fc_dim > 0:
            self.fc = nn.Linear(in_dim, fc_dim)
            nn.init.kaiming_normal_(self.fc.weight, mode="fan_out")
            nn.init.zeros_(self.fc.bias)
        self.embed_dim = fc_dim if fc_dim > 0 else in_dim
        self.bnneck = nn.BatchNorm1d(self.embed_dim)
        nn.init.ones_(self.bnneck.weight)
        nn.init.zeros_(self.bnneck.bias)
        self.bnneck.bias.requires_grad_(False)
        self.classifier = make_classifier(self.embed_dim, num_classes)

    def forward(self, pooled: torch.Tensor) -> ReidOutput | torch.Tensor:
        """Map (N, in_dim) pooled features to a ReidOutput (train) or (N, D) embedding (eval)."""
        feature = pooled if self.fc is None else self.fc(pooled)
        embedding = self.bnneck(feature)
        if not self.training:
            return embedding
        logits = None if self.classifier is None else self.classifier(embedding)
        return ReidOutput(embedding=embedding, feature=feature, logits=logits)
