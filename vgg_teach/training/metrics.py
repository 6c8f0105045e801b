"""A model's predictions on a whole data set, and the numbers read off them: confusion matrix, per-class accuracy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import torch

from .augment import DeviceLoader
from .data import ImageTensors
from .engine import eval_logits
from .precision import Precision, use_channels_last

__all__ = ["Predictions", "predict", "confusion_matrix", "per_class_accuracy"]


@dataclass
class Predictions:
    """A model's predictions on a data set: ``images`` (uint8, CPU), ``labels``, ``preds``, ``probs``."""

    images: torch.Tensor
    labels: torch.Tensor
    preds: torch.Tensor
    probs: torch.Tensor
    classes: list[str]

    def __len__(self) -> int:
        return int(self.labels.numel())

    @property
    def correct(self) -> torch.Tensor:
        return self.preds == self.labels

    @property
    def accuracy(self) -> float:
        return float(self.correct.float().mean()) if len(self) else float("nan")


@torch.no_grad()
def predict(model: torch.nn.Module, data: ImageTensors, batch_size: int = 512,
            device: Union[str, torch.device, None] = None) -> Predictions:
    """Run ``model`` over every image of ``data`` (no augmentation, the data's own normalization, eval mode).

    The batches come from :class:`~.augment.DeviceLoader` and the forward pass runs under the
    engine's :class:`~.precision.Precision`, exactly as the engine's ``evaluate`` sees them.
    Runs on the model's device unless ``device`` is given. Everything returned is on the CPU.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    precision = Precision.for_device(device)
    loader = DeviceLoader(data, batch_size, device, train=False, channels_last=use_channels_last(device))
    preds, probs = [], []
    for logits, _ in eval_logits(model, loader, precision):
        p = torch.softmax(logits.float(), dim=1)
        probs.append(p.cpu())
        preds.append(p.argmax(1).cpu())
    num_classes = len(data.classes)
    return Predictions(data.images.cpu(), data.labels.cpu(),
                       torch.cat(preds) if preds else torch.empty(0, dtype=torch.int64),
                       torch.cat(probs) if probs else torch.empty(0, num_classes),
                       list(data.classes))


def confusion_matrix(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``num_classes × num_classes`` counts: row = true class, column = predicted class (int64).

    One ``bincount`` over ``true · C + predicted`` (the reference answer of the confusion-matrix exercise).
    """
    preds = torch.as_tensor(preds).flatten().long().cpu()
    labels = torch.as_tensor(labels).flatten().long().cpu()
    index = labels * num_classes + preds
    return torch.bincount(index, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """The accuracy of each true class: diagonal / row sum (NaN for a class with no images)."""
    cm = torch.as_tensor(cm).double()
    return (cm.diagonal() / cm.sum(dim=1)).float()
