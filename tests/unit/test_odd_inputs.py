"""Odd inputs a learner or an instructor hands the notebook-facing functions: each is refused with a message in
Korean, then English, that says what to do (never a raw error from inside torch), or is taken as meant."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torchvision

from tests.fakes import korean_first
from vgg_teach import counting, dense, env
from vgg_teach.errors import DataError, UsageError
from vgg_teach.models import build_model
from vgg_teach.training.data import ImageTensors
from vgg_teach.training.engine import fit
from vgg_teach.training.recipe import TrainConfig
from vgg_teach.training.sources import load_image_folder, load_image_folder_splits, load_jpeg_tarball


@pytest.fixture(scope="module")
def data(image_folder):
    return load_image_folder_splits(image_folder)  # 3 classes


def _tiny(classes):
    torch.manual_seed(0)
    return build_model("vgg_tiny_cifar", classes)


@pytest.mark.parametrize("call, error, korean, english", [
    (lambda tmp, data: counting.input_shape("224"), UsageError, "양의 정수로", "positive whole numbers"),
    (lambda tmp, data: counting.input_shape(0), UsageError, "양의 정수로", "positive whole numbers"),
    (lambda tmp, data: counting.count_flops(torchvision.models.vgg16(), 16), UsageError, "너무 작습니다",
     "too small for this model"),
    (lambda tmp, data: dense.crop_scores(torch.nn.Identity(), torch.zeros(1, 3, 100, 100)), UsageError,
     "조각이 들어가지 않습니다", "holds no 224×224 crop"),
    (lambda tmp, data: ImageTensors(torch.rand(4, 3, 8, 8), torch.zeros(4, dtype=torch.long), ["a", "b"]),
     DataError, "uint8(0–255)", "(images * 255).round().to(torch.uint8)"),
    (lambda tmp, data: ImageTensors(torch.zeros(4, 8, 8, 3, dtype=torch.uint8), torch.zeros(4, dtype=torch.long),
                                    ["a", "b"]), DataError, "N×3×H×W", ".permute(0, 3, 1, 2)"),
    (lambda tmp, data: load_image_folder(tmp, image_size=0), DataError, "1 이상의 정수", "at least 1"),
    (lambda tmp, data: load_jpeg_tarball((tmp / "x.tar.gz", (tmp / "x.tar.gz").write_bytes(b"no tar"))[0]),
     DataError, "tar 압축 파일로 읽을 수 없습니다", "cannot be read as a tar archive"),
    (lambda tmp, data: fit(_tiny(3), (data[0].images, data[0].labels), data[1], progress=False, log=None),
     UsageError, "ImageTensors 객체를", "must be an ImageTensors object"),
    (lambda tmp, data: fit(_tiny(2), *data, TrainConfig(epochs=1, batch_size=8), device="cpu", progress=False,
                           log=None), UsageError, "클래스 3개보다 적습니다", "num_classes=len(train_data.classes)"),
    (lambda tmp, data: fit(_tiny(3), *data, TrainConfig(epochs=1, batch_size=8), device="cpu", progress=False,
                           log=None, checkpoint=(tmp / "file", (tmp / "file").write_text("x"))[0] / "ck.pt"),
     UsageError, "파일입니다", "is a file"),
], ids=["size-text", "size-zero", "too-small", "crop-larger", "float-images", "channels-last", "image-size-0",
        "not-a-tar", "tuple-as-data", "head-too-small", "checkpoint-below-a-file"])
def test_an_odd_input_is_refused_with_what_to_do(tmp_path, data, call, error, korean, english):
    with pytest.raises(error) as caught:
        call(tmp_path, data)
    korean_first(str(caught.value), korean, english)


def test_numpy_numbers_are_taken_as_the_numbers_they_are(monkeypatch):
    assert counting.input_shape(np.int64(32)) == counting.input_shape(32.0) == (3, 32, 32)
    config = TrainConfig(lr=np.float32(0.25), epochs=np.int64(3))
    assert type(config.lr) is float and config.lr == 0.25 and type(config.epochs) is int
    monkeypatch.setenv("VGG_TEACH_SMOKE", "maybe")  # a value nobody meant: said, and taken as off
    with pytest.warns(UserWarning, match="VGG_TEACH_SMOKE='maybe'"):
        assert not env.is_smoke()
    monkeypatch.setenv("VGG_TEACH_SMOKE", "y")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert env.is_smoke()


def test_a_lock_taken_this_instant_by_a_run_that_has_not_said_who_it_is_is_not_called_another_machines(tmp_path):
    import subprocess
    import sys

    from vgg_teach.training.guards import LOCK_NAME, own_folder

    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               f"f = open({str(tmp_path / LOCK_NAME)!r}, 'a+')\n"
                               "fcntl.flock(f.fileno(), fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UsageError) as caught, own_folder(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    said = str(caught.value)
    korean_first(said, "다른 학습이 쓰고 있습니다", "being written by another training run")
    assert "another machine" not in said and "delete" not in said
