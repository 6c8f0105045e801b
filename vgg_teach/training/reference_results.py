"""What a real run gives: published accuracies (each with its source) and our own measured figure once it exists.

Lessons 04 and 05 store outputs made in smoke mode or on a stand-in (random weights, fake data), so a learner
needs to know what to aim for. :func:`expected_results` is that table, from one place: the ImageNet figures are
read from torchvision's own ``weights.meta`` (nothing is downloaded), the CIFAR-10 figures are quoted from the
sources named with them (a README at a fixed commit), and :data:`OUR_MEASUREMENTS` holds the course's own figures —
none yet, because no GPU has been lent to this course's maintainers. Fill it in from ``benchmarks/`` when one has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..show.tables import Table

__all__ = ["Result", "PUBLISHED_CIFAR10", "OUR_MEASUREMENTS", "expected_results", "imagenet_result"]


@dataclass(frozen=True)
class Result:
    """One expected figure: what was measured, the value, under which setup, and where it comes from."""

    what: str      #: "ko / en"
    value: str     #: e.g. "94.16%", or why there is none
    setup: str     #: the model and recipe, in short
    source: str    #: who published it
    link: str      #: where (a README at a fixed commit, a documentation page), "" for none


_CHENYAOFO = "https://github.com/chenyaofo/pytorch-cifar-models/blob/d1c8e99b911da7d412979600c84d2a4fe3728473/README.md"
_KUANGLIU = "https://github.com/kuangliu/pytorch-cifar/blob/00166a387119c7b6e8e9ded86d02ac0a3df62b21/README.md"
_HUYVNPHAN = "https://github.com/huyvnphan/PyTorch_CIFAR10/blob/038caf6b35645b2fcd4e74202ca5a89d82ce98f9/README.md"

#: CIFAR-10 test accuracies of VGG16 with batch norm trained from scratch, as their authors' READMEs give them.
PUBLISHED_CIFAR10: tuple[Result, ...] = (
    Result("CIFAR-10 시험 정확도(처음부터) / test accuracy (from scratch)", "94.16%",
           "vgg16_bn, 15.25 M params (512-wide classifier, like vgg16_bn_cifar); SGD lr 0.1, 200 epochs, batch 256",
           "chenyaofo/pytorch-cifar-models", _CHENYAOFO),
    Result("CIFAR-10 검증 정확도(처음부터) / validation accuracy (from scratch)", "94.00%",
           "vgg16_bn, 33.6 M params (torchvision's layout adapted to 32×32)", "huyvnphan/PyTorch_CIFAR10", _HUYVNPHAN),
    Result("CIFAR-10 시험 정확도(처음부터) / test accuracy (from scratch)", "92.64%",
           "VGG16 with batch norm, one linear layer (512 → 10); lr 0.1 → 0.01 → 0.001 over 350 epochs",
           "kuangliu/pytorch-cifar", _KUANGLIU),
)

#: The course's own figures (lesson 05's recipe, on a named GPU, median of runs); empty until measured.
OUR_MEASUREMENTS: tuple[Result, ...] = ()

_NOT_YET = Result("이 강좌의 실행(레슨 05의 세 실험) / this course's own run (lesson 05's three experiments)",
                  "아직 재지 않음 / not measured yet",
                  "처음부터 30 에포크, 머리만 2, 미세 조정 5 / 30 epochs from scratch, head 2, fine-tuning 5",
                  "이 강좌의 관리자에게 아직 GPU가 없었습니다 / no GPU has been lent to this course's maintainers", "")


def imagenet_result() -> Result:
    """ImageNet top-1 / top-5 of torchvision's VGG16-BN weights, read from ``weights.meta`` (no download)."""
    from torchvision.models import VGG16_BN_Weights

    meta = VGG16_BN_Weights.IMAGENET1K_V1.meta
    metrics = meta["_metrics"]["ImageNet-1K"]
    return Result("ImageNet 검증 정확도 top-1 / top-5 / validation accuracy",
                  f"{metrics['acc@1']}% / {metrics['acc@5']}%",
                  "VGG16_BN_Weights.IMAGENET1K_V1, 224×224, weights.transforms()", "torchvision (weights.meta)",
                  meta["recipe"])


def expected_results(parts: Sequence[str] = ("imagenet", "cifar10")) -> Table:
    """The table a lesson shows: ``"imagenet"`` (lessons 04 and 05) and ``"cifar10"`` (lesson 05) rows.

    With ``"cifar10"`` the course's own measurement follows (or a row saying it has not been made yet).
    """
    rows = ([imagenet_result()] if "imagenet" in parts else []) + (list(PUBLISHED_CIFAR10) if "cifar10" in parts
                                                                   else [])
    if "cifar10" in parts:
        rows += list(OUR_MEASUREMENTS) or [_NOT_YET]
    return Table(rows, columns=[
        ("결과 / result", lambda r: r.what, False),
        ("값 / value", lambda r: r.value, True),
        ("조건 / setup", lambda r: r.setup, False),
        ("출처 / source", lambda r: f"{r.source} {r.link}".strip(), False),
    ], title="기대 결과: 실제 실행에서 나오는 값 (이 노트북의 저장된 출력이 아님) / "
             "Expected results: what a real run gives (not this notebook's stored outputs)",
        notes=["공개된 값은 각 출처의 README를 그대로 옮겼습니다(레시피가 이 강좌와 다릅니다). / Published figures are "
               "quoted from each source's README (their recipes differ from this course's)."])
