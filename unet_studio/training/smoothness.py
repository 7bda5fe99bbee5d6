"""Image-aware smoothness on the predictions, for training on sparse scribbles (a local CRF-style loss).

Scribbles label a few per cent of the pixels and the cross-entropy says nothing about the rest. This term
asks neighbouring pixels that look alike to take the same class: for pixel pairs (i, j) a few offsets
apart, sum_k p_ik (1 - p_jk) (the relaxed Potts energy of Tang et al. 2018, "On regularized losses for
weakly-supervised CNN segmentation"), weighted by exp(-|I_i - I_j|^2 / 2 sigma^2) of the network's input,
so a label spreads through a cell's similar-looking interior and stops at an edge. The likeness is read on
the input smoothed by a Gaussian of `smoothness_blur` px, so the shot noise of a region (EM's grain) does not
look like edges inside it. sigma is `smoothness_sigma` times each patch's own intensity spread (of the
smoothed patch), so it means the same on any image's scale.
The pairs reach up to 8 px in four directions, so a label reaches pixels the strokes never touched.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from unet_studio.data.sampling import TrainItem
from unet_studio.training.validation import is_sparse

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


def smoothness_loss(logits: torch.Tensor, images: torch.Tensor, sigma: float, blur: float = 0.0) -> torch.Tensor:
    """Mean over the pixel pairs of affinity x sum_k p_ik (1 - p_jk) for 2-D `logits` (N, K, H, W) and the
    network input `images` (N, C, H, W), its affinities read on the input smoothed by a Gaussian of `blur` px
    (0: as it is); about 0 where the classes follow the image's edges."""
    with torch.autocast(device_type=logits.device.type, enabled=False):
        probs = torch.softmax(logits.float(), dim=1).contiguous()
        affinities = _affinities(images.float(), sigma, blur)
        count = sum(affinity.numel() for _, affinity in affinities)
        if probs.shape[1] == 2:
            # sum_k p_k (1 - q_k) = p1 + q1 - 2 p1 q1: the linear part is one weighted sum (each pixel's weight
            # summed over the pairs it is in), the products are left per offset
            foreground = probs[:, 1]
            linear = (_pair_weight_per_pixel(affinities, foreground.shape) * foreground).sum()
            products = sum((p * q * affinity).sum() for p, q, affinity in _views(foreground, affinities))
            return (linear - 2.0 * products) / max(1, count)
        agreement = sum(((p * q).sum(dim=1) * affinity).sum() for p, q, affinity in _views(probs, affinities))
        total_affinity = sum(float(affinity.sum()) for _, affinity in affinities)
        return (total_affinity - agreement) / max(1, count)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """`images` (N, C, H, W) smoothed channel by channel by a separable Gaussian of `sigma` px (edges
    reflected); the images themselves when sigma is 0. Written here on torch's conv2d, on the training device,
    because torchvision (which has one) is not a dependency; scipy's works on numpy arrays only."""
    if sigma <= 0:
        return images
    radius = max(1, int(3 * sigma + 0.5))
    offsets = torch.arange(-radius, radius + 1, device=images.device, dtype=images.dtype)
    kernel = torch.exp(-offsets.square() / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels, (height, width) = images.shape[1], images.shape[-2:]
    flat = images.reshape(-1, 1, height, width)
    flat = F.pad(flat, (radius, radius, 0, 0), mode="reflect" if width > radius else "replicate")
    flat = F.conv2d(flat, kernel.view(1, 1, 1, -1))
    flat = F.pad(flat, (0, 0, radius, radius), mode="reflect" if height > radius else "replicate")
    flat = F.conv2d(flat, kernel.view(1, 1, -1, 1))
    return flat.reshape(images.shape[0], channels, height, width)


def _views(tensor: torch.Tensor, affinities):
    """(first, second, affinity) for each offset: the views of `tensor` whose pixels lie that far apart."""
    return [(*_pairs(tensor, dy, dx), affinity) for (dy, dx), affinity in affinities]


def _pair_weight_per_pixel(affinities, shape) -> torch.Tensor:
    """(N, H, W): the sum of the affinities of every pair a pixel is in (as its first or its second)."""
    weight = torch.zeros(shape, device=affinities[0][1].device)
    for (dy, dx), affinity in affinities:
        first, second = _pairs(weight, dy, dx)
        first += affinity
        second += affinity
    return weight


def _affinities(images: torch.Tensor, sigma: float, blur: float = 0.0) -> list[tuple[tuple[int, int], torch.Tensor]]:
    """[((dy, dx), exp(-|I_i - I_j|^2 / 2 (sigma x spread)^2))] for every offset, I the images smoothed by a
    Gaussian of `blur` px, without a gradient (a list, not a generator: a generator would hold no_grad over its
    caller's loop between its items)."""
    pairs = []
    with torch.no_grad():
        images = gaussian_blur(images, blur)
        spread = images.flatten(1).std(dim=1).clamp(min=1e-6).view(-1, 1, 1)
        scale = 1.0 / (2.0 * sigma**2 * spread**2)
        for distance in DISTANCES:
            for uy, ux in DIRECTIONS:
                dy, dx = uy * distance, ux * distance
                a, b = _pairs(images, dy, dx)
                difference = (a - b).square_()
                difference = difference[:, 0] if difference.shape[1] == 1 else difference.mean(dim=1)
                pairs.append(((dy, dx), difference.mul_(-scale).exp_()))
    return pairs


def labels_are_sparse(items: Sequence) -> bool:
    """Whether the term applies to a run on `items`: scribbles (training/validation.is_sparse), or regions
    labelled in big images (lazy items). Dense masks never get it, though augmentation's warps leave
    unlabelled pixels at their patches' edges."""
    plain = [item for item in items if isinstance(item, TrainItem)]
    return len(plain) < len(items) or is_sparse(plain)


def smoothness_term(logits, images: torch.Tensor, targets: torch.Tensor, weight: float,
                    sigma: float, blur: float = 0.0) -> torch.Tensor | float:
    """`weight` x smoothness_loss of the final output, or 0.0 (nothing computed) when the weight is 0, no
    pixel of the batch is unlabelled or the patches are not 2-D. The Trainer gives weight 0 to dense labels."""
    final = logits[-1] if isinstance(logits, (list, tuple)) else logits
    if weight <= 0 or final.ndim != 4 or not bool((targets < 0).any()):
        return 0.0
    return weight * smoothness_loss(final, images, sigma, blur)
