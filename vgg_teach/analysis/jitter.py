"""Scale jittering, the paper's training-time augmentation (Simonyan & Zisserman 2014, section 3.1).

"Let S be the smallest side of an isotropically-rescaled training image, from which the ConvNet input is
cropped […] multi-scale training, where each training image is individually rescaled by randomly sampling
S from a certain range [S_min, S_max] (we used S_min = 256 and S_max = 512)." A random 224×224 crop of
the rescaled image is the network's input: at S = 256 it covers most of the short side, at S = 512 less
than half of it, so one object is seen at many sizes.

:class:`ScaleJitter` does exactly that to a PIL image or a ``(C, H, W)`` tensor, with its own seeded
generator, and :meth:`ScaleJitter.sample` also says which part of the original image each crop shows.
(The paper also flips the crops and shifts their colors; those are left out here.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..errors import UsageError, bilingual

__all__ = ["ScaleJitter", "JitterSample", "image_size"]


def image_size(image: Any) -> tuple[int, int]:
    """``(H, W)`` of a PIL image or a ``(…, H, W)`` tensor."""
    if isinstance(image, torch.Tensor):
        return int(image.shape[-2]), int(image.shape[-1])
    width, height = image.size
    return int(height), int(width)


@dataclass(frozen=True)
class JitterSample:
    """One draw of :class:`ScaleJitter`: the crop, the scale ``S`` and where the crop lies.

    ``box`` is ``(top, left, height, width)`` in the rescaled image; ``box_in_original`` the same
    window in the original image's pixels (floats).
    """

    image: Any
    scale: int
    resized_size: tuple[int, int]
    box: tuple[int, int, int, int]
    box_in_original: tuple[float, float, float, float]


class ScaleJitter:
    """Rescale so that the shorter side is ``S ~ U{s_min, …, s_max}``, then take a random ``crop × crop`` window.

    ``ScaleJitter()(image)`` returns the crop (same type as the input: PIL image or tensor); with
    ``s_min == s_max`` it is single-scale training at that ``S``. ``seed`` makes the draws repeatable.
    """

    def __init__(self, s_min: int = 256, s_max: int = 512, crop: int = 224, seed: int | None = None) -> None:
        if not crop <= s_min <= s_max:
            raise UsageError(bilingual(
                f"crop ≤ s_min ≤ s_max 이어야 합니다 (받은 값: crop={crop}, s_min={s_min}, s_max={s_max}): "
                "잘라 낼 창보다 짧은 변이 작으면 자를 수 없습니다.",
                f"Need crop ≤ s_min ≤ s_max (got crop={crop}, s_min={s_min}, s_max={s_max}): the shorter side "
                "cannot be smaller than the crop."))
        self.s_min, self.s_max, self.crop = int(s_min), int(s_max), int(crop)
        self.generator = torch.Generator()
        self.generator.manual_seed(seed if seed is not None else int(torch.initial_seed()) % 2**63)

    def __repr__(self) -> str:
        return f"ScaleJitter(s_min={self.s_min}, s_max={self.s_max}, crop={self.crop})"

    def _randint(self, low: int, high: int) -> int:
        """A uniform integer in ``[low, high]`` (both included)."""
        return int(torch.randint(low, high + 1, (1,), generator=self.generator))

    def sample(self, image: Any) -> JitterSample:
        """One random scale and crop of ``image``, with where the crop lies in the original."""
        from torchvision.transforms import functional as TF

        h, w = image_size(image)
        scale = self._randint(self.s_min, self.s_max)
        resized = TF.resize(image, scale, antialias=True)
        rh, rw = image_size(resized)
        top, left = self._randint(0, rh - self.crop), self._randint(0, rw - self.crop)
        out = TF.crop(resized, top, left, self.crop, self.crop)
        fy, fx = h / rh, w / rw
        return JitterSample(out, scale, (rh, rw), (top, left, self.crop, self.crop),
                            (top * fy, left * fx, self.crop * fy, self.crop * fx))

    def __call__(self, image: Any) -> Any:
        return self.sample(image).image
