from __future__ import annotations

from collections.abc import Sequence

from .. import nn
from ..tensor import Tensor


class MLP(nn.Module):
    """Seed 001's multi-layer perceptron: Linear + tanh hidden layers, a linear output.

    The output is logits; softmax + cross-entropy is fused in `nn.functional.cross_entropy`.
    Weights use Xavier (Glorot) uniform init, biases zero, as the spec prescribes for tanh.
    """

    def __init__(
        self, in_features: int, hidden: Sequence[int], num_classes: int, activation: type = nn.Tanh
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        sizes = [in_features, *hidden]
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), activation()]
        layers.append(nn.Linear(sizes[-1], num_classes))
        self.net = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
