"""vgg_teach.training.reference_results: the expected-results table of lessons 04 and 05 — ImageNet figures read
from torchvision's weights.meta, published CIFAR-10 figures each with a source pinned to a commit."""

from __future__ import annotations

import re

from torchvision.models import VGG16_BN_Weights

from vgg_teach.training.plan import OUR_MEASUREMENTS, PUBLISHED_CIFAR10, expected_results, imagenet_result


def test_the_imagenet_row_is_read_from_the_weights_meta():
    metrics = VGG16_BN_Weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]
    row = imagenet_result()
    assert row.value == f"{metrics['acc@1']}% / {metrics['acc@5']}%" and "73.36" in row.value
    assert row.link == VGG16_BN_Weights.IMAGENET1K_V1.meta["recipe"]


def test_every_published_figure_names_its_source_at_a_fixed_commit():
    assert PUBLISHED_CIFAR10
    for row in PUBLISHED_CIFAR10:
        assert re.fullmatch(r"\d{2}\.\d{2}%", row.value), row
        assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/blob/[0-9a-f]{40}/README\.md", row.link), row
        assert row.source in row.link and " / " in row.what


def test_lesson_04_shows_imagenet_only_and_lesson_05_everything():
    lesson04 = expected_results(["imagenet"])
    lesson05 = expected_results()
    assert len(lesson04) == 1 and lesson04[0] == imagenet_result()
    assert lesson05[:1 + len(PUBLISHED_CIFAR10)] == [imagenet_result(), *PUBLISHED_CIFAR10]
    ours = lesson05[1 + len(PUBLISHED_CIFAR10):]
    assert ours == list(OUR_MEASUREMENTS) or (len(ours) == 1 and "not measured yet" in ours[0].value)


def test_the_table_says_it_is_not_the_notebooks_output():
    table = expected_results()
    text, html = table.to_text(), table._repr_html_()
    assert "Expected results" in text and "기대 결과" in text and "not this notebook's stored outputs" in text
    assert "94.16%" in text and "chenyaofo/pytorch-cifar-models" in html
