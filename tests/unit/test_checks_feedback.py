"""The feedback every check shares: ✅/❌/⏳ in both languages, a stub is ⏳ and never an error, nothing raises."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from torch import nn

import vgg_teach.checks
from vgg_teach.checks import FAIL, PASSED_MARK, PENDING_MARK, TODO, CheckResult
from vgg_teach.checks.training import check_confusion_matrix, check_evaluate
from vgg_teach.errors import josa

#: Every check in vgg_teach.checks (``module.check_x``, made with @never_raises): a new one joins these tests.
ALL = sorted(f"{info.name}.{name}" for info in pkgutil.iter_modules(vgg_teach.checks.__path__)
             for name, fn in vars(importlib.import_module(f"vgg_teach.checks.{info.name}")).items()
             if name.startswith("check_") and hasattr(fn, "__wrapped__")
             and fn.__module__ == f"vgg_teach.checks.{info.name}")
#: The checks whose learner argument is not one function, and what it is instead.
NOT_GIVEN_A_FUNCTION = {"vgg16.check_vgg16": "a model or its class", "ddp.check_ddp_script": "a script's path",
                        "questions.check_prediction": "a question's key, then a function",
                        "questions.check_quiz": "a quiz's number, then a function",
                        "questions.check_score_map_predictions": "a function or the three values it returns"}
CHECKS = [name for name in ALL if name not in NOT_GIVEN_A_FUNCTION]


def test_the_checks_are_found_and_each_one_named_as_taking_no_function_exists():
    assert {"vgg16.check_make_layers", "training.check_train_step", "dense.check_dense_evaluation"} <= set(CHECKS)
    assert set(NOT_GIVEN_A_FUNCTION) <= set(ALL)


@pytest.mark.parametrize("name", CHECKS)
def test_every_check_refuses_a_value_for_a_function_and_calls_a_stub_not_written_yet(name):
    module, _, check = name.partition(".")
    check = getattr(importlib.import_module(f"vgg_teach.checks.{module}"), check)
    refused = check(42)  # check(fn()) instead of check(fn)
    assert refused.status == FAIL and "함수를 넘겨 주세요" in str(refused) and "Pass a function" in str(refused)
    assert "int" in str(refused)

    def stub(*_args, **_kwargs):
        raise NotImplementedError("연습 문제를 채워 주세요 / Fill in this exercise")

    def generator(*_args, **_kwargs):
        yield  # a stray yield: calling it runs nothing

    assert ("generator function" in str(check(generator))) == (module != "receptive_field")  # there: a right form
    pending = check(stub)
    assert pending.status == TODO and not pending and str(pending).startswith(PENDING_MARK)
    item = pending.failures[0]
    assert "run that cell, then run this one again" in item.en and "Already filled it in?" in item.en
    assert "연습 셀부터 다시 실행하세요" in item.ko


class _Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("cannot say why")


@pytest.mark.parametrize("name", [name for name in ALL if name != "ddp.check_ddp_script"])
def test_an_error_that_cannot_print_itself_still_gets_a_verdict(name):
    module, _, check = name.partition(".")
    check = getattr(importlib.import_module(f"vgg_teach.checks.{module}"), check)
    args = {"check_prediction": ("conv1_1_params",), "check_quiz": ("01",)}.get(check.__name__, ())

    def broken(*_args, **_kwargs):
        raise _Unprintable

    result = check(*args, broken)
    assert result.status == FAIL and "_Unprintable" in str(result) and "cannot be printed" in str(result)


def test_not_implemented_raised_by_torch_inside_learner_code_is_an_error_not_pending():
    result = check_confusion_matrix(lambda preds, labels, c: nn.ModuleList([nn.Identity()])(preds))
    assert result.status == FAIL and "ModuleList" in str(result), str(result)


def test_a_result_is_truthy_only_when_everything_passed_and_renders_in_both_languages():
    result = CheckResult("demo")
    assert result.status == TODO  # nothing checked yet
    result.expect(True, ("좋습니다", "good"), ("나쁩니다", "bad"))
    assert result and str(result).startswith(PASSED_MARK) and "✅ 좋습니다\n   good" in str(result)
    result.expect(False, ("좋습니다", "good"), ("나쁩니다", "bad"), ("힌트", "a hint"))
    assert not result and "💡 힌트" in str(result) and "data-status='fail'" in result._repr_html_()


def test_a_check_in_a_folder_deleted_under_the_notebook_says_so(tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()  # the learner's file browser deleted the folder the kernel works in

    def evaluate(model, loader):
        raise FileNotFoundError(2, "No such file or directory")  # as a lazy import then fails

    result = check_evaluate(evaluate)
    assert result.status == FAIL and "The folder the notebook was working in (the current directory) was deleted" \
        in str(result), str(result)


def test_a_failed_check_names_the_reference_the_lesson_goes_on_with(capsys):
    script = Path("/tmp/ddp_train_reference.py")  # lesson 07's reference is a script, not a function
    assert CheckResult("demo").use("mine.py", script, "ddp_train.py") is script
    assert CheckResult("demo").use(len, josa) is josa
    said = capsys.readouterr().out
    assert "the reference ddp_train_reference.py." in said and "the reference vgg_teach.errors.josa." in said


@pytest.mark.parametrize("word, particle, said", [
    ("모델", "을", "모델을"), ("합성곱", "를", "합성곱을"), ("fc6", "로", "fc6으로"), ("pool5", "으로", "pool5로"),
    ("conv1_1", "가", "conv1_1이"), ("1,792", "을", "1,792를"), (100, "이", "100이"), (4096, "와", "4096과"),
    ("ReLU", "을", "ReLU를"), ("CNN", "는", "CNN은"), ("nn.Sequential", "으로", "nn.Sequential로"),
    ("predict_score_map", "로", "predict_score_map으로"), ("torch.float64", "로", "torch.float64로"),
    ("'evaluate'", "이", "'evaluate'가"), (10, "이라", "10이라"), ("None", "이", "None이"),
    ("pooling", "이", "pooling이"), ("module", "을", "module을"), ("dtype", "을", "dtype을"), ("lr", "을", "lr을"),
    ("group", "이", "group이"),
    ("fallback", "은", "fallback은"), ("image", "이", "image가"), ("schedule", "은", "schedule은")])
def test_korean_particles_fit_the_word_as_it_is_read(word, particle, said):
    assert josa(word, particle) == said


def test_a_typo_in_a_name_gets_the_name_it_was_probably_meant_to_be_and_no_unrelated_hint():
    from vgg_teach.checks.vgg16 import check_vgg16

    class Keras(nn.Module):  # Conv2D, as Keras spells it
        def __init__(self, num_classes=1000):
            super().__init__()
            self.conv = nn.Conv2D(3, 64, 3)

    class Typo(nn.Module):
        def __init__(self, num_classes=1000):
            super().__init__()
            self.fc = nn.Linear(4096, num_clases)  # noqa: F821 - the learner's typo

    keras, typo = str(check_vgg16(Keras)), str(check_vgg16(Typo))
    assert "Did you mean 'Conv2d', not 'Conv2D'? Python tells capitals from small letters." in keras
    assert "'Conv2D'가 아니라 'Conv2d'일까요?" in keras and "super().__init__()" not in keras
    assert "Did you mean 'num_classes', not 'num_clases'?" in typo and "capitals" not in typo
    assert "'num_clases'가 아니라" in typo


def test_torch_functions_called_in_place_of_pythons_name_from_torch_import_star():
    """`from torch import *` in a learner's cell replaces float, range, sum … (and the setup cell's device)."""
    import torch

    from vgg_teach.checks import exception_hint
    from vgg_teach.env import get_device
    from vgg_teach.errors import UsageError

    for shadowed in (lambda: torch.float(3), lambda: torch.sum(n for n in (1, 2))):  # float(3), sum(…) after it
        with pytest.raises(TypeError) as raised:
            shadowed()
        assert "from torch import *" in exception_hint(raised.value)[1]
    with pytest.raises(UsageError, match=r"torch\.device class itself.*from torch import \*"):
        get_device(torch.device)  # fit(device=device) with device overwritten by the class


@pytest.fixture(scope="module")
def a_learners_session(tmp_path_factory):
    """A real kernel running a learner's cells: the setup, a cell skipped, a working step, the step broken by a
    syntax error and run anyway, its check; each cell's text (errors included)."""
    import os

    import nbformat
    from nbclient import NotebookClient

    cells = ["from vgg_teach.env import setup_lesson\nfrom vgg_teach.checks.training import check_train_step\n"
             "device = setup_lesson(korean_font=False)",
             "print(train_data)",  # the cell that makes it was skipped
             "batch_size = 8\nprint(bach_size)",
             "def train_step(model, images, labels, optimizer, loss_fn):\n    optimizer.zero_grad()\n"
             "    loss = loss_fn(model(images), labels)\n    loss.backward()\n    optimizer.step()\n    return loss",
             "check_train_step(train_step)",
             "def train_step(model, images, labels, optimizer, loss_fn):\n    optimizer.zero_grad()\n"
             "    for i in range(3)\n        pass",
             "check_train_step(train_step)",
             "from vgg_teach.models import build_model\nfrom vgg_teach.training.engine import fit\n"
             "from vgg_teach.training.recipe import TrainConfig\n"
             "from vgg_teach.training.sources import load_image_folder_splits, make_image_folder\n"
             "def stop(record):\n    raise KeyboardInterrupt  # the learner presses Stop after the first epoch\n"
             "data = load_image_folder_splits(make_image_folder('data'))\n"
             "fit(build_model('vgg_tiny_cifar', 3), *data, TrainConfig(epochs=2, batch_size=8), device='cpu',\n"
             "    checkpoint='run.pt', callbacks=[stop], progress=False)"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                         os.environ.get("PYTHONPATH", "")])}
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path_factory.mktemp("learner"))}}).execute(env=env)
    return ["\n".join(o.get("text", "") + "".join(o.get("traceback", []))
                      + "".join(o.get("data", {}).get("text/plain", "")) for o in cell.outputs) for cell in nb.cells]


def test_a_name_error_in_a_notebook_says_a_cell_above_was_not_run_or_the_name_meant(a_learners_session):
    skipped, typo = a_learners_session[1], a_learners_session[2]
    assert "name 'train_data' is not defined" in skipped  # the error itself still shows
    assert "train_data는 아직 없습니다" in skipped and "a restarted runtime" in skipped and "Run before" in skipped
    assert "'batch_size'일까요?" in typo and "Did you mean 'batch_size', not 'bach_size'?" in typo


def test_a_check_after_a_syntax_error_says_the_cell_did_not_run_instead_of_judging_the_old_code(a_learners_session):
    before, after = a_learners_session[4], a_learners_session[6]
    assert PASSED_MARK in before  # the working step passed …
    assert PASSED_MARK not in after and "syntax error" in after and "line 3" in after  # … and is not judged again
    assert "train_step을 정의하는 셀" in after and "expected ':'" in after


def test_training_stopped_in_a_notebook_says_where_the_checkpoint_is_without_the_engines_frames(a_learners_session):
    stopped = a_learners_session[7]
    assert "에포크 1까지의 체크포인트가 run.pt 에 있습니다" in stopped and "resume=True" in stopped
    assert "KeyboardInterrupt" in stopped and "engine.py" not in stopped and "Traceback" not in stopped
