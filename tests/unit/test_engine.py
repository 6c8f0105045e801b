"""vgg_teach.training.engine as lesson 05 meets it: ``fit`` learns and reports, resumes exactly, loads a finished run
and replaces it only when asked, runs the learner's own step and evaluation with mixed precision added around them,
and stops with a bilingual message when training diverges (that epoch never saved) or memory runs out. Checkpoint
files and the recipe. (The CLI's view: test_train_cli.py.)"""

from __future__ import annotations

import copy
import json
import pickle
import random
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from tests.fakes import korean_first
from vgg_teach.answers import train_one_epoch, train_step
from vgg_teach.errors import CheckpointError, DivergenceError, OutOfMemoryError, UsageError
from vgg_teach.models import build_model
from vgg_teach.training import engine
from vgg_teach.training.checkpoint import atomic_save, atomic_write_json, load_state, rng_state, set_rng_state
from vgg_teach.training.engine import StepHands, fit
from vgg_teach.training.recipe import Precision, TrainConfig, amp_dtype, lr_factor
from vgg_teach.training.sources import load_image_folder_splits

CPU = torch.device("cpu")
TIMING = {"seconds", "eval_seconds", "images_per_second", "images_per_second_per_rank"}


@pytest.fixture(scope="module")
def data(image_folder):
    return load_image_folder_splits(image_folder)  # 3 classes × 16 train / 4 test


def _fit(data, epochs=1, model=None, **kw):
    torch.manual_seed(0)
    model = model if model is not None else build_model("vgg_tiny_cifar", 3)
    config = TrainConfig(epochs=epochs, batch_size=8, lr=kw.pop("lr", 0.2), tta=kw.pop("tta", False),
                         precision=kw.pop("precision", "auto"), channels_last=kw.pop("channels_last", None))
    return fit(model, *data, config, device=CPU, progress=False, log=kw.pop("log", None), **kw), model


def _untimed(history):
    return [{k: v for k, v in r.items() if k not in TIMING} for r in history]


def test_fit_learns_and_reports(data):
    result, _ = _fit(data, epochs=8, tta=True, lr=0.05)  # lr 0.05 learns from every seed tried
    history = result["history"]
    assert [r["epoch"] for r in history] == list(range(1, 9)) and result["epochs"] == 8
    assert set(history[0]) == {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds",
                               "images_per_second", "eval_seconds"}
    assert history[-1]["train_loss"] < history[0]["train_loss"] and result["test_accuracy"] >= 0.6  # chance: 1/3
    assert 0 <= result["test_accuracy_tta"] <= 1 and result["precision"] == "fp32" and result["world_size"] == 1
    assert result["images_per_second"] == pytest.approx(8 * 48 / result["train_seconds"])
    assert len(result["images_per_second_per_rank"]) == 1 and result["resumes"] == []


def test_a_notebook_state_left_by_an_earlier_cell_does_not_stop_training(data):
    want = _untimed(_fit(data)[0]["history"])
    for state in (torch.no_grad(), torch.inference_mode(), torch.device("meta")):
        torch.manual_seed(0)
        model = build_model("vgg_tiny_cifar", 3)  # built in the earlier cell
        with state:
            assert _untimed(_fit(data, model=model)[0]["history"]) == want, state


def test_an_interrupted_run_resumes_exactly(data, tmp_path):
    straight, straight_model = _fit(data, epochs=3, checkpoint=tmp_path / "a.pt")

    def disconnect(record):
        if record["epoch"] == 1:
            raise KeyboardInterrupt

    said = []
    with pytest.raises(KeyboardInterrupt):  # resume=True without a checkpoint: a new run, and it says so
        _fit(data, epochs=3, checkpoint=tmp_path / "b.pt", resume=True, callbacks=[disconnect], log=said.append)
    assert "starting a new run" in said[0] and "The checkpoint up to epoch 1 is at" in said[-1]
    resumed, resumed_model = _fit(data, epochs=3, checkpoint=tmp_path / "b.pt", resume=True, log=said.append)
    assert any("epochs up to 1 are done" in line for line in said)
    assert _untimed(resumed["history"]) == _untimed(straight["history"])  # dropout, shuffling, schedule: the same
    for (name, a), b in zip(straight_model.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), name
    assert resumed["resumes"] == [{"after_epoch": 1, "changed": {}}] == load_state(tmp_path / "b.pt").resumes
    with pytest.raises(UsageError):
        _fit(data, checkpoint=tmp_path / "b.pt", resume=True, overwrite=True)


def test_a_finished_run_is_loaded_kept_or_overwritten(data, tmp_path, monkeypatch):
    """Lesson 05 run again top to bottom: each experiment's finished checkpoint is loaded, not trained again."""
    said: list[str] = []
    first, _ = _fit(data, epochs=2, checkpoint=tmp_path / "run.pt", log=said.append)
    trained = said[-2:]  # one line per epoch
    monkeypatch.setattr(engine, "train_one_epoch", lambda *a, **k: pytest.fail("trained a finished run"))
    model = build_model("vgg_tiny_cifar", 3)
    said.clear()
    again, _ = _fit(data, epochs=2, checkpoint=tmp_path / "run.pt", resume=True, model=model, log=said.append)
    assert again["history"] == first["history"] and again["resumes"] == []
    assert said[-2:] == trained and "A finished run, loaded" in said[-3]  # what it measured when it trained
    saved = load_state(tmp_path / "run.pt").model
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())
    with pytest.raises(CheckpointError, match="overwrite"):  # neither resume nor overwrite: the run is kept
        _fit(data, checkpoint=tmp_path / "run.pt")
    said.clear()  # the learner's step passes its check now: the finished run was trained by the engine's own

    def my_step(model, images, labels, optimizer, loss_fn):
        return train_step(model, images, labels, optimizer, loss_fn)

    _fit(data, epochs=2, checkpoint=tmp_path / "run.pt", resume=True, step=my_step, log=said.append)
    note = next(line for line in said if "other code" in line)
    korean_first(note, "다른 코드로 학습했습니다", "step vgg_teach.answers.train_step → ")
    assert "my_step" in note and "overwrite=True" in note
    monkeypatch.undo()
    assert _fit(data, checkpoint=tmp_path / "run.pt", overwrite=True)[0]["epochs"] == 1


class _Poisoned(nn.Module):
    """The tiny model, turning NaN in epoch 2 (6 steps an epoch): its loss at step 3, a batch-norm statistic in its
    last training step (the training loss stays finite), or its output at test time."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.inner, self.where, self.steps = build_model("vgg_tiny_cifar", 3), where, 0

    def forward(self, x):
        if not self.training:
            return self.inner(x) * (float("nan") if self.where == "test" and self.steps > 6 else 1)
        self.steps += 1
        if self.where == "weights" and self.steps == 12:
            next(m for m in self.modules() if isinstance(m, nn.BatchNorm2d)).running_mean.fill_(float("nan"))
        return self.inner(x) * (float("nan") if self.where == "loss" and self.steps == 9 else 1)


@pytest.mark.parametrize("where, korean, english", [
    ("loss", "에포크 2의 3번째 스텝", "epoch 2, step 3"),
    ("weights", "가중치(weight)에 NaN", "after epoch 2 the weights became NaN"),
    ("test", "시험 손실(test loss)에 NaN", "after epoch 2 the test loss became NaN"),
])
def test_divergence_stops_the_run_and_the_epoch_is_not_saved(data, tmp_path, where, korean, english):
    with pytest.raises(DivergenceError) as err:
        _fit(data, epochs=3, model=_Poisoned(where), checkpoint=tmp_path / "run.pt")
    korean_first(str(err.value), korean, english)
    assert "Lower the learning rate" in str(err.value) and load_state(tmp_path / "run.pt").epoch == 1


@pytest.mark.parametrize("where, fail", [
    ("train_one_epoch", lambda: (_ for _ in ()).throw(torch.OutOfMemoryError("CUDA out of memory. Tried 2.00 GiB"))),
    ("train_one_epoch", lambda: torch.empty(1 << 60, dtype=torch.uint8)),  # the CPU's own allocation failure
    ("train_one_epoch", lambda: (_ for _ in ()).throw(RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)"))),
    ("train_one_epoch", lambda: (_ for _ in ()).throw(MemoryError())),
    ("DeviceLoader", lambda: (_ for _ in ()).throw(torch.OutOfMemoryError("CUDA out of memory. Tried 150.00 MiB"))),
])
def test_out_of_memory_suggests_a_smaller_batch(data, monkeypatch, where, fail):
    monkeypatch.setattr(engine, where, lambda *a, **k: fail())
    with pytest.raises(OutOfMemoryError) as err:
        _fit(data)
    korean_first(str(err.value), "배치 크기(batch size)를 줄여", "smaller batch size")
    assert "8 → 4" in str(err.value) and err.value.__cause__ is None


def test_fit_runs_the_learners_step_loop_and_evaluation_in_the_gpu_recipe_and_gets_the_same_run(data):
    calls = {"step": 0, "loop": 0, "evaluate": 0}

    def my_step(*args):  # a learner's plain step: lesson 05's answer
        calls["step"] += 1
        return train_step(*args)

    def my_loop(*args):  # a learner's plain epoch loop: lesson 05's answer
        calls["loop"] += 1
        return train_one_epoch(*args)

    def my_evaluate(model, loader):  # a forward pass more than needed: the test loss counts each batch once
        calls["evaluate"] += 1
        model.eval()
        with torch.no_grad():
            right = sum((model(x).argmax(1) == y).sum().item() + 0 * model(x).sum().item() for x, y in loader)
        return right / sum(len(y) for _, y in loader)

    gpu_recipe = {"tta": True, "precision": "bf16", "channels_last": True}  # on the CPU
    mine, my_model = _fit(data, step=my_step, loop=my_loop, evaluate=my_evaluate, **gpu_recipe)
    ours, our_model = _fit(data, **gpu_recipe)
    assert calls == {"step": 6, "loop": 1, "evaluate": 1 + 1}  # 6 steps an epoch; a test per epoch, then the flip TTA
    assert _untimed(mine["history"]) == _untimed(ours["history"])
    assert mine["test_accuracy_tta"] == ours["test_accuracy_tta"] and mine["precision"] == "bf16"
    assert my_model.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert all(torch.equal(a, b) for a, b in zip(my_model.state_dict().values(), our_model.state_dict().values()))


def test_a_plain_step_gets_autocast_and_the_gradient_scaler_through_the_stand_ins():
    """fp16's recipe on the CPU (an enabled gradient scaler, with bf16 autocast): the learner's plain step does what
    PyTorch's documented recipe does, autocast covers the forward pass only, and the loss stays unscaled."""
    def scaled() -> Precision:
        return Precision("cpu", torch.bfloat16, torch.amp.GradScaler("cpu", init_scale=1024.0))

    def tiny() -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                             nn.Flatten(), nn.Linear(4, 3))

    images, labels = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(3)), torch.arange(8) % 3
    loss_fn, classic, plain, precision, ours = nn.CrossEntropyLoss(), tiny(), tiny(), scaled(), scaled()
    classic_opt = torch.optim.SGD(classic.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):  # PyTorch's documented recipe
        with precision.autocast():
            loss = loss_fn(classic(images), labels)
        classic_opt.zero_grad()
        precision.scaler.scale(loss).backward()
        precision.scaler.step(classic_opt)
        precision.scaler.update()
    raw, seen = [], {}  # the hooks return None: they change nothing
    plain[5].weight.register_hook(lambda g: raw.append(g.clone()))
    plain[0].register_forward_hook(lambda *a: seen.update(forward=torch.is_autocast_enabled("cpu")))
    plain[0].weight.register_hook(lambda g: seen.update(backward=torch.is_autocast_enabled("cpu")))
    hands = StepHands(plain, torch.optim.SGD(plain.parameters(), lr=0.1, momentum=0.9), loss_fn, ours)
    hands.optimizer.register_step_pre_hook(lambda *a: seen.update(step=torch.is_autocast_enabled("cpu")))
    for _ in range(2):
        loss = train_step(hands.model, images, labels, hands.optimizer, hands.loss_fn)
    assert all(torch.allclose(a, b) for a, b in zip(classic.state_dict().values(), plain.state_dict().values()))
    assert seen == {"forward": True, "backward": False, "step": False} and hands.loss_fn.logits.dtype == torch.bfloat16
    assert loss.dtype == torch.float32 and loss.item() < 10  # the loss itself, not scaled by 1024
    assert torch.allclose(raw[-1] / 1024, plain[5].weight.grad, rtol=1e-4)  # backward saw scaled gradients
    before = copy.deepcopy(plain.state_dict())
    images[0, 0, 0, 0] = float("inf")  # an overflowing step is skipped and the scale halved
    train_step(hands.model, images, labels, hands.optimizer, hands.loss_fn)
    assert all(torch.equal(before[k], v) for k, v in plain.state_dict().items() if "running" not in k and "num" not in k
               ) and ours.scaler.get_scale() == 512.0


def test_the_recipe_schedules_and_precisions():
    one, cos = ([lr_factor(s, 100, 0.2, kind) for s in range(100)] for kind in ("onecycle", "cosine"))
    assert one[0] == pytest.approx(0.05) and one[19] == cos[19] == 1.0 and one[-1] < 0.02 and cos[-1] < 0.001
    assert one == sorted(one[:20]) + sorted(one[20:], reverse=True)  # a warm-up, then down
    assert amp_dtype(torch.device("cuda"), "auto", capability=(9, 0)) is torch.bfloat16  # H100
    assert amp_dtype(torch.device("cuda"), "auto", capability=(7, 5)) is torch.float16   # T4
    assert amp_dtype(CPU, "auto") is None and not Precision.for_device(CPU).scaler.is_enabled()
    with pytest.raises(UsageError) as err:  # a notebook's TrainConfig is checked as the CLI's flags are
        TrainConfig(momentum=1)
    korean_first(str(err.value), "범위여야", "must be in the range")


def test_checkpoint_files_are_atomic_readable_and_strict(tmp_path):
    atomic_save({"a": torch.ones(2)}, tmp_path / "x.pt")
    atomic_save({"a": torch.zeros(2), "rng": rng_state()}, tmp_path / "x.pt")
    assert (tmp_path / "x.pt").stat().st_mode & 0o044 and [p.name for p in tmp_path.iterdir()] == ["x.pt"]
    expected = (random.random(), float(np.random.rand()), torch.rand(3))
    set_rng_state(torch.load(tmp_path / "x.pt", weights_only=True)["rng"])  # every generator, weights-only
    assert (random.random(), float(np.random.rand())) == expected[:2] and torch.equal(torch.rand(3), expected[2])
    weights = torch.full((64,), 3.25)
    atomic_save({"a": weights}, tmp_path / "y.pt")
    raw = (tmp_path / "y.pt").read_bytes()  # zeros in the middle of a tensor, the file as long: a save cut short
    at = raw.index(weights.numpy().tobytes()) + 64
    (tmp_path / "y.pt").write_bytes(raw[:at] + bytes(64) + raw[at + 64:])
    assert torch.load(tmp_path / "y.pt", weights_only=True)["a"].eq(0).sum() == 16  # torch reads it, unchecked
    with pytest.raises(CheckpointError, match="is damaged: its .* does not match the checksum"):
        load_state(tmp_path / "y.pt")
    (tmp_path / "old.pt").write_bytes(pickle.dumps({"epoch": 3}, protocol=4))  # not ours, never unpickled
    with warnings.catch_warnings(record=True) as seen, pytest.raises(CheckpointError, match="Cannot read"):
        warnings.simplefilter("always")
        load_state(tmp_path / "old.pt")
    assert not seen, [str(w.message) for w in seen]  # torch's own warning stays out of the learner's way
    cp949 = "고양이".encode("cp949").decode("utf-8", "surrogateescape")  # a class folder from a Korean zip
    atomic_write_json({"loss": float("nan"), "top": [float("inf"), 1.5], "classes": [cp949]}, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text(encoding="utf-8"), parse_constant=pytest.fail) == {
        "loss": None, "top": [None, 1.5], "classes": ["고양이"]}
