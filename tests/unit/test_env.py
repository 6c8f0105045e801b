"""vgg_teach.env, what every setup cell does: the device, seeds, smoke mode, Colab (Drive) or Kaggle, requirements,
Hangul in figures.

Colab is simulated by a fake ``google.colab`` module whose ``drive.mount`` links the mount point to a temporary
folder standing in for Google Drive; Kaggle by its ``KAGGLE_KERNEL_RUN_TYPE`` variable and a temporary
``/kaggle/working``.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import sys
import tempfile
import types
import warnings
from pathlib import Path

import matplotlib
import nbformat
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vgg_teach import env
from vgg_teach.errors import UsageError
from vgg_teach.models import build_model
from vgg_teach.training.engine import fit
from vgg_teach.training.recipe import TrainConfig
from vgg_teach.training.sources import load_image_folder_splits

ROOT = Path(__file__).resolve().parents[2]
DRIVE_CELL = "7229856f"  # lesson 05's one cell that decides where the runs go


class FakeColab:
    """``google.colab`` with a ``drive.mount`` that links ``<mount>/MyDrive`` to ``cloud`` (Drive's contents)."""

    def __init__(self, cloud: Path, refuse: bool = False) -> None:
        self.cloud, self.refuse, self.mounts = cloud, refuse, []
        self.module = types.ModuleType("google.colab")
        self.module.drive = types.SimpleNamespace(mount=self.mount)

    def mount(self, mountpoint: str) -> None:
        self.mounts.append(mountpoint)
        if self.refuse:
            raise ValueError("mount failed")  # what Colab raises when the learner refuses access
        Path(mountpoint).mkdir(parents=True, exist_ok=True)
        (Path(mountpoint) / "MyDrive").symlink_to(self.cloud, target_is_directory=True)

    def install(self, monkeypatch) -> FakeColab:
        google = types.ModuleType("google")
        google.colab = self.module
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", self.module)
        return self


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    """A simulated Colab runtime: its own /content (the mount point lives there) and a Drive that outlives it."""
    cloud = tmp_path / "google-drive"
    cloud.mkdir()
    content = tmp_path / "content"
    monkeypatch.setattr(env, "DRIVE_MOUNT", content / "drive")
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    return types.SimpleNamespace(cloud=cloud, content=content, colab=FakeColab(cloud).install(monkeypatch))


def test_device_order_is_cuda_then_mps_then_cpu_and_a_missing_one_says_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert env.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(env, "_mps_available", lambda: True)
    assert env.get_device().type == "mps"
    monkeypatch.setattr(env, "_mps_available", lambda: False)
    assert env.get_device().type == "cpu" and "no GPU found" in env.describe_device(torch.device("cpu"))
    with pytest.raises(UsageError, match="(?s)런타임 유형 변경.*Change runtime type"):
        env.get_device("cuda")
    with pytest.raises(ValueError, match="Unknown device 'tpu'"):
        env.get_device("tpu")


def test_the_hardware_a_run_is_on_is_named_with_torchs_version(monkeypatch):
    cpu = env.describe_hardware(torch.device("cpu"))
    assert f"{os.cpu_count()} cores (cpu)" in cpu and cpu.endswith(f"torch {torch.__version__}")
    assert not cpu.startswith(",")  # a CPU model (or the platform's word for it) comes first
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    assert env.describe_hardware(torch.device("cuda")) == f"Tesla T4; torch {torch.__version__}"


def test_seeds_repeat_and_smoke_mode_follows_the_variable(monkeypatch, capsys):
    env.seed_everything(3)
    first = (random.random(), torch.rand(3))
    env.seed_everything(3)
    assert first[0] == random.random() and torch.equal(first[1], torch.rand(3))
    for value, smoke in (("1", True), ("true", True), ("0", False), ("", False)):
        monkeypatch.setenv(env.SMOKE_ENV, value)
        assert env.is_smoke() is smoke and env.smoke_or("small", "full") == ("small" if smoke else "full")
    monkeypatch.setenv(env.SMOKE_ENV, "1")
    assert isinstance(env.setup_lesson(korean_font=False), torch.device)
    out = capsys.readouterr().out
    assert "장치(device)" in out and "smoke mode" in out


def test_on_colab_runs_go_to_drive_and_the_reason_is_said(runtime, tmp_path, capsys):
    assert env.which_platform() == "colab" and env.is_colab()
    folder = env.runs_folder(tmp_path / "local-runs")
    assert runtime.colab.mounts == [str(runtime.content / "drive")]
    assert folder == runtime.content / "drive" / "MyDrive" / "vgg-teach" / "runs" and folder.is_dir()
    assert (runtime.cloud / "vgg-teach" / "runs").is_dir()  # really on the Drive stand-in
    out = capsys.readouterr().out
    assert "Google Drive" in out and "/content" in out and "USE_DRIVE = False" in out and "회수" in out
    assert env.runs_folder(tmp_path / "local-runs") == folder and len(runtime.colab.mounts) == 1  # mounted once


def test_drive_opt_out_and_a_refused_mount_stay_local_and_say_so(runtime, tmp_path, capsys, monkeypatch):
    assert env.runs_folder(tmp_path / "local", drive=False) == tmp_path / "local"
    assert runtime.colab.mounts == [] and "deleted when the runtime" in capsys.readouterr().out
    FakeColab(runtime.cloud, refuse=True).install(monkeypatch)
    assert env.runs_folder(tmp_path / "local") == tmp_path / "local"
    out = capsys.readouterr().out
    assert "Google Drive를 연결하지 못했습니다" in out and "Could not mount Google Drive (ValueError" in out


def test_kaggle_and_elsewhere(monkeypatch, tmp_path, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(env, "KAGGLE_WORKING", tmp_path / "kaggle" / "working")
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(env, "_mps_available", lambda: False)
    assert env.which_platform() == "local" and env.runs_folder(tmp_path / "runs") == tmp_path / "runs"
    env.setup_lesson(korean_font=False)
    assert "T4 ×2" not in capsys.readouterr().out and not env.is_colab()
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    assert env.which_platform() == "kaggle"
    assert env.runs_folder(tmp_path / "runs") == tmp_path / "kaggle" / "working" / "runs"
    env.setup_lesson(korean_font=False)  # on Kaggle without a GPU: how to get the T4 ×2
    out = capsys.readouterr().out
    assert "Persistence" in out and "GPU T4 ×2" in out and "Settings → Accelerator" in out and "Internet" in out


def _drive_cell() -> str:
    nb = nbformat.read(ROOT / "solutions" / "05_cifar10_training.ipynb", as_version=4)
    return next(c.source for c in nb.cells if c.get("id") == DRIVE_CELL)


def _run_drive_cell(source: str) -> dict:
    namespace = {"tempfile": tempfile, "Path": Path, "is_smoke": env.is_smoke, "runs_folder": env.runs_folder}
    exec(compile(source, "lesson05-drive-cell", "exec"), namespace)
    return namespace


def test_lesson_05_on_colab_checkpoints_to_drive_and_resumes_on_a_new_runtime(runtime, image_folder, monkeypatch,
                                                                             smoke_on):
    train, test = load_image_folder_splits(image_folder)
    config = TrainConfig(epochs=3, batch_size=8, lr=0.05)

    def run(callbacks=()):
        torch.manual_seed(0)
        return fit(build_model("vgg_tiny_cifar", 3), train, test, config, device="cpu", progress=False,
                   checkpoint=cell["RUNS"] / "scratch.pt", resume=True, callbacks=list(callbacks), log=logged.append)

    def disconnect(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt  # the runtime goes away during epoch 3

    logged: list[str] = []
    cell = _run_drive_cell(_drive_cell())  # runtime 1
    assert cell["RUNS"] == runtime.content / "drive" / "MyDrive" / "vgg-teach" / "runs" / "lesson05"
    with pytest.raises(KeyboardInterrupt):
        run([disconnect])
    assert (runtime.cloud / "vgg-teach" / "runs" / "lesson05" / "scratch.pt").is_file()  # saved on Drive
    cell["tmp"].cleanup()
    shutil.rmtree(runtime.content)  # the runtime is recycled: /content (and the mount) are gone, Drive is not
    FakeColab(runtime.cloud).install(monkeypatch)  # runtime 2, Drive mounted again by the same cell
    cell = _run_drive_cell(_drive_cell())
    result = run()
    assert [r["epoch"] for r in result["history"]] == [1, 2, 3]
    assert any("에포크 2까지 끝났습니다" in line and "epochs up to 2 are done" in line for line in logged)
    cell["tmp"].cleanup()


def test_lesson_05_drive_cell_opt_out_and_off_colab_use_the_temporary_folder(runtime, monkeypatch, smoke_on):
    source = _drive_cell()
    assert "USE_DRIVE = True" in source
    cell = _run_drive_cell(source.replace("USE_DRIVE = True", "USE_DRIVE = False", 1))
    assert cell["RUNS"] == Path(cell["tmp"].name) / "runs" / "lesson05" and runtime.colab.mounts == []
    cell["tmp"].cleanup()
    monkeypatch.delitem(sys.modules, "google.colab")  # CI: not Colab, smoke mode: the temporary folder as before
    cell = _run_drive_cell(source)
    assert cell["RUNS"] == Path(cell["tmp"].name) / "runs" / "lesson05"
    cell["tmp"].cleanup()


def _fake_metadata(monkeypatch, requires: list[str], versions: dict[str, str]) -> None:
    from importlib import metadata

    def version(name):
        if name not in versions:
            raise metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(metadata, "requires", lambda dist: requires)
    monkeypatch.setattr(metadata, "version", version)


def test_unmet_requirements_is_pip_check_for_this_package(monkeypatch, capsys):
    requires = ["torch>=2.11", "ipywidgets>=7.7.1", "koreanize-matplotlib>=0.1.1", "tqdm",
                'pytest>=7.4; extra == "test"', "tomli>=2.0; python_version < '3.0'"]
    _fake_metadata(monkeypatch, requires, {"torch": "2.11.0+cu128", "ipywidgets": "7.6.5", "tqdm": "4.67.3"})
    assert env.unmet_requirements() == ["ipywidgets 7.6.5: older than ipywidgets>=7.7.1",
                                              "koreanize-matplotlib: not installed (needs koreanize-matplotlib>=0.1.1)"]
    env.check_requirements()
    out = capsys.readouterr().out
    assert "ipywidgets 7.6.5" in out and "맞지 않습니다" in out and "do not match" in out
    _fake_metadata(monkeypatch, requires, {"torch": "2.12.0", "ipywidgets": "8.1.5", "tqdm": "4.67.3",
                                           "koreanize-matplotlib": "0.1.1"})
    assert env.check_requirements() == [] and capsys.readouterr().out == ""


def _draw_korean_figure() -> list[str]:
    """Draw a figure full of Hangul (and negative ticks) on Agg; return matplotlib's missing-glyph warnings."""
    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([-2, -1, 0, 1, 2], [-1.5, 0.5, 0.0, 1.0, -0.5], label="학습 손실 / training loss")
    ax.set_title("합성곱 계층의 특징 맵 (Feature maps)")
    ax.set_xticks([-2, -1, 0, 1, 2], ["가", "나", "다", "라", "마"])
    ax.legend(title="범례")
    fig.suptitle("한글 글꼴 검사: 가나다라마바사 아야자차카타파하 똠방각하 펲")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if re.search(r"Glyph .* missing from font", str(w.message))]


def test_the_korean_font_draws_every_hangul_glyph_which_the_default_font_cannot():
    with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        assert any("DejaVu Sans" in m for m in _draw_korean_figure())  # the check can fail
    with matplotlib.rc_context():
        assert env.use_korean_font() == env.KOREAN_FONT
        assert not _draw_korean_figure()
