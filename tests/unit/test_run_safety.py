"""fit() and its checkpoints (issue 12): nothing a learner trained is lost, a resume keeps its recipe and data,
a diverged epoch is never saved, and every failure is a bilingual message.

These are the notebook's view (lesson 05 calls ``fit(..., checkpoint=…, resume=True)``); the CLI's view of the
same cases is in ``test_train_cli.py``.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from vgg_teach.errors import CheckpointError, DataError, DivergenceError, OutOfMemoryError, OutputWriteError, UsageError
from vgg_teach.models import build_model
from vgg_teach.training import checkpoint as ckpt
from vgg_teach.training import engine
from vgg_teach.training.checkpoint import atomic_write_json, load_state
from vgg_teach.training.data import ImageTensors
from vgg_teach.training.engine import fit
from vgg_teach.training.recipe import TrainConfig
from vgg_teach.training.sources import load_image_folder_splits

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data(image_folder):
    return load_image_folder_splits(image_folder)  # 3 classes × 16 train / 4 test


def _fit(data, path=None, epochs=1, batch_size=8, lr=0.2, model=None, **kw):
    train, test = kw.pop("train", data[0]), data[1]
    torch.manual_seed(0)
    model = model if model is not None else build_model("vgg_tiny_cifar", len(train.classes))
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr)
    return fit(model, train, test, cfg, device=CPU, progress=False, log=kw.pop("log", None), checkpoint=path, **kw)


def _no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("trained although the run was finished")
    monkeypatch.setattr(engine, "train_one_epoch", refuse)


# --- a saved run is never replaced unless asked ------------------------------------------------------------

def test_a_saved_run_is_not_replaced_without_overwrite(data, tmp_path):
    path = tmp_path / "run.pt"
    _fit(data, path, epochs=2)
    before = path.read_bytes()
    with pytest.raises(CheckpointError) as err:
        _fit(data, path, epochs=2, lr=0.1)
    msg = str(err.value)
    assert msg.index("이미 학습한 결과") < msg.index("already holds a run")
    assert "resume=True" in msg and "overwrite=True" in msg and "epoch 2 of 2, finished" in msg
    assert path.read_bytes() == before


def test_overwrite_replaces_a_saved_run(data, tmp_path):
    path = tmp_path / "run.pt"
    _fit(data, path, epochs=2)
    _fit(data, path, epochs=1, overwrite=True)
    assert load_state(path).epoch == 1
    with pytest.raises(UsageError):
        _fit(data, path, resume=True, overwrite=True)


def test_resuming_a_finished_run_loads_it_without_training(data, tmp_path, monkeypatch):
    """Lesson 05 re-run top to bottom: each experiment's finished checkpoint is loaded, not trained again."""
    path = tmp_path / "run.pt"
    first = _fit(data, path, epochs=2)
    _no_training(monkeypatch)
    model = build_model("vgg_tiny_cifar", 3)
    again = _fit(data, path, epochs=2, resume=True, model=model)
    assert again["history"] == first["history"] and again["test_accuracy"] == first["test_accuracy"]
    assert again["resumes"] == [] and load_state(path).resumes == []
    saved = load_state(path).model
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())  # the trained weights are loaded


# --- a resume keeps its recipe and its data -------------------------------------------------------------------

@pytest.mark.parametrize("change, line", [
    ({"batch_size": 16}, "batch_size (--batch-size): 8 → 16"),   # the sweep: trained the rest at lr 0
    ({"lr": 1e6}, "lr (--lr): 0.2 → 1000000.0"),                 # the sweep: silently ignored, but recorded
    ({"epochs": 1}, "epochs (--epochs): 2 → 1"),                   # fewer epochs than are done
])
def test_resume_with_another_recipe_is_refused_and_says_what_differs(data, tmp_path, change, line):
    path = tmp_path / "run.pt"
    _fit(data, path, epochs=2)
    before = path.read_bytes()
    with pytest.raises(CheckpointError) as err:
        _fit(data, path, resume=True, **{"epochs": 2, **change})
    msg = str(err.value)
    assert msg.index("설정이 달라") < msg.index("other settings") and line in msg
    assert path.read_bytes() == before


def test_resume_on_other_data_with_the_same_classes_is_refused(data, tmp_path):
    path = tmp_path / "run.pt"
    _fit(data, path)
    train = data[0]
    other = ImageTensors(255 - train.images, train.labels, list(train.classes), train.mean, train.std)
    with pytest.raises(CheckpointError) as err:
        _fit(data, path, epochs=2, resume=True, train=other)
    assert "train_data.sha256" in str(err.value) and "test_data" not in str(err.value)


def test_resume_with_more_epochs_records_what_changed(data, tmp_path):
    path = tmp_path / "run.pt"
    _fit(data, path, epochs=1)
    result = _fit(data, path, epochs=3, resume=True)
    assert result["resumes"] == [{"after_epoch": 1, "changed": {"epochs": [1, 3]}}]
    assert result["config"]["epochs"] == 3 and load_state(path).resumes == result["resumes"]
    assert all(r["lr"] > 0 for r in result["history"])  # the stretched schedule never trains at lr 0


# --- divergence: stopped, never saved, and strict JSON ---------------------------------------------------------

class _Poisoned(torch.nn.Module):
    """A model that turns NaN in epoch 2 (6 steps per epoch): a BatchNorm statistic in its last training step
    (the training loss stays finite), or only its output at test time."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self.inner, self.where, self.steps = build_model("vgg_tiny_cifar", 3), where, 0

    def forward(self, x):
        if not self.training:
            out = self.inner(x)
            return out * float("nan") if self.where == "test" and self.steps > 6 else out
        self.steps += 1
        if self.where == "weights" and self.steps == 12:  # training-mode BatchNorm does not read it: loss finite
            bn = next(m for m in self.inner.modules() if isinstance(m, torch.nn.BatchNorm2d))
            bn.running_mean.fill_(float("nan"))
        return self.inner(x)


@pytest.mark.parametrize("where, korean, english", [
    ("weights", "가중치(weight)에 NaN", "the weights became NaN"),
    ("test", "시험 손실(test loss)에 NaN", "the test loss became NaN"),
])
def test_nan_weights_or_test_loss_stop_the_run_and_are_not_saved(data, tmp_path, where, korean, english):
    path = tmp_path / "run.pt"
    with pytest.raises(DivergenceError) as err:
        _fit(data, path, epochs=3, model=_Poisoned(where))
    msg = str(err.value)
    assert msg.index(korean) < msg.index(english) and "epoch 2" in msg
    assert load_state(path).epoch == 1  # epoch 2 diverged: the file still holds epoch 1


def test_metrics_json_is_strict_json(tmp_path):
    cp949 = "고양이".encode("cp949").decode("utf-8", "surrogateescape")  # a class folder from a Korean zip
    atomic_write_json({"loss": float("nan"), "top": [float("inf"), 1.5], "classes": [cp949, "\udcff"]},
                      tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text(encoding="utf-8")

    def refuse(constant):
        raise ValueError(constant)
    assert json.loads(text, parse_constant=refuse) == {"loss": None, "top": [None, 1.5], "classes": ["고양이", "�"]}


# --- interrupted and failed writes --------------------------------------------------------------------------

def test_stale_temporary_files_are_removed_on_start(data, tmp_path):
    path = tmp_path / "run.pt"
    stale = [tmp_path / ".run.pt.abc123.tmp", tmp_path / ".run.pt.zz.tmp"]
    for f in stale:
        f.write_bytes(b"half a checkpoint (SIGKILL)")
    keep = tmp_path / ".other.pt.abc.tmp"
    keep.write_bytes(b"not ours")
    messages = []
    _fit(data, path, log=messages.append)
    assert not any(f.exists() for f in stale) and keep.exists()
    assert any("Removed temporary files" in m for m in messages)


def test_sigint_during_a_checkpoint_write_reports_the_epoch_on_disk(data, tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    real_save = torch.save

    def interrupted_at_epoch_2(obj, f, *args, **kwargs):
        if obj["epoch"] == 2:
            f.write(b"half")
            raise KeyboardInterrupt
        real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", interrupted_at_epoch_2)
    messages = []
    with pytest.raises(KeyboardInterrupt):
        _fit(data, path, epochs=3, log=messages.append)
    assert load_state(path).epoch == 1
    note = messages[-1]
    assert "에포크 1까지의 체크포인트" in note and "up to epoch 1" in note and "epoch 2" not in note
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


def test_disk_full_at_a_checkpoint_keeps_the_previous_one(data, tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    _fit(data, path)
    before = path.read_bytes()

    def disk_full(obj, f, *args, **kwargs):  # what torch.save raised in the sweep
        f.write(b"part of a checkpoint")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 4480 vs 4374")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OutputWriteError) as err:
        _fit(data, path, epochs=2, resume=True)
    monkeypatch.undo()
    msg = str(err.value)
    assert msg.index("디스크가 가득") < msg.index("disk is probably full") and "enforce fail" not in msg
    assert str(path) in msg and path.read_bytes() == before and load_state(path).epoch == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


@pytest.mark.parametrize("content, problem", [
    ("text", "Cannot read the checkpoint"),
    ({"features.0.weight": torch.zeros(1)}, "a bare state_dict"),
    ("no optimizer", "missing: optimizer"),
    ([1, 2], "list, not a dict"),
    (b"\x80\x02]q\x00.", "Cannot read the checkpoint"),  # a pickle that breaks the weights-only unpickler
])
def test_a_checkpoint_that_is_not_ours_is_a_bilingual_error(data, tmp_path, content, problem):
    path = tmp_path / "run.pt"
    if content == "text":
        path.write_text("epoch 3, loss 0.5\n")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "no optimizer":
        _fit(data, path)
        raw = torch.load(path, weights_only=True)
        del raw["optimizer"]
        torch.save(raw, path)
    else:
        torch.save(content, path)
    with pytest.raises(CheckpointError) as err:
        _fit(data, path, resume=True)
    assert problem in str(err.value) and str(path) in str(err.value)


# --- inputs that cannot be trained on ---------------------------------------------------------------------------

def test_one_class_is_refused(data, tmp_path):
    train = data[0]
    one = train.subset(torch.nonzero(train.labels == 0).flatten())
    with pytest.raises(DataError) as err:
        _fit(data, tmp_path / "run.pt", train=one)
    msg = str(err.value)
    assert msg.index("클래스가 적어도 2개") < msg.index("at least 2 classes") and not (tmp_path / "run.pt").exists()


@pytest.mark.parametrize("where, raise_it", [
    ("CPU", lambda: torch.empty(1 << 60, dtype=torch.uint8)),  # a real allocation failure of the CPU
    ("MPS", lambda: (_ for _ in ()).throw(RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)"))),
    ("CPU", lambda: (_ for _ in ()).throw(MemoryError())),
])
def test_cpu_and_mps_out_of_memory_are_caught_like_cuda(data, monkeypatch, where, raise_it):
    monkeypatch.setattr(engine, "train_one_epoch", lambda *a, **k: raise_it())
    with pytest.raises(OutOfMemoryError) as err:
        _fit(data)
    msg = str(err.value)
    assert msg.index("배치 크기(batch size)를 줄여") < msg.index("smaller batch size") and "8 → 4" in msg
    assert "enforce fail" not in msg and err.value.__cause__ is None


def test_out_of_memory_while_moving_the_data_to_the_device(data, monkeypatch):
    def too_big(self, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 150.00 MiB")
    monkeypatch.setattr(engine.DeviceLoader, "__init__", too_big)
    with pytest.raises(OutOfMemoryError, match="150.00 MiB"):
        _fit(data)


def test_fingerprint_changes_with_the_pixels_only_where_they_change(data):
    train = data[0]
    same = ImageTensors(train.images.clone(), train.labels.clone(), list(train.classes), train.mean, train.std)
    assert same.fingerprint() == train.fingerprint()
    images = train.images.clone()
    images[5, 0, 0, 0] ^= 1
    changed = ImageTensors(images, train.labels, list(train.classes), train.mean, train.std).fingerprint()
    assert changed["sha256"] != train.fingerprint()["sha256"] and changed["images"] == len(train)
    assert math.isclose(sum(changed["mean"]), sum(train.mean))
    assert ckpt.MAY_CHANGE_ON_RESUME and "batch_size" not in ckpt.MAY_CHANGE_ON_RESUME
