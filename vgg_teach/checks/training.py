"""Lesson 05's checks: one training step, the epoch loop, the evaluation, and the confusion matrix.

:func:`check_train_step` runs the learner's step on a tiny model from the same start and with the same dropout
masks as the engine's own step, compares every weight and statistic after one step and after two (a forgotten
``zero_grad`` shows only at the second), and names the mistake from what the step did, in order (forward,
loss, ``zero_grad``, backward, ``step``). :func:`check_train_one_epoch` runs the learner's loop over batches of 4,
4, 4 and 2 images with a recording step and schedule. :func:`check_evaluate` uses batches of 5, 5, 5 and 3
images, so that each usual slip gives a number of its own. :func:`check_confusion_matrix` compares with the
reference on a worked example, absent classes, no images and random predictions.
"""

from __future__ import annotations

import copy
import math
import re
import weakref
from numbers import Real
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..answers import confusion_matrix as reference_confusion_matrix
from ..answers import evaluate as reference_evaluate
from ..answers import train_step as reference_step
from ..errors import josa
from . import CheckResult, describe_exception, exception_hint, is_stub, never_raises, on_the_device, printable

_ARGMAX_DIM = ("예측은 클래스 축을 따라: model(images).argmax(dim=1).",
               "Predict along the class axis: model(images).argmax(dim=1).")
_EVAL_BATCHES, _EVAL_RIGHT = (5, 5, 5, 3), (5, 0, 2, 3)  # 10 of 18 right: 0.5556, per-batch mean 0.6
_EPOCH_BATCHES, _EPOCH_RIGHT = (4, 4, 4, 2), (3, 1, 4, 1)  # 9 of 14 right: 0.6429, per-batch mean 0.625
_LR = 0.1  # the step check's learning rate
#: A size mismatch while counting the hits: a comparison never summed, or argmax along the wrong axis.
_HITS = ("맞힌 수는 (logits.argmax(dim=1) == labels).sum()입니다: 예측은 클래스 축(dim=1)을 따라 고르고, 비교한 "
         "결과는 .sum()으로 세어 더하세요.",
         "The hits are (logits.argmax(dim=1) == labels).sum(): predict along the class axis (dim=1), and add up the "
         "comparison with .sum().")
_AFTER_STEP = ("loss_fn.logits는 step(...)을 부른 뒤에 읽으세요: 이번 배치의 스텝이 순전파하며 남긴 로짓입니다.",
               "Read loss_fn.logits after calling step(...): it holds the logits of this batch's forward pass, left "
               "by the step.")
#: (ko, en) when no image at all counts as right.
_ZERO_HITS = ("맞힌 수가 0입니다: 예측(argmax(dim=1), 또는 max(1)[1])이 아니라 가장 큰 점수 값(max(1)[0])을 레이블과 "
              "비교했거나, 정수 나눗셈(//)이 비율을 0으로 잘랐습니다.",
              "No image counts as right: the labels were compared with the largest scores themselves (max(1)[0]) "
              "rather than the predictions (argmax(dim=1), or max(1)[1]), or integer division (//) cut the fraction "
              "to 0.")
#: (ko, en) when a returned number is the right one rounded.
_ROUNDED = ("반올림한 값입니다: 계산한 값을 그대로 돌려주고, 반올림은 출력할 때만 하세요.",
            "That is the right value rounded: return it as computed, and round only when printing.")


def _rounded(got: float, want: float) -> bool:
    return any(got == round(want, k) for k in range(5))


def _as_number(value: Any) -> float | None:
    """A returned number (a Python or NumPy number, a one-element tensor) as a float; ``None`` for anything else."""
    value = float(value.detach()) if isinstance(value, torch.Tensor) and value.numel() == 1 else value
    return None if isinstance(value, bool) or not isinstance(value, Real) else float(value)


def _batch(images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return on_the_device(images), on_the_device(labels)


def _tiny_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
                         nn.Flatten(), nn.Dropout(0.5), nn.Linear(16, 5))


class _Trace(list):
    """What a step did, as ``(event, details)`` pairs, one list per call."""

    def add(self, event: str, **details: Any) -> None:
        self[-1].append((event, details))


class _SGD(torch.optim.SGD):
    """SGD that notes its ``zero_grad`` and ``step`` in a trace."""

    def __init__(self, params: Any, trace: _Trace, lr: float = _LR) -> None:
        super().__init__(params, lr=lr, momentum=0.9, weight_decay=5e-4)
        self.trace = trace

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.trace.add("zero_grad")
        super().zero_grad(set_to_none=set_to_none)

    def step(self, closure: Any = None) -> Any:
        self.trace.add("step")
        return super().step(closure)


class _Loss(nn.Module):
    """Cross-entropy that notes its call (arguments swapped? logits detached? probabilities?) and the backward
    through it."""

    def __init__(self, trace: _Trace) -> None:
        super().__init__()
        self.trace, self.last = trace, None

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        tensors = isinstance(logits, torch.Tensor) and isinstance(labels, torch.Tensor)
        swapped = tensors and not logits.is_floating_point() and labels.is_floating_point()
        probs = tensors and not swapped and logits.dim() == 2 and bool(((logits >= 0) & (logits <= 1)).all()) and (
            torch.allclose(logits.sum(1), torch.ones(())) or torch.allclose(logits.sum(0), torch.ones(())))
        self.trace.add("loss", swapped=swapped, detached=tensors and not swapped and not logits.requires_grad,
                       softmax=probs)
        self.last = loss = F.cross_entropy(logits, labels)
        if loss.requires_grad:
            loss.register_hook(lambda g: self.trace.add("backward_loss"))
        return loss


def _run(step: Callable, trace: _Trace) -> tuple[list[dict], list[Any], list[Any], list[torch.Tensor]]:
    """Two calls of ``step`` from the same start: the state after each call, what each returned, the loss it made,
    and the random generator's state after it (a step that reseeds or draws numbers of its own moves it)."""
    gen = torch.Generator().manual_seed(11)
    batches = [_batch(torch.randn(6, 3, 8, 8, generator=gen), torch.tensor([0, 1, 2, 3, 4, 0]).roll(i))
               for i in range(2)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = on_the_device(_tiny_model().train())

        def forward(module: nn.Module, inputs: Any, output: Any) -> None:
            trace.add("forward", train=module.training, grad=torch.is_grad_enabled(),
                      frozen=not all(p.requires_grad for p in module.parameters()))
            if isinstance(output, torch.Tensor) and output.requires_grad:
                output.register_hook(lambda g: trace.add("backward_logits"))

        def zero_grad(set_to_none: bool = True) -> None:  # the model's zero_grad clears the same gradients
            trace.add("zero_grad")
            nn.Module.zero_grad(model, set_to_none=set_to_none)

        model.register_forward_hook(forward)
        model.zero_grad = zero_grad
        loss_fn, optimizer = _Loss(trace), _SGD(model.parameters(), trace)
        states, returned, computed, streams = [], [], [], []
        for i, (images, labels) in enumerate(batches):
            torch.manual_seed(100 + i)  # the same dropout masks for the learner's step and the engine's
            trace.append([])
            returned.append(step(model, images, labels, optimizer, loss_fn))
            computed.append(loss_fn.last)
            states.append({k: v.detach().clone() for k, v in model.state_dict().items()})
            streams.append(torch.get_rng_state())
            trace.add("after", train=model.training, lr=[g["lr"] for g in optimizer.param_groups])
    return states, returned, computed, streams


def _read_trace(events: list, complete: bool = True) -> tuple[str, str, str, str] | None:
    """The mistake one call's trace shows, as (what ko, what en, hint ko, hint en), or ``None``.

    ``complete=False``: the call stopped with an error, so only what happened before it can be judged.
    """
    names = [e for e, _ in events]
    forward, loss, after = (next((d for e, d in events if e == name), None) for name in ("forward", "loss", "after"))
    backward = min((i for i, e in enumerate(names) if e.startswith("backward")), default=-1)
    step = names.index("step") if "step" in names else -1
    if forward is None and (complete or "loss" in names):
        return ("스텝이 넘겨받은 model을 한 번도 부르지 않았습니다: 노트북의 다른 변수(model, net …)를 쓰지 "
                "않나요? 엔진은 학습할 모델을 인자로 넘깁니다.",
                "The step never calls the model it is given: does it use another notebook variable (model, net …)? "
                "The engine passes the model to train as an argument.",
                "def train_step(model, images, labels, optimizer, loss_fn): 안에서는 인자로 받은 model(images)를 "
                "부르세요.",
                "Inside def train_step(model, images, labels, optimizer, loss_fn):, call the model you were given: "
                "model(images).")
    if forward is not None and forward["frozen"]:
        return ("매개변수의 requires_grad가 꺼진 채로 순전파했습니다(앞 스텝이 requires_grad_(False)를 남겼나요?): "
                "기울기가 없으니 학습이 멈춥니다.",
                "The forward pass ran with the parameters' requires_grad off (did the step before leave "
                "requires_grad_(False)?): without gradients, training stops.",
                "스텝에서 매개변수의 requires_grad를 건드리지 마세요.",
                "Leave the parameters' requires_grad alone in the step.")
    if forward is not None and not forward["grad"]:
        return ("순전파를 torch.no_grad() 안에서 했습니다: 기울기를 구할 계산 그래프가 없습니다.",
                "The forward pass ran inside torch.no_grad(): there is no graph to compute gradients from.",
                "no_grad는 평가(evaluate)에서만 씁니다. 학습 스텝에서는 빼세요.",
                "no_grad belongs in the evaluation; leave it out of the training step.")
    if (forward is not None and not forward["train"]) or (after is not None and not after["train"]):
        return ("스텝이 모델을 평가 모드(model.eval())로 바꿨습니다: 학습 중에는 드롭아웃과 배치 정규화가 "
                "학습 모드여야 합니다.",
                "The step put the model in eval mode (model.eval()): during training, dropout and batch norm must be "
                "in train mode.",
                "모드는 엔진이 정합니다: train_one_epoch가 에포크마다 model.train()을 부릅니다. "
                "스텝에서 model.eval()을 빼세요.",
                "The engine sets the mode: train_one_epoch calls model.train() every epoch. Remove model.eval() from "
                "the step.")
    if loss is not None and loss["swapped"]:
        return ("loss_fn(labels, logits)처럼 인자의 순서가 바뀌었습니다.",
                "The arguments are swapped, as in loss_fn(labels, logits).",
                "PyTorch의 손실 함수는 예측이 먼저, 정답이 나중입니다: loss_fn(logits, labels).",
                "PyTorch losses take the prediction first, the target second: loss_fn(logits, labels).")
    if loss is not None and loss["detached"]:
        return ("손실에 넣은 로짓이 계산 그래프에서 떨어져 있습니다(.detach() 또는 .data).",
                "The logits given to the loss are cut off the graph (.detach() or .data).",
                "model(images)의 출력을 그대로 loss_fn에 넣으세요.", "Pass model(images)'s output to loss_fn as it is.")
    if loss is not None and loss["softmax"]:
        return ("손실에 로짓이 아니라 확률(softmax의 출력)을 넣었습니다: CrossEntropyLoss는 안에서 log-softmax를 "
                "하므로 softmax가 두 번 걸리고, 기울기가 작고 엉뚱해집니다.",
                "The loss gets probabilities (softmax's output), not logits: CrossEntropyLoss applies log-softmax "
                "itself, so softmax is applied twice and the gradients shrink and go astray.",
                "softmax 없이 model(images)의 출력을 그대로 loss_fn에 넣으세요.",
                "Pass model(images)'s output to loss_fn as it is, without softmax.")
    if not complete:
        return None
    if after is not None and any(lr != _LR for lr in after["lr"]):
        return (f"스텝이 학습률을 {josa(format(after['lr'][0], 'g'), '로')} 바꿨습니다(optimizer.param_groups의 "
                "'lr'): 학습률은 엔진의 스케줄이 정합니다.",
                f"The step set the learning rate to {after['lr'][0]:g} (optimizer.param_groups' 'lr'): the engine's "
                "schedule sets it.",
                "스텝에서 optimizer.param_groups를 건드리지 마세요.", "Leave optimizer.param_groups alone in the step.")
    if step < 0:
        return ("optimizer.step()을 부르지 않았습니다: 가중치가 바뀌지 않습니다.",
                "optimizer.step() is never called: the weights do not change.",
                "넘겨받은 optimizer로 optimizer.step()을 부르세요(새 옵티마이저를 만들지 말고).",
                "Call optimizer.step() on the optimizer you were given (do not make a new one).")
    if backward < 0:
        return ("loss.backward()를 부르지 않았습니다: 기울기가 없어 갱신할 것이 없습니다.",
                "loss.backward() is never called: without gradients there is nothing to update.", "", "")
    if "backward_loss" not in names:
        return ("역전파를 손실이 아닌 다른 값(로짓 등)에서 했습니다.",
                "Backward ran from something other than the loss (the logits?).",
                "loss = loss_fn(logits, labels)의 loss에서 loss.backward()를 부르세요.",
                "Call loss.backward() on the loss = loss_fn(logits, labels).")
    if step < backward:
        return ("optimizer.step()을 loss.backward()보다 먼저 불렀습니다: 이번 배치의 기울기가 생기기 전에 갱신합니다.",
                "optimizer.step() comes before loss.backward(): it updates before this batch's gradients exist.",
                "순서: 순전파 → 손실 → zero_grad → backward → step.",
                "The order: forward → loss → zero_grad → backward → step.")
    if "zero_grad" in names[backward + 1:step]:
        return ("backward와 step 사이에서 zero_grad를 불러, 방금 구한 기울기를 갱신 전에 지웠습니다.",
                "zero_grad between backward and step wipes the new gradients before the update.",
                "zero_grad는 backward보다 먼저(또는 step 뒤에) 부르세요.",
                "Call zero_grad before backward (or after step).")
    if names.count("step") > 1:
        return "optimizer.step()을 한 스텝에 두 번 불렀습니다.", "optimizer.step() is called twice in one step.", "", ""
    if names.count("backward_loss") > 1:  # twice with retain_graph=True: the gradients add up
        return ("loss.backward()를 두 번 불렀습니다: 기울기가 더해져 두 배가 됩니다. 한 스텝에 한 번입니다.",
                "loss.backward() is called twice: the gradients add up to double. Once per step.", "", "")
    return None


def _explain_error(text: str) -> tuple[str, str]:
    """A (ko, en) hint for the autograd errors a training step runs into."""
    if "implicitly created only for scalar outputs" in text:
        return ("스칼라(scalar)가 아닌 텐서(로짓?)에서 backward()를 불렀습니다. 손실은 배치 전체에 숫자 하나입니다: "
                "loss = loss_fn(logits, labels); loss.backward().",
                "backward() on a tensor that is not a scalar (the logits?). The loss is one number for the batch: "
                "loss = loss_fn(logits, labels); loss.backward().")
    if "has no attribute 'backward'" in text:
        return ("loss.item()처럼 파이썬 숫자가 된 손실에서는 역전파할 수 없습니다. 텐서인 손실에서 backward()를 "
                "부르세요.",
                "A loss turned into a Python number (loss.item()) cannot backpropagate: call backward() on the tensor.")
    if "backward through the graph a second time" in text:
        return ("loss.backward()를 두 번 불렀습니다: 한 스텝에 한 번입니다.",
                "loss.backward() is called twice: once per step.")
    if "does not require grad" in text:
        return ("손실이 계산 그래프에 이어져 있지 않습니다(.detach(), .item(), torch.no_grad()?).",
                "The loss is not connected to the graph (.detach(), .item(), torch.no_grad()?).")
    if "target" in text and ("Long" in text or "Float" in text or "dtype" in text):
        return ("레이블은 클래스 번호(int64)인 그대로 손실에 넣습니다: labels.float() 같은 변환을 빼세요.",
                "Labels go into the loss as they are, class indices (int64): drop conversions such as labels.float().")
    return "", ""


@never_raises("check_train_step")
def check_train_step(result: CheckResult, train_step: Callable[..., Any]) -> CheckResult:
    """Does ``train_step`` leave the same weights as the engine's step, after one step and after two?"""
    if result.not_a_function(train_step):
        return result
    want, _, _, want_streams = _run(reference_step, _Trace())
    trace = _Trace()
    try:
        got, returned, computed, streams = _run(train_step, trace)
    except Exception as exc:  # noqa: BLE001
        if is_stub(exc):
            raise
        said_ko, said_en = describe_exception(exc)
        named = _read_trace(trace[-1], complete=False) if trace else None
        if named is not None:
            result.fail(f"{named[0]} ({said_ko})", f"{named[1]} ({said_en})", *named[2:])
        else:
            hint = _explain_error(printable(exc))
            result.fail(said_ko, said_en, *(hint if any(hint) else exception_hint(exc)))
        return result
    value = returned[0]
    if not isinstance(value, torch.Tensor):
        number = isinstance(value, Real) and not isinstance(value, bool)
        result.fail(f"손실 텐서가 아니라 {josa(type(value).__name__, '을')} 돌려줍니다.",
                    f"Returns a {type(value).__name__}, not the loss tensor.",
                    *(("loss.item()이 아니라 loss를 돌려주세요: 엔진은 손실을 GPU 위에서 더하고, .item()은 스텝마다 "
                       "GPU를 기다리게 합니다.", "Return loss, not loss.item(): the engine sums losses on the GPU, and "
                       ".item() would make every step wait for it.") if number else
                      ("마지막 줄에 return loss를 쓰세요.", "End with return loss.")))
        return result
    if value.numel() != 1:
        result.fail(f"모양이 {tuple(value.shape)}인 텐서를 돌려줍니다: 손실(숫자 하나)이 아닙니다(로짓?).",
                    f"Returns a tensor of shape {tuple(value.shape)}: not the loss, a single number (the logits?).",
                    "return loss", "return loss")
        return result
    if not isinstance(computed[0], torch.Tensor):
        result.fail("넘겨받은 loss_fn을 부르지 않았습니다: 엔진의 손실 함수(레이블 평활화 등 레시피의 설정이 들어 "
                    "있음) 대신 다른 손실을 썼습니다.",
                    "The loss_fn you were given is never called: another loss took the place of the engine's (which "
                    "carries the recipe's settings, such as label smoothing).",
                    "loss = loss_fn(logits, labels)", "loss = loss_fn(logits, labels)")
        return result
    got_loss = float(value.detach())
    want_loss = float(computed[0].detach()) if isinstance(computed[0], torch.Tensor) else math.nan
    if not math.isclose(got_loss, want_loss, rel_tol=1e-5, abs_tol=1e-6):
        calls = sum(e == "loss" for e, _ in trace[0])
        many = (f" loss_fn을 한 스텝에 {calls}번 불렀습니다(이미지마다?): 배치 전체의 로짓으로 한 번만 부르세요.",
                f" loss_fn was called {calls} times in one step (once per image?): call it once, on the whole "
                "batch's logits.") if calls > 1 else ("", "")
        result.fail(f"돌려준 값 {josa(format(got_loss, '.4f'), '이')} loss_fn이 계산한 손실 "
                    f"{josa(format(want_loss, '.4f'), '과')} 다릅니다.{many[0]}",
                    f"Returns {got_loss:.4f}, not the loss that loss_fn computed ({want_loss:.4f}).{many[1]}",
                    "loss = loss_fn(logits, labels)를 그대로 돌려주세요.",
                    "Return loss = loss_fn(logits, labels) as it is.")
        return result
    result.ok(f"손실 텐서(숫자 하나, {got_loss:.4f})를 돌려줍니다.", f"Returns the loss tensor ({got_loss:.4f}).")
    for i in range(2):
        diffs = {k: float((got[i][k].double() - w.double()).abs().max()) for k, w in want[i].items()}
        if max(diffs.values()) <= 1e-5:
            continue
        floats = [k for k, w in want[i].items() if w.is_floating_point() and diffs[k] > 1e-5]
        name = max(floats or diffs, key=diffs.get)  # the weight (or statistic) that differs most, floats first
        named = _read_trace(trace[i])
        if named is None and i == 1 and not any(e == "zero_grad" for call in trace for e, _ in call):
            named = ("zero_grad를 부르지 않았습니다: 두 번째 스텝이 첫 배치와 둘째 배치의 기울기를 더한 값으로 "
                     "갱신했습니다 (backward는 .grad에 더합니다).",
                     "zero_grad is never called: the second step used the first and second batches' gradients added "
                     "together (backward adds into .grad).",
                     "backward 전에 optimizer.zero_grad()를 부르세요.", "Call optimizer.zero_grad() before backward.")
        if named is None and not torch.equal(streams[i], want_streams[i]):
            named = ("스텝이 난수 생성기를 엔진의 스텝과 다르게 썼습니다(torch.manual_seed를 다시 부르거나 난수를 따로 "
                     "뽑음): 그러면 드롭아웃이 엔진의 스텝과 다른 뉴런을 지웁니다.",
                     "The step used the random generator differently from the engine's (it reseeds with "
                     "torch.manual_seed or draws numbers of its own): dropout then drops other units than the "
                     "engine's step.",
                     "시드는 노트북의 설정 셀이 한 번만 정합니다: 스텝에서 manual_seed와 따로 뽑는 난수를 빼세요.",
                     "The setup cell seeds once for the notebook: take manual_seed and any draws of your own out of "
                     "the step.")
        ko, en, *hint = named or ("", "", "순서를 엔진과 맞춰 보세요: 순전파 → 손실 → zero_grad → backward → step, 그 "
                                  "밖의 계산 없이(두 번째 순전파, 부호 바꾸기, 스케줄 step 등).",
                                  "Match the engine's order: forward → loss → zero_grad → backward → step, and "
                                  "nothing else (no second forward pass, no sign change, no schedule step).")
        result.fail(f"{('첫', '두')[i]} 번째 스텝 뒤의 가중치가 엔진의 스텝과 다릅니다 "
                    f"(가장 큰 차이: {name}에서 {diffs[name]:.3g}). {ko}",
                    f"After step {i + 1} the weights differ from the engine's step (largest difference "
                    f"{diffs[name]:.3g} in {name}). {en}", *hint)
        return result
    result.ok("같은 시작점에서 한 스텝, 두 스텝 뒤의 가중치와 배치 정규화 통계가 엔진의 스텝과 같습니다.",
              "From the same start, the weights and batch-norm statistics after one step and after two are those of "
              "the engine's step.")
    return result


class _Loader(list):
    """Batches, and ``len()`` as a DataLoader or the engine's DeviceLoader gives it: the number of batches. Like
    theirs (and the progress bar the engine wraps them in), it is gone over with ``for``, never indexed."""

    def __getitem__(self, index: Any) -> Any:
        raise TypeError("'loader' object is not subscriptable: go over it with for images, labels in loader")


class _Schedule:
    """A learning-rate schedule that notes its steps in a trace."""

    def __init__(self, trace: _Trace) -> None:
        self.trace = trace

    def step(self, *args: Any, **kwargs: Any) -> None:
        self.trace.add("schedule", given=bool(args or kwargs))

    def get_last_lr(self) -> list[float]:
        return [0.0]


class _KeepLogits(nn.Module):
    """Cross-entropy that keeps the logits it last saw, as the engine's loss does (``loss_fn.logits``)."""

    logits = None  # as the engine's loss: nothing before the first step

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.logits = logits
        return F.cross_entropy(logits, labels)


class _Alive:
    """A token hooked to one batch's graph: it lives as long as something keeps that graph."""


def _same(got: Any, batch: torch.Tensor) -> bool:
    """Is ``got`` this batch's images, or a copy of them (.contiguous(memory_format=…), .float(), .to(…))?"""
    if got is batch:
        return True
    try:
        return tuple(got.shape) == tuple(batch.shape) and torch.equal(got.detach().cpu().to(batch.dtype), batch)
    except Exception:  # noqa: BLE001 - not a tensor: not this batch
        return False


def _epoch_slips(losses: list[float], hits: list[int]) -> tuple[list, list]:
    """Each usual slip's (value, ko, en) for the loss and for the accuracy of an epoch of these batches."""
    sizes, n, b = _EPOCH_BATCHES, sum(_EPOCH_BATCHES), len(_EPOCH_BATCHES)
    weighted, right, guessed = sum(v * k for v, k in zip(losses, sizes)), sum(hits), b * sizes[0]
    by_batches = ("배치 수(len(loader))로 나눴습니다.", "You divided by the number of batches (len(loader)).")
    batch_means = (f"배치마다의 평균을 다시 평균했습니다: 마지막 배치({sizes[-1]}장)가 {sizes[0]}장짜리 배치와 같은 "
                   "비중으로 계산됩니다.",
                   f"You averaged the batches' means: the last batch ({sizes[-1]} images) weighs as much as one of "
                   f"{sizes[0]}.")
    guess = (f"이미지 수를 len(loader) × 배치 크기 = {guessed}장으로 셌습니다. 마지막 배치는 {sizes[-1]}장이라 모두 "
             f"{n}장입니다.",
             f"You counted len(loader) × batch size = {guessed} images, but the last batch holds {sizes[-1]}: there "
             f"are {n}.")
    last = ("마지막 배치의 값뿐입니다: 에포크 전체를 더해 가세요.",
            "That is the last batch's value alone: add up the whole epoch.")
    last_count = (f"마지막 배치의 이미지 수({sizes[-1]}장)로 나눴습니다: 이미지 수를 더하는 줄(count += "
                  "labels.size(0))이 for 문 밖에 있지 않나요?",
                  f"You divided by the last batch's images ({sizes[-1]}): is the line that counts them (count += "
                  "labels.size(0)) outside the for loop?")
    loss = [(sum(losses) / b, *batch_means), (weighted / b, *by_batches), (weighted / guessed, *guess),
            (sum(losses), "배치마다의 평균 손실을 더하기만 했습니다.", "You added up the batches' mean losses."),
            (weighted, "이미지 수로 나누지 않았습니다.", "You did not divide by the number of images."),
            (sum(losses) / n, "배치마다의 평균 손실에 그 배치의 이미지 수를 곱하지 않고 더했습니다.",
             "You added the batches' mean losses without weighting each by its images."),
            (losses[-1], *last), (weighted / sizes[-1], *last_count)]
    acc = [(sum(h / k for h, k in zip(hits, sizes)) / b, *batch_means), (right / b, *by_batches),
           (right / guessed, *guess), (right, "맞힌 개수 그대로입니다: 이미지 수로 나누세요.",
                                       "That is the count itself: divide it by the number of images."),
           (100 * right / n, "백분율입니다: 0과 1 사이의 비율을 돌려주세요.",
            "That is a percentage: return a fraction between 0 and 1."),
           (1 - right / n, "틀린 비율(오류율)입니다.", "That is the error rate, not the accuracy."),
           (hits[-1] / sizes[-1], *last), (right / sizes[-1], *last_count), (0.0, *_ZERO_HITS),
           (sum(h / k for h, k in zip(hits, sizes)) / n, "배치마다 정확도(.mean())를 더했습니다: 더할 것은 맞힌 "
            "수(.sum())입니다.", "You added each batch's accuracy (.mean()) where its hits (.sum()) belong.")]
    return loss, acc


def _run_epoch(loop: Callable, trace: _Trace, count: int = len(_EPOCH_BATCHES)
               ) -> tuple[list[float], list[int], list[bool], Any, bool]:
    """The learner's ``loop`` over batches of 4, 4, 4 and 2 images (the first ``count`` of them) with a recording
    step, optimizer and schedule.

    The learning rate is 0, so that each batch's hits are the ones chosen (:data:`_EPOCH_RIGHT`). ``trace`` gets the
    events (each call of the step, forward pass, optimizer step and schedule step, in order); returns each batch's
    loss and hits as the step made them, whether some batch's graph was kept alive, what the loop returned, and
    whether it moved torch's random generator (nothing in these batches draws a number: a reseed did).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        model = on_the_device(nn.Sequential(nn.Flatten(), nn.Linear(12, 3)))
        images = torch.randn(sum(_EPOCH_BATCHES), 3, 2, 2)
    with torch.no_grad():
        preds = model(images).argmax(1)
    loader, start = _Loader(), 0
    for size, right in list(zip(_EPOCH_BATCHES, _EPOCH_RIGHT))[:count]:
        p = preds[start:start + size]
        loader.append(_batch(images[start:start + size], torch.where(torch.arange(size) < right, p, (p + 1) % 3)))
        start += size
    keep, tokens, losses, hits, leaked = _KeepLogits(), [], [], [], []
    net, sgd, scheduler, inside = model, _SGD(model.parameters(), trace, lr=0.0), _Schedule(trace), [False]
    model.register_forward_hook(lambda m, i, o: trace.add("forward", train=m.training, in_step=inside[0]))

    # the names the lesson gives: a learner may call step(model=…, images=…, …)
    def step(model: Any, images: Any, labels: Any, optimizer: Any, loss_fn: Any) -> torch.Tensor:
        leaked.append(any(t() is not None for t in tokens[:-1]))  # graphs before the last one must be gone
        trace.add("call", batch=next((i for i, (x, y) in enumerate(loader) if _same(images, x) or labels is y), -1),
                  given=model is net and optimizer is sgd and loss_fn is keep,
                  swapped=any(_same(labels, x) for x, _ in loader))
        inside[0] = True
        try:
            loss = reference_step(model, images, labels, optimizer, loss_fn)
        finally:
            inside[0] = False
        token = _Alive()
        tokens.append(weakref.ref(token))
        for t in (loss, getattr(loss_fn, "logits", None)):
            if isinstance(t, torch.Tensor) and t.requires_grad:
                t.register_hook(lambda g, token=token: None)  # lives with the graph
        losses.append(float(loss.detach()))
        hits.append(int((keep.logits.argmax(1) == labels).sum()) if loss_fn is keep else -1)
        return loss

    model.eval()  # as the last evaluation left it
    before = torch.get_rng_state()
    returned = loop(model, loader, sgd, scheduler, keep, step)
    keep.logits = None
    leaked.append(any(t() is not None for t in tokens))
    return losses, hits, leaked, returned, not torch.equal(before, torch.get_rng_state())


_NOT_GIVEN = ("step에 넘겨받은 것과 다른 model, optimizer 또는 loss_fn을 넘겼습니다.",
              "The step gets another model, optimizer or loss_fn than the ones the loop was given.",
              "넘겨받은 것을 그대로 넘기세요: 엔진이 넘겨준 것에는 혼합 정밀도가 적용되어 있고, 그 loss_fn은 "
              "loss_fn.logits를 남깁니다.",
              "Pass on the ones you were given: the engine's add mixed precision, and its loss_fn keeps "
              "loss_fn.logits.")


@never_raises("check_train_one_epoch")
def check_train_one_epoch(result: CheckResult, train_one_epoch: Callable[..., Any]) -> CheckResult:
    """Does ``train_one_epoch`` step every batch in train mode, step the schedule after each, and return the loss
    and accuracy over the epoch's images? Batches of 4, 4, 4 and 2 images give each usual slip a number of its own.
    """
    if result.not_a_function(train_one_epoch):
        return result
    trace = _Trace([[]])
    events = trace[-1]
    try:
        losses, hits, leaked, value, reseeded = _run_epoch(train_one_epoch, trace)
    except Exception as exc:  # noqa: BLE001
        if is_stub(exc):
            raise
        text = printable(exc)
        if not all(d["given"] for e, d in events if e == "call"):
            said_ko, said_en = describe_exception(exc)
            result.fail(f"{_NOT_GIVEN[0]} ({said_ko})", f"{_NOT_GIVEN[1]} ({said_en})", *_NOT_GIVEN[2:])
            return result
        if any(d["swapped"] for e, d in events if e == "call"):
            result.fail(*describe_exception(exc), "step에 이미지 자리에 레이블을 넘겼습니다: 순서는 "
                        "step(model, images, labels, optimizer, loss_fn)입니다.", "step gets the labels where the "
                        "images go: the order is step(model, images, labels, optimizer, loss_fn).")
            return result
        hint = (("loader에는 .dataset이나 .batch_size가 없을 수도 있습니다: 배치마다 labels.size(0)을 더해 이미지 수를 "
                 "세세요.", "A loader need not have .dataset or .batch_size: count the images as you go, adding "
                 "labels.size(0) per batch.") if "dataset" in text or "batch_size" in text else
                ("반복문이 torch.no_grad()나 torch.inference_mode() 안에 있습니다: 학습에는 기울기가 필요합니다.",
                 "The loop runs inside torch.no_grad() or torch.inference_mode(): training needs gradients.")
                if "does not require grad" in text
                else _AFTER_STEP if "'NoneType' object" in text and "max" in text
                else tuple(f"{a} {b}" for a, b in zip(_HITS, _AFTER_STEP)) if "must match the size" in text
                else exception_hint(exc))
        result.fail(*describe_exception(exc), *hint)
        return result
    calls = [d for e, d in events if e == "call"]
    names = [e for e, _ in events]
    b, n, sizes = len(_EPOCH_BATCHES), sum(_EPOCH_BATCHES), _EPOCH_BATCHES
    seen, steps, schedules, forwards = [d["batch"] for d in calls], *(names.count(e) for e in (
        "step", "schedule", "forward"))
    after_last_call = names[len(names) - names[::-1].index("call"):] if "call" in names else []
    slips = [  # (did it happen?, what ko, what en, hint ko, hint en): the first that happened is named
        (not calls, "step(model, images, labels, optimizer, loss_fn)을 한 번도 부르지 않았습니다.",
         "step(model, images, labels, optimizer, loss_fn) is never called.",
         "배치마다 넘겨받은 step을 부르세요: 순전파부터 갱신까지는 그 함수가 합니다.",
         "Call the step you were given for every batch: it does everything from the forward pass to the update."),
        (not all(d["given"] for d in calls), *_NOT_GIVEN),
        (seen == [0], "첫 배치 뒤에 반복문을 빠져나왔습니다: 나머지 배치로는 학습하지 않습니다.",
         "The loop stops after the first batch: the other batches are never trained on.",
         "for 문 안에 return이나 break가 잘못 들여 쓰여 있지 않은지 보세요.",
         "Check that no return (or break) is indented inside the for loop."),
        (seen == list(range(b - 1)), f"마지막 배치({sizes[-1]}장)가 스텝에 가지 않았습니다.",
         f"The last batch ({sizes[-1]} images) never reaches the step.",
         "for images, labels in loader: 로 모든 배치를 도세요. 작은 마지막 배치도 학습에 씁니다.",
         "Loop over every batch, for images, labels in loader: the short last batch trains too."),
        (seen != list(range(b)), f"스텝이 받은 배치는 {seen}입니다: 배치 0, 1, 2, 3을 한 번씩 받아야 합니다.",
         f"The step gets batches {seen}, not each of 0, 1, 2 and 3 once.",
         "for images, labels in loader: 로 배치마다 step을 한 번 부르세요.",
         "Call step once per batch: for images, labels in loader: …"),
        (not all(d["train"] for e, d in events if e == "forward" and d["in_step"]),
         "모델이 평가 모드로 학습했습니다: 드롭아웃이 꺼지고 배치 정규화가 누적 통계를 씁니다.",
         "The model trained in eval mode: dropout is off and batch norm uses its running statistics.",
         "반복문 앞에서 model.train()을 괄호까지 붙여 부르세요(model.train만 쓰면 아무 일도 하지 않습니다): 지난 "
         "에포크의 평가가 모델을 평가 모드로 두고 끝납니다.",
         "Call model.train() before the loop, with its parentheses (model.train alone does nothing): the last "
         "epoch's evaluation left the model in eval mode."),
        (steps != b, f"optimizer.step()이 배치 {b}개에 {steps}번 불렸습니다: 갱신은 step이 합니다.",
         f"optimizer.step() runs {steps} times for {b} batches: the step already updates.",
         "반복문에서는 optimizer.step()을 부르지 마세요.", "Do not call optimizer.step() in the loop."),
        (not schedules, "scheduler.step()을 부르지 않았습니다: 학습률이 바뀌지 않습니다.",
         "scheduler.step() is never called: the learning rate never changes.",
         "배치마다 step(...) 뒤에 scheduler.step()을 부르세요.",
         "Call scheduler.step() after step(...) for every batch."),
        (any(d["given"] for e, d in events if e == "schedule"),
         "scheduler.step()에 값을 넘겼습니다(scheduler.step(loss)?): 원사이클 스케줄의 step은 인자 없이 부릅니다. "
         "넘긴 값은 손실이 아니라 에포크 번호로 읽혀 학습률이 엉뚱해집니다(손실을 받는 스케줄은 ReduceLROnPlateau).",
         "scheduler.step() gets a value (scheduler.step(loss)?): the one-cycle schedule's step takes no argument. "
         "The value is read as an epoch number, not a loss, and the learning rate goes astray (ReduceLROnPlateau is "
         "the schedule that takes a loss).",
         "scheduler.step()처럼 괄호를 비워 부르세요.", "Call it with empty parentheses: scheduler.step()."),
        (schedules == 1, "scheduler.step()을 에포크에 한 번 불렀습니다: 원사이클 스케줄은 배치마다 한 칸씩 움직입니다.",
         "scheduler.step() is called once per epoch: the one-cycle schedule moves one notch per batch.",
         "scheduler.step()을 for 문 안, step(...) 바로 뒤에서 조건(if) 없이 부르세요.",
         "Call scheduler.step() inside the for loop, right after step(...), with no condition (if) around it."),
        (schedules != b, f"scheduler.step()이 배치 {b}개에 {schedules}번 불렸습니다: 배치마다 한 번입니다.",
         f"scheduler.step() runs {schedules} times for {b} batches: once per batch.",
         *(("마지막 step(...) 뒤, 반복문 밖에서 한 번 더 불렸습니다: 반복문 뒤의 scheduler.step()을 지우세요.",
            "One more call comes after the last step(...), outside the loop: remove the scheduler.step() after "
            "the loop.") if after_last_call.count("schedule") > 1 else
           ("", ""))),
        (any(names[:i].count("step") < names[:i + 1].count("schedule") for i, e in enumerate(names) if e == "schedule"),
         "scheduler.step()을 optimizer.step()보다 먼저 불렀습니다: 첫 배치가 첫 학습률을 건너뜁니다(PyTorch도 "
         "경고합니다).",
         "scheduler.step() comes before optimizer.step(): the first batch skips the first learning rate (PyTorch "
         "warns about it too).",
         "step(...)을 부른 다음에 scheduler.step()을 부르세요.", "Call scheduler.step() after step(...)."),
        (forwards != b, f"모델을 배치 {b}개에 {forwards}번 돌렸습니다: 순전파를 한 번 더 하면 시간이 더 들고, 학습 "
         "모드의 배치 정규화는 통계를 한 번 더 갱신합니다.",
         f"The model ran {forwards} times for {b} batches: a second forward pass costs time, and in train mode "
         "batch norm updates its statistics again.",
         "맞힌 수는 스텝의 순전파가 남긴 loss_fn.logits로 세세요.",
         "Count the hits from loss_fn.logits, left by the step's own forward pass."),
        (reseeded, "반복문이 torch의 난수 생성기를 건드렸습니다(torch.manual_seed …): 에포크마다 같은 드롭아웃 "
         "마스크와 같은 무작위 순서가 되풀이됩니다.",
         "The loop touches torch's random generator (torch.manual_seed …): every epoch would repeat the same dropout "
         "masks and the same random order.",
         "시드는 엔진이 학습을 시작할 때 한 번 정합니다: 반복문에서 torch.manual_seed를 빼세요.",
         "The engine seeds once, when training starts: take torch.manual_seed out of the loop."),
        (any(leaked), "배치마다의 계산 그래프가 에포크 내내 메모리에 남습니다(loss_sum += loss, 손실의 리스트 …): GPU "
         "메모리가 배치마다 늘어 결국 모자랍니다.",
         "Every batch's computation graph stays in memory for the whole epoch (loss_sum += loss, a list of losses "
         "…): GPU memory grows with every batch until it runs out.",
         "더할 때는 loss.detach()(또는 loss.item())를 쓰세요.", "Add loss.detach() (or loss.item()) instead.")]
    failure = next((slip[1:] for slip in slips if slip[0]), None)
    if failure is not None:
        result.fail(*failure)
        return result
    if not isinstance(value, dict) or not {"loss", "acc"} <= set(value):
        got = type(value).__name__ + (f" {sorted(value)}" if isinstance(value, dict) else "")
        result.fail(f'돌려준 값이 {got}입니다: {{"loss": …, "acc": …}} 꼴의 딕셔너리(dict)를 돌려주세요.',
                    f'Returns a {got}, not {{"loss": …, "acc": …}}.',
                    *['return {"loss": loss_sum / count, "acc": correct / count}'] * 2)
        return result
    numbers = {}
    for key in ("loss", "acc"):
        numbers[key] = _as_number(value[key])
        if numbers[key] is None:
            kind = type(value[key]).__name__
            result.fail(f'"{key}"의 값이 숫자가 아니라 {kind}입니다.',
                        f'The value of "{key}" is a {kind}, not a number.')
            return result
    truth = {"loss": sum(v * k for v, k in zip(losses, sizes)) / n, "acc": sum(hits) / n}
    for key, slips_of_key, ko, en in zip(("loss", "acc"), _epoch_slips(losses, hits), ("손실은", "정확도는"),
                                         ("loss", "accuracy")):
        got, want = numbers[key], truth[key]
        if math.isclose(got, want, rel_tol=1e-5, abs_tol=1e-7):
            continue
        found = next((i for i, (v, _, _) in enumerate(slips_of_key) if math.isclose(got, v, rel_tol=1e-5)), None)
        said = _ROUNDED if found is None and _rounded(got, want) else ("", "") if found is None else \
            slips_of_key[found][1:]
        # a slip in counting the images (or no known slip): the hint says how to count them
        hint = ("배치마다 손실 × labels.size(0)과 맞힌 수를 더하고, 끝에서 이미지 수로 나누세요.",
                "Add each batch's loss × labels.size(0) and its hits; divide by the number of images at the end."
                ) if found is None or found < 3 else ("", "")
        result.fail(f"{ko} {got:.4g}입니다. 이미지 {n}장에 대해 세면 {want:.4f}입니다. {said[0]}",
                    f"The {en} is {got:.4g}, but over the {n} images it is {want:.4f}. {said[1]}", *hint)
        return result
    try:  # a second epoch, of the first three batches: its own numbers, or the first epoch's carried over?
        losses, hits, _, again, _ = _run_epoch(train_one_epoch, _Trace([[]]), count=b - 1)
        second = {"loss": sum(v * k for v, k in zip(losses, sizes)) / sum(sizes[:-1]),
                  "acc": sum(hits) / sum(sizes[:-1])}
    except Exception:  # noqa: BLE001 - the first call ran; a second that fails is judged by what it returned
        again = None
    again = {k: _as_number(again.get(k)) for k in ("loss", "acc")} if isinstance(again, dict) else {}
    if any(again.get(k) is None or not math.isclose(again[k], second[k], rel_tol=1e-6, abs_tol=1e-9)
           for k in ("loss", "acc")):
        result.fail("다음 에포크(배치 3개)에서는 그 에포크의 값이 아닌 것을 돌려줍니다: 손실과 맞힌 수를 더하는 변수가 "
                    "지난 호출의 값을 이어받습니다(함수 밖의 변수, 또는 stats=[0, 0] 같은 기본값).",
                    "The next epoch (3 batches) returns numbers that are not that epoch's own: the totals carry over "
                    "from the previous call (variables outside the function, or a default such as stats=[0, 0]).",
                    "합계는 함수 안, 반복문 앞에서 0으로 시작하세요: loss_sum, correct, count = 0.0, 0, 0",
                    "Start the totals at 0 inside the function, before the loop: loss_sum, correct, count = 0.0, 0, 0")
        return result
    result.ok(f"배치 {b}개(4, 4, 4, 2장)를 학습 모드에서 한 번씩 스텝에 넘기고 그때마다 스케줄을 한 칸 움직이며, "
              f"손실({truth['loss']:.4f})과 정확도({truth['acc']:.4f})를 이미지 {n}장에 대해 맞게 셉니다.",
              f"Every batch of {b} (4, 4, 4 and 2 images) goes to the step once, in train mode, with the schedule "
              f"stepped after each; the loss {truth['loss']:.4f} and accuracy {truth['acc']:.4f} are right over the "
              f"{n} images.")
    return result


@never_raises("check_evaluate")
def check_evaluate(result: CheckResult, evaluate: Callable[..., Any]) -> CheckResult:
    """Does ``evaluate(model, loader)`` return the fraction of right images, in eval mode and without gradients?

    The tiny model comes in train mode, as training leaves it; restoring train mode afterwards is the engine's
    job (``train_one_epoch`` calls ``model.train()`` every epoch), so either way passes.
    """
    if result.not_a_function(evaluate):
        return result
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        model = _tiny_model()
        images = torch.randn(sum(_EVAL_BATCHES), 3, 8, 8) * 2 + 0.5
        with torch.no_grad():
            model.train()(images)  # running statistics that differ from any one batch's
            preds = model.eval()(images).argmax(1)
    batches, start = _Loader(), 0
    for size, right in zip(_EVAL_BATCHES, _EVAL_RIGHT):
        p = preds[start:start + size]
        batches.append(_batch(images[start:start + size], torch.where(torch.arange(size) < right, p, (p + 1) % 5)))
        start += size
    model.train()
    truth = reference_evaluate(copy.deepcopy(model), _Loader(batches))
    weights = copy.deepcopy(model.state_dict())
    seen: list[tuple[bool, bool]] = []
    model.register_forward_hook(lambda m, i, o: seen.append((m.training, torch.is_grad_enabled())))
    try:
        value = evaluate(on_the_device(model), _Loader(batches))
    except Exception as exc:  # noqa: BLE001
        if is_stub(exc):
            raise
        text = printable(exc)
        hint = (("loader에는 .dataset이나 .batch_size가 없을 수도 있습니다: 배치마다 labels.size(0)을 더해 이미지 수를 "
                 "세세요.", "A loader need not have .dataset or .batch_size: count the images as you go, adding "
                 "labels.size(0) per batch.") if "dataset" in text or "batch_size" in text else
                _HITS if "must match the size" in text
                else exception_hint(exc))
        result.fail(*describe_exception(exc), *hint)
        return result
    if not seen:
        result.fail("모델을 한 번도 부르지 않았습니다.", "The model is never called.",
                    "for images, labels in loader: 로 배치마다 model(images)를 부르세요.",
                    "Call model(images) for every batch: for images, labels in loader: …")
        return result
    if any(train for train, _ in seen):
        result.fail("모델이 학습 모드로 예측했습니다: 드롭아웃이 켜져 있고 배치 정규화가 배치의 통계를 씁니다.",
                    "The model predicted in train mode: dropout is on and batch norm uses each batch's statistics.",
                    "처음에 model.eval()을 괄호까지 붙여 부르세요(model.eval만 쓰면 아무 일도 하지 않습니다). 엔진은 "
                    "학습이 끝난 모델을 학습 모드로 넘깁니다.",
                    "Call model.eval() first, with its parentheses (model.eval alone does nothing): the engine hands "
                    "over the model in train mode, as training left it.")
        return result
    if not all(torch.equal(a, b) for a, b in zip(weights.values(), model.state_dict().values())):
        result.fail("평가가 모델의 가중치나 통계를 바꿨습니다: 시험 이미지로 학습한 셈입니다(옵티마이저의 step?). "
                    "그러면 시험 정확도가 더는 처음 보는 이미지에서의 정확도가 아닙니다.",
                    "The evaluation changed the model's weights or statistics: that is training on the test images "
                    "(an optimizer step?), and the test accuracy no longer measures unseen images.",
                    "평가에서는 예측하고 세기만 하세요: backward와 optimizer.step()을 빼고, with torch.no_grad(): "
                    "안에서.",
                    "Evaluation only predicts and counts: no backward, no optimizer.step(), inside with "
                    "torch.no_grad():.")
        return result
    if any(grad for _, grad in seen):
        result.fail("기울기를 기록하며 예측했습니다: 계산 그래프가 메모리를 차지하고 느려집니다.",
                    "The predictions were made with gradients on: the graph takes memory and time.",
                    "반복문을 with torch.no_grad(): 안에 두세요.", "Put the loop inside with torch.no_grad():.")
        return result
    number = _as_number(value)
    if number is None:
        result.fail(f"정확도(숫자 하나)가 아니라 {josa(type(value).__name__, '을')} 돌려줍니다.",
                    f"Returns a {type(value).__name__}, not the accuracy (one number).",
                    *["return correct / total"] * 2)
        return result
    right, n_images = sum(_EVAL_RIGHT), sum(_EVAL_BATCHES)
    if not math.isclose(number, truth, rel_tol=1e-6):
        slips = [(sum(r / n for r, n in zip(_EVAL_RIGHT, _EVAL_BATCHES)) / len(_EVAL_BATCHES),
                  "배치마다 정확도를 구해 평균했습니다: 마지막 배치(3장)가 5장짜리 배치와 같은 비중으로 계산됩니다.",
                  "You averaged the per-batch accuracies: the last batch (3 images) weighs as much as one of 5."),
                 (right / len(_EVAL_BATCHES), "맞힌 수를 배치 수로 나눴습니다.",
                  "You divided the count by the number of batches."),
                 (sum(r / n for r, n in zip(_EVAL_RIGHT, _EVAL_BATCHES)) / n_images,
                  "배치마다 정확도(.mean())를 더했습니다: 더할 것은 맞힌 수(.sum())입니다.",
                  "You added each batch's accuracy (.mean()) where its hits (.sum()) belong."),
                 (right / (len(_EVAL_BATCHES) * _EVAL_BATCHES[0]),
                  f"이미지 수를 len(loader) × 배치 크기 = {len(_EVAL_BATCHES) * _EVAL_BATCHES[0]}장으로 셌지만 마지막 "
                  f"배치는 {_EVAL_BATCHES[-1]}장입니다.",
                  f"You counted len(loader) × batch size = {len(_EVAL_BATCHES) * _EVAL_BATCHES[0]} images, but the "
                  f"last batch holds {_EVAL_BATCHES[-1]}."),
                 (100 * truth, "백분율입니다: 0과 1 사이의 비율을 돌려주세요.",
                  "That is a percentage: return a fraction between 0 and 1."),
                 (right, "맞힌 개수 그대로입니다: 전체 이미지 수로 나누세요.",
                  "That is the count itself: divide it by the number of images."),
                 (1 - truth, "틀린 비율(오류율)입니다.", "That is the error rate, not the accuracy."),
                 (_EVAL_RIGHT[0] / _EVAL_BATCHES[0], "첫 배치의 정확도뿐입니다: return이 for 문 안에 들여 쓰여 있지 "
                  "않나요?", "That is the first batch's accuracy alone: is the return indented inside the for loop?"),
                 ((right - _EVAL_RIGHT[-1]) / (n_images - _EVAL_BATCHES[-1]),
                  f"마지막 배치({_EVAL_BATCHES[-1]}장)를 세지 않았습니다: 모델이 배치 {len(seen)}개만 보았습니다.",
                  f"The last batch ({_EVAL_BATCHES[-1]} images) is never counted: the model saw {len(seen)} "
                  "batches.")]
        with torch.no_grad():
            flat_model = copy.deepcopy(model).eval()
            flat = sum(int((flat_model(x).argmax() == y).sum()) for x, y in batches) / n_images
        found = next((i for i, (v, _, _) in enumerate(slips) if math.isclose(number, v, rel_tol=1e-6)), None)
        ko, en = ("", "") if found is None else slips[found][1:]
        percent = None if found is not None or number <= 1 else next(
            (i for i, (v, _, _) in enumerate(slips) if math.isclose(number / 100, v, rel_tol=1e-6)), None)
        if percent is not None:  # a slip, and given as a percentage too
            found = percent
            ko, en = (f"{slips[percent][1]} 게다가 백분율입니다: 0과 1 사이의 비율을 돌려주세요.",
                      f"{slips[percent][2]} And it is a percentage: return a fraction between 0 and 1.")
        # a slip in counting the images (or no known slip): the hint says how to count them
        hint = ("이미지 수는 배치마다 labels.size(0)을 더해 세세요.",
                "Count the images by adding labels.size(0) for every batch.") if found is None or found < 2 else \
            ("", "")
        if found is None and number == 0:
            ko, en = ("0은 정수 나눗셈(//)이나 int()가 0과 1 사이의 비율을 잘라 버릴 때, 또는 예측(argmax(dim=1)) "
                      "대신 가장 큰 점수 값(max(1)[0])을 레이블과 비교할 때 나옵니다.",
                      "0 is what integer division (//) or int() makes of a fraction between 0 and 1, and what "
                      "comparing the largest scores themselves (max(1)[0]) with the labels gives, instead of the "
                      "predictions (argmax(dim=1)).")
            hint = ("return correct / total",) * 2
            if flat == 0:
                ko += (" argmax()에 dim을 주지 않아도 여기서는 0이 나옵니다: 배치 전체를 한 줄로 펴서 가장 큰 값 "
                       "하나의 위치를 고르므로, 이미지마다의 예측이 아닙니다.")
                en += (" It is also what argmax() without dim gives here: it picks one position in the whole "
                       "flattened batch, not a prediction per image.")
                hint = ("return correct / total로 나누고, 예측은 argmax(dim=1)로 고르세요.",
                        "Return correct / total, and predict with argmax(dim=1).")
        elif found is None and math.isclose(number, flat, rel_tol=1e-6):
            ko, en, hint = ("argmax()에 dim을 주지 않으면 이 값이 나옵니다: 배치 전체를 한 줄로 펴서 가장 큰 값 하나의 "
                            "위치를 고르므로, 이미지마다의 예측이 아닙니다.",
                            "That is what argmax() without dim gives: it picks one position in the whole flattened "
                            "batch, not a prediction per image.", _ARGMAX_DIM)
        elif found is None and _rounded(number, truth):
            (ko, en), hint = _ROUNDED, ("", "")
        result.fail(f"{josa(format(number, '.4g'), '을')} 돌려줍니다. 이미지 {n_images}장 가운데 {right}장을 맞혔으니 "
                    f"정답은 {truth:.4f}입니다. {ko}",
                    f"Returns {number:.4g}, but {right} of the {n_images} images are right, so it should be "
                    f"{truth:.4f}. {en}", *hint)
        return result
    result.ok(f"배치 {len(batches)}개(5, 5, 5, 3장)에서 {truth:.4f} = {right}/{n_images}: "
              "평가 모드, 기울기 없이 맞게 셉니다.",
              f"{truth:.4f} = {right}/{n_images} over {len(batches)} batches of 5, 5, 5 and 3: right, in eval mode, "
              "without gradients.")
    if model.training:
        result.note("모델을 다시 학습 모드로 돌려놓았습니다: 괜찮습니다. 엔진도 에포크마다 model.train()을 부릅니다.",
                    "You put the model back in train mode: fine; the engine also calls model.train() every epoch.")
    else:
        result.note("모델이 평가 모드로 남습니다: 괜찮습니다. "
                    "다음 에포크의 train_one_epoch가 model.train()을 부릅니다.",
                    "The model stays in eval mode: fine; the next epoch's train_one_epoch calls model.train().")
    return result


@never_raises("check_confusion_matrix")
def check_confusion_matrix(result: CheckResult, confusion_matrix: Callable[..., Any]) -> CheckResult:
    """Is ``confusion_matrix(preds, labels, num_classes)`` an int64 count matrix, row = true, column = predicted?"""
    if result.not_a_function(confusion_matrix):
        return result
    import numpy as np  # optional: a learner may return a NumPy array

    gen = torch.Generator().manual_seed(5)
    random_labels = torch.randint(0, 10, (2000,), generator=gen)
    right = torch.rand(2000, generator=gen) < 0.7
    random_preds = torch.where(right, random_labels, torch.randint(0, 10, (2000,), generator=gen))
    none = torch.empty(0, dtype=torch.int64)
    for ko, en, preds, labels, c in [
            ("손으로 푼 작은 예 (클래스 3개, 이미지 6장)", "a small example worked out by hand (3 classes, 6 images)",
             torch.tensor([0, 1, 1, 2, 0, 2]), torch.tensor([0, 0, 1, 2, 2, 2]), 3),
            ("레이블에 없는 클래스로 예측한 예 (num_classes=5, 레이블은 0–2, 예측 하나는 4)",
             "a prediction of a class no label has (num_classes=5, labels 0–2, one prediction is 4)",
             torch.tensor([0, 2, 1, 4]), torch.tensor([0, 1, 1, 2]), 5),
            ("나오지 않는 클래스가 있는 예 (num_classes=5, 레이블은 0–2뿐)",
             "classes that never occur (num_classes=5, labels only 0–2)",
             torch.tensor([0, 2, 1, 1]), torch.tensor([0, 1, 1, 2]), 5),
            ("무작위 예측 2,000개 (클래스 10개)",
             "2,000 random predictions (10 classes)", random_preds, random_labels, 10),
            ("이미지가 한 장도 없는 경우", "no images at all", none, none.clone(), 10)]:
        want = reference_confusion_matrix(preds, labels, c)
        p_in, l_in = preds.clone(), labels.clone()
        try:
            value = confusion_matrix(preds, labels, c)
        except Exception as exc:  # noqa: BLE001
            if is_stub(exc):
                raise
            hint = ("", "")
            if re.search(rf"shape '\[{c}, {c}\]' is invalid for input of size", printable(exc)):
                hint = ("칸이 C·C개이니 bincount의 minlength도 num_classes ** 2입니다: torch.bincount(labels * "
                        "num_classes + preds, minlength=num_classes ** 2).reshape(num_classes, num_classes).",
                        "There are C·C cells, so bincount's minlength is num_classes ** 2: torch.bincount(labels * "
                        "num_classes + preds, minlength=num_classes ** 2).reshape(num_classes, num_classes).")
            elif preds.numel() and c > int(labels.max()) + 1:
                n = int(labels.max()) + 1
                hint = (f"행렬의 크기는 num_classes({c})로 정하세요. labels.max()+1로 정하면 여기서는 "
                        f"{josa(n, '이라')}, 나오지 "
                        f"않는 클래스와 예측 {int(preds.max())} 같은 값이 들어갈 자리가 없습니다.",
                        f"Size the matrix with num_classes ({c}). Sized by labels.max()+1 it is {n} here, leaving no "
                        f"room for classes that never occur nor for a prediction like {int(preds.max())}.")
            if preds.numel() == 0:
                hint = ("이미지가 없으면 모두 0인 행렬을 돌려주면 됩니다. labels.max() 같은 값은 빈 텐서에서 오류가 "
                        "납니다.",
                        "With no images, return a matrix of zeros; labels.max() fails on an empty tensor.")
            e_ko, e_en = describe_exception(exc)
            result.fail(f"{ko}: {e_ko}", f"{en}: {e_en}", *hint)
            return result
        got = value.detach().cpu() if isinstance(value, torch.Tensor) else \
            torch.from_numpy(value) if isinstance(value, np.ndarray) else None
        if got is None:
            result.fail(f"{ko}: 텐서가 아니라 {josa(type(value).__name__, '을')} 돌려줍니다.",
                        f"{en}: returns a {type(value).__name__}, not a tensor.",
                        "torch.zeros(num_classes, num_classes, dtype=torch.long)로 만든 행렬을 돌려주세요.",
                        "Return a matrix made with torch.zeros(num_classes, num_classes, dtype=torch.long).")
            return result
        if not (torch.equal(preds, p_in) and torch.equal(labels, l_in)):
            result.fail(f"{ko}: 함수가 입력 preds 또는 labels를 바꿔 버렸습니다.",
                        f"{en}: the function changed its input preds or labels.",
                        "입력 텐서를 제자리에서 고치지 마세요 (예: labels *= …).",
                        "Do not modify the input tensors in place (e.g. labels *= …).")
            return result
        if tuple(got.shape) != (c, c):
            fixed = got.dim() == 2 and got.shape[0] == got.shape[1] > c
            result.fail(f"{ko}: 모양이 {tuple(got.shape)}입니다 (({c}, {c})이어야 함).",
                        f"{en}: shape {tuple(got.shape)}, expected ({c}, {c}).",
                        *((f"행렬의 크기를 고정된 수({got.shape[0]})로 정했습니다: 함수가 받은 num_classes로 정하세요.",
                           f"The size is a fixed number ({got.shape[0]}): use the num_classes the function is given.")
                          if fixed else
                          ("행렬의 크기는 labels.max()+1이 아니라 num_classes로 정하세요: "
                           "나오지 않는 클래스도 행과 열이 있어야 합니다.",
                           "Size the matrix with num_classes, not labels.max()+1: classes that never occur get a row "
                           "and a column too.")))
            return result
        fitted = torch.from_numpy(np.histogram2d(labels.numpy(), preds.numpy(), bins=c)[0]).long() \
            if preds.numel() else want
        counts = got.double().round().long()
        if not torch.equal(fitted, want) and any(torch.equal(m, fitted) for m in (counts, counts.T)):
            result.fail(f"{ko}: 칸의 경계가 0–{josa(c, '이')} 아니라 데이터의 최솟값–최댓값입니다(np.histogram2d나 "
                        "torch.histogramdd에 range를 주지 않으면 그렇습니다). 나오지 않는 클래스가 있으면 칸이 "
                        "밀립니다.",
                        f"{en}: the bins span the data's smallest to largest value, not 0–{c} (np.histogram2d and "
                        "torch.histogramdd do so without range), so the bins shift when a class never occurs.",
                        "range=[[0, num_classes], [0, num_classes]]를 주거나, 정수 레이블이니 torch.bincount로 세세요.",
                        "Give range=[[0, num_classes], [0, num_classes]], or count the whole-number labels with "
                        "torch.bincount.")
            return result
        if got.dtype.is_floating_point or got.dtype == torch.bool:
            same = " (값은 맞음)" if got.dtype != torch.bool and torch.equal(got.round().long(), want) else ""
            result.fail(f"{ko}: 자료형이 {got.dtype}입니다{same}. 개수는 정수 int64(torch.long)여야 합니다.",
                        f"{en}: dtype {got.dtype}{' (the values are right)' if same else ''}; counts must be int64 "
                        "(torch.long).",
                        "torch.zeros(C, C, dtype=torch.long)으로 시작하세요.",
                        "Start from torch.zeros(C, C, dtype=torch.long).")
            return result
        most = {torch.uint8: 255, torch.int8: 127, torch.int16: 32_767}.get(got.dtype)
        if most is not None:
            result.fail(f"{ko}: 자료형이 {got.dtype}입니다. 한 칸에 {most:,}까지만 셀 수 있어서, 클래스마다 시험 "
                        "이미지가 수백 장인 레슨의 데이터에서는 값이 넘쳐 엉뚱한 수로 돌아갑니다.",
                        f"{en}: dtype {got.dtype}, which counts only up to {most:,} in a cell: with hundreds of test "
                        "images per class, as in the lesson, the counts overflow and wrap around.",
                        "torch.zeros(C, C, dtype=torch.long)으로 시작하세요.",
                        "Start from torch.zeros(C, C, dtype=torch.long).")
            return result
        got = got.long()
        if torch.equal(got.T, want) and not torch.equal(got, want):
            result.fail(f"{ko}: 행과 열이 뒤바뀌었습니다.", f"{en}: rows and columns are swapped.",
                        "행(첫 번째 인덱스)은 정답 클래스, 열(두 번째 인덱스)은 예측 클래스입니다: "
                        "cm[label, pred] += 1",
                        "The row (first index) is the true class, the column (second) the predicted one: "
                        "cm[label, pred] += 1")
            return result
        dropped = next((k for k, ends in enumerate((slice(None, -1), slice(1, None))) if preds.numel() and
                        torch.equal(got, reference_confusion_matrix(preds[ends], labels[ends], c))), None)
        binary = not torch.equal(got, want) and int(want.max()) > 1 and torch.equal(got, (want > 0).long())
        if binary and dropped is not None:  # both slips give this matrix: the 2,000 random images tell them apart
            try:
                again = torch.as_tensor(confusion_matrix(random_preds, random_labels, 10)).long()
            except Exception:  # noqa: BLE001 - then the dropped image is named
                again = None
            binary = again is not None and torch.equal(
                again, (reference_confusion_matrix(random_preds, random_labels, 10) > 0).long())
            dropped = None if binary else dropped
        if not torch.equal(got, want) and dropped is not None:
            ko_end, en_end = (("마지막", "last"), ("첫", "first"))[dropped]
            result.fail(f"{ko}: {ko_end} 이미지가 빠졌습니다(range(len(labels) - 1)이나 range(1, len(labels))?).",
                        f"{en}: the {en_end} image is left out (range(len(labels) - 1) or range(1, len(labels))?).",
                        "for i in range(len(labels)): 처럼 이미지 전부를 도세요.",
                        "Go over every image: for i in range(len(labels)): …")
            return result
        if binary:
            result.fail(f"{ko}: 같은 칸에 여러 번 들어가야 할 이미지가 한 번만 세어졌습니다 (칸마다 최대 1).",
                        f"{en}: images that fall into the same cell are counted once (every cell is at most 1).",
                        "cm[labels, preds] += 1 은 같은 (정답, 예측) 쌍이 여러 번 나와도 한 번만 더합니다: 고급 "
                        "인덱싱의 += 는 누적하지 않습니다. for 문으로 하나씩 더하거나, cm.index_put_((labels, preds), "
                        "torch.ones_like(labels), accumulate=True) 또는 torch.bincount를 쓰세요.",
                        "cm[labels, preds] += 1 adds 1 only once per distinct (true, predicted) pair: += with index "
                        "tensors does not accumulate repeated indices. Add one image at a time in a for loop, or use "
                        "cm.index_put_((labels, preds), torch.ones_like(labels), accumulate=True) or torch.bincount.")
            return result
        if not torch.equal(got, want) and int(got.sum()) != preds.numel():
            result.fail(f"{ko}: 칸의 합이 {int(got.sum())}입니다. 이미지 수({preds.numel()}개)와 같아야 합니다.",
                        f"{en}: the cells add up to {int(got.sum())}, not to the {preds.numel()} images.",
                        "이미지 하나마다 정확히 한 칸에 1을 더하세요.", "Add 1 to exactly one cell per image.")
            return result
        if not torch.equal(got, want):
            i, j = torch.nonzero(got != want)[0].tolist()
            result.fail(f"{ko}: cm[{i}, {j}] = {int(got[i, j])}, 정답은 {int(want[i, j])}입니다.",
                        f"{en}: cm[{i}, {j}] = {int(got[i, j])}, expected {int(want[i, j])}.",
                        "cm[i, j]는 '정답이 i인데 j로 예측한 이미지 수'입니다.",
                        "cm[i, j] counts the images of true class i predicted as j.")
            return result
        if not isinstance(value, torch.Tensor):
            result.note(f"{ko}: NumPy 배열도 받아 주지만, 레슨의 나머지는 torch 텐서를 씁니다.",
                        f"{en}: a NumPy array is accepted, but the rest of the lesson works with torch tensors.")
    result.ok("손으로 푼 예, 나오지 않는 클래스, 빈 입력, 무작위 2,000개 모두 참고 구현과 같습니다 "
              "(행 = 정답, 열 = 예측, int64).",
              "The hand-made example, absent classes, empty input and 2,000 random predictions all match the "
              "reference (row = true, column = predicted, int64).")
    return result
