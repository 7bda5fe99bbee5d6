"""Image-aware smoothness on the predictions, for training on sparse scribbles (a local CRF-style loss).

Scribbles label a few per cent of the pixels and the cross-entropy says nothing about the rest. This term
asks neighbouring pixels that look alike to take the same class: for pixel pairs (i, j) a few offsets
apart, sum_k p_ik (1 - p_jk) (the relaxed Potts energy of Tang et al. 2018, "On regularized losses for
weakly-supervised CNN segmentation"), weighted by exp(-|I_i - I_j|^2 / 2 sigma^2) of the network's input,
so a label spreads through a cell's similar-looking interior and stops at an edge. sigma is
`smoothness_sigma` times each patch's own intensity spread, so it means the same on any image's scale.
The pairs reach up to 8 px in four directions, so a label reaches pixels the strokes never touched.
"""

from __future__ import annotations

import torch

DISTANCES = (1, 2, 4, 8)
DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))


def _pairs(tensor: torch.Tensor, dy: int, dx: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The two overlapping views of `tensor` (..., H, W) whose pixels lie (dy, dx) apart."""
    height, width = tensor.shape[-2:]
    y0, y1 = (0, height - dy) if dy >= 0 else (-dy, height)
    x0, x1 = (0, width - dx) if dx >= 0 else (-dx, width)
    first = tensor[..., y0:y1, x0:x1]
    second = tensor[..., y0 + dy:y1 + dy, x0 + dx:x1 + dx]
    return first, second


def smoothness_loss(logits: torch.Tensor, images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Mean over the pixel pairs of affinity x sum_k p_ik (1 - p_jk) for 2-D `logits` (N, K, H, W) and the
    network input `images` (N, C, H, W); 0 for a batch of constant patches' perfect agreement."""
    with torch.autocast(device_type=logits.device.type, enabled=False):
        probs = torch.softmax(logits.float(), dim=1)
        images = images.float()
        spread = images.flatten(1).std(dim=1).clamp(min=1e-6).view(-1, 1, 1)
        total, count = probs.new_zeros(()), 0
        for distance in DISTANCES:
            for uy, ux in DIRECTIONS:
                dy, dx = uy * distance, ux * distance
                p, q = _pairs(probs, dy, dx)
                a, b = _pairs(images, dy, dx)
                difference = ((a - b) ** 2).mean(dim=1) / spread**2
                affinity = torch.exp(-difference / (2.0 * sigma**2))
                disagreement = (p * (1.0 - q)).sum(dim=1)
                total = total + (affinity * disagreement).sum()
                count += affinity.numel()
        return total / max(1, count)


def smoothness_term(logits, images: torch.Tensor, targets: torch.Tensor, weight: float,
                    sigma: float) -> torch.Tensor | float:
    """`weight` x smoothness_loss of the final output, or 0.0 (nothing computed) when the weight is 0, no
    pixel of the batch is unlabelled (dense labels) or the patches are not 2-D."""
    final = logits[-1] if isinstance(logits, (list, tuple)) else logits
    if weight <= 0 or final.ndim != 4 or not bool((targets < 0).any()):
        return 0.0
    return weight * smoothness_loss(final, images, sigma)
