"""Grad-CAM saliency maps (Selvaraju et al. 2017) and their PNG overlays.

For a class ``c``, the activations ``A`` ``(K, h, w)`` of the network's Grad-CAM layer (the last
convolutional stage of a ResNet; the tokens entering a ViT's last block, as a ``grid x grid``
map) are weighed by the spatial mean of ``d logit_c / d A`` per channel; the map is the ReLU of
that weighted sum, upsampled bilinearly to the image and scaled to [0, 1] (all zeros when the
network's evidence for ``c`` is nowhere positive). With an ensemble the members' maps are
averaged. :func:`occlusion_check` is the sanity check: graying out the most salient pixels must
lower the class probability more than graying out as many random ones.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

__all__ = ["grad_cam", "occlusion_check", "overlay_png", "overlay_png_bytes"]


def _cam_one(module: nn.Module, x: Tensor, classes: Tensor) -> Tensor:
    """Maps ``(B, S, S)`` in [0, 1] for one network."""
    layer, use_input = module.cam_layer()  # type: ignore[operator]
    store: dict[str, Tensor] = {}

    def keep(t: Tensor) -> None:
        t.retain_grad()
        store["acts"] = t

    if use_input:
        handle = layer.register_forward_pre_hook(lambda _m, args: keep(args[0]))
    else:
        handle = layer.register_forward_hook(lambda _m, _i, out: keep(out))
    try:
        module.eval()
        with torch.enable_grad():
            logits = module(x)  # (B, n_classes)
            module.zero_grad(set_to_none=True)
            logits.gather(1, classes[:, None]).sum().backward()
    finally:
        handle.remove()
    acts = module.cam_maps(store["acts"])  # type: ignore[operator]  # (B, K, h, w)
    grads = module.cam_maps(store["acts"].grad)  # type: ignore[operator]
    weights = grads.mean(dim=(2, 3), keepdim=True)  # (B, K, 1, 1)
    cam = torch.relu((weights * acts).sum(dim=1, keepdim=True))  # (B, 1, h, w)
    cam = nn.functional.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
    cam = cam[:, 0]
    peak = cam.flatten(1).max(dim=1).values.clamp_min(1e-12)[:, None, None]
    return (cam / peak).detach()


def grad_cam(members: Sequence[nn.Module], x: Tensor,
             classes: Sequence[int] | np.ndarray | Tensor) -> np.ndarray:  # fmt: skip
    """Grad-CAM maps ``(B, S, S)`` in [0, 1] of normalized images ``x`` ``(B, C, S, S)`` for
    class ``classes[i]`` of image ``i``, averaged over ``members``."""
    cls = torch.as_tensor(classes, dtype=torch.long)
    x = x.detach().requires_grad_(False)
    maps = [_cam_one(m, x, cls) for m in members]
    return torch.stack(maps).mean(dim=0).cpu().numpy()


def overlay_png(image: np.ndarray, cam: np.ndarray, path: Path, *, alpha: float = 0.45,
                scale: int = 4) -> Path:  # fmt: skip
    """Write ``image`` (uint8 ``(C, S, S)``) with ``cam`` (``(S, S)`` in [0, 1]) as a jet-coloured
    overlay, enlarged ``scale`` times (nearest neighbour, so pixels stay visible), to ``path``."""
    img = _overlay(image, cam, alpha, scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def overlay_png_bytes(image: np.ndarray, cam: np.ndarray, *, alpha: float = 0.45,
                      scale: int = 4) -> bytes:  # fmt: skip
    """:func:`overlay_png` as the PNG file's bytes (for a response rather than a folder)."""
    buffer = io.BytesIO()
    _overlay(image, cam, alpha, scale).save(buffer, format="PNG")
    return buffer.getvalue()


def _overlay(image: np.ndarray, cam: np.ndarray, alpha: float, scale: int) -> Image.Image:
    from matplotlib import colormaps

    base = image.astype(np.float32) / 255.0
    rgb = np.repeat(base, 3, axis=0) if base.shape[0] == 1 else base[:3]
    rgb = rgb.transpose(1, 2, 0)  # (S, S, 3)
    heat = colormaps["jet"](np.clip(cam, 0.0, 1.0))[..., :3]
    mixed = (1.0 - alpha) * rgb + alpha * heat
    img = Image.fromarray(np.clip(mixed * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="RGB")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    return img


def occlusion_check(
    predict: Any, images: np.ndarray, cams: np.ndarray, classes: np.ndarray, *,
    fraction: float = 0.1, seed: int = 0,
) -> dict[str, float]:  # fmt: skip
    """Mean drop of the class probability when the top ``fraction`` of pixels by saliency are set
    to the image's mean, versus as many random pixels (``predict``: uint8 images -> probabilities
    ``(n, n_classes)``). A faithful map gives the larger drop."""
    rng = np.random.default_rng(seed)
    n, _c, s, _ = images.shape
    k = max(1, round(fraction * s * s))
    base = predict(images)[np.arange(n), classes]
    top = images.copy()
    rand = images.copy()
    for i in range(n):
        fill = images[i].mean(axis=(1, 2)).round().astype(np.uint8)[:, None]
        order = np.argsort(-cams[i].reshape(-1), kind="stable")[:k]
        flat = top[i].reshape(top.shape[1], -1)
        flat[:, order] = fill
        flat_r = rand[i].reshape(rand.shape[1], -1)
        flat_r[:, rng.choice(s * s, size=k, replace=False)] = fill
    drop_top = base - predict(top)[np.arange(n), classes]
    drop_rand = base - predict(rand)[np.arange(n), classes]
    return {"fraction": fraction, "drop_salient": float(drop_top.mean()),
            "drop_random": float(drop_rand.mean()), "n_images": int(n)}  # fmt: skip
