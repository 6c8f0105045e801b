"""vgg_teach.training.step: the engine runs a step and an evaluation of one's own (lesson 05), with mixed precision
added around plain PyTorch — autocast on the forward pass only, and the fp16 gradient scaler through the loss and
the optimizer — exercised on the CPU (bf16 autocast and a CPU GradScaler exist there)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from vgg_teach.answers import evaluate, train_step
from vgg_teach.models import build_model
from vgg_teach.training import engine
from vgg_teach.training.engine import fit
from vgg_teach.training.recipe import Precision, TrainConfig
from vgg_teach.training.sources import load_image_folder_splits
from vgg_teach.training.step import StepHands

CPU = torch.device("cpu")
TIMING = {"seconds", "eval_seconds", "images_per_second"}


@pytest.fixture(scope="module")
def tiny_data(image_folder):
    return load_image_folder_splits(image_folder)


def _tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3))


def _batch():
    gen = torch.Generator().manual_seed(3)
    return torch.randn(8, 3, 8, 8, generator=gen), torch.arange(8) % 3


def _fit(data, **kw):
    train, test = data
    torch.manual_seed(0)
    model = build_model("vgg_tiny_cifar", len(train.classes))
    cfg = TrainConfig(epochs=2, batch_size=8, seed=0, tta=True)
    return fit(model, train, test, cfg, device=CPU, progress=False, log=None, **kw), model


def test_fit_runs_the_learners_step_and_evaluation_and_gets_the_same_run(tiny_data):
    calls = {"step": 0, "evaluate": 0}

    def my_step(model, images, labels, optimizer, loss_fn):  # a learner's plain step
        calls["step"] += 1
        logits = model(images)
        loss = loss_fn(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    def my_evaluate(model, loader):
        calls["evaluate"] += 1
        model.eval()
        right = seen = 0
        with torch.no_grad():
            for images, labels in loader:
                right += (model(images).argmax(1) == labels).sum().item()
                seen += len(labels)
        return right / seen

    mine, my_model = _fit(tiny_data, step=my_step, evaluate=my_evaluate)
    ours, our_model = _fit(tiny_data)
    assert calls == {"step": 2 * (48 // 8), "evaluate": 2 + 1}  # 6 steps an epoch; a test per epoch, then TTA
    untimed = [[{k: v for k, v in r.items() if k not in TIMING} for r in res["history"]] for res in (mine, ours)]
    assert untimed[0] == untimed[1] and mine["test_accuracy_tta"] == ours["test_accuracy_tta"]
    for a, b in zip(my_model.state_dict().values(), our_model.state_dict().values()):
        assert torch.equal(a, b)


def test_the_test_loss_comes_from_the_evaluations_own_forward_passes(tiny_data):
    _, test = tiny_data
    model = build_model("vgg_tiny_cifar", len(test.classes)).eval()
    loader = engine.DeviceLoader(test, 5, CPU)
    precision = Precision.for_device(CPU)
    logits = torch.cat([lg for lg, _ in engine.eval_logits(model, loader, precision)])
    want_loss = nn.functional.cross_entropy(logits, test.labels).item()
    want_acc = (logits.argmax(1) == test.labels).float().mean().item()

    def twice_per_batch(model, loader):  # a second forward pass of a batch is not counted again
        model.eval()
        with torch.no_grad():
            for images, _ in loader:
                model(images), model(images)
        return 0.25

    got = engine.evaluate(model.train(), loader, precision)
    assert got["loss"] == pytest.approx(want_loss, rel=1e-5) and got["acc"] == pytest.approx(want_acc)
    other = engine.evaluate(model.train(), loader, precision, accuracy=twice_per_batch)
    assert other["acc"] == 0.25 and other["loss"] == pytest.approx(want_loss, rel=1e-5)


def test_autocast_covers_the_forward_pass_only():
    """bf16 on the CPU: the forward pass and the loss under autocast; backward and the update outside it."""
    model = _tiny()
    precision = Precision.for_device(CPU, "bf16")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = {}

    def note(when):
        def hook(*args):  # returns None: changes nothing
            seen.setdefault(when, torch.is_autocast_enabled("cpu"))
        return hook

    model[0].register_forward_hook(note("forward"))
    model[0].weight.register_hook(note("backward"))
    optimizer.register_step_pre_hook(note("step"))
    hands = StepHands(model, optimizer, nn.CrossEntropyLoss(), precision)
    images, labels = _batch()
    loss = train_step(hands.model, images, labels, hands.optimizer, hands.loss_fn)
    assert seen == {"forward": True, "backward": False, "step": False}
    assert hands.logits.dtype == torch.bfloat16 and loss.dtype == torch.float32
    assert not torch.is_autocast_enabled("cpu")


def _scaled_precision(scale: float = 1024.0) -> Precision:
    """fp16's recipe on the CPU: an enabled gradient scaler (the CPU has one), with bf16 autocast."""
    return Precision("cpu", torch.bfloat16, torch.amp.GradScaler("cpu", init_scale=scale))


def test_a_plain_step_gets_the_gradient_scaler_through_the_loss_and_the_optimizer():
    images, labels = _batch()
    loss_fn = nn.CrossEntropyLoss()
    classic, plain = _tiny(), _tiny()
    classic_opt = torch.optim.SGD(classic.parameters(), lr=0.1, momentum=0.9)
    precision = _scaled_precision()
    for _ in range(2):  # PyTorch's documented recipe, as the engine wrote it before
        with precision.autocast():
            loss = loss_fn(classic(images), labels)
        classic_opt.zero_grad()
        precision.scaler.scale(loss).backward()
        precision.scaler.step(classic_opt)
        precision.scaler.update()
    ours = _scaled_precision()
    optimizer = torch.optim.SGD(plain.parameters(), lr=0.1, momentum=0.9)
    raw = []
    plain[5].weight.register_hook(lambda g: raw.append(g.clone()))
    hands = StepHands(plain, optimizer, loss_fn, ours)
    for _ in range(2):
        loss = train_step(hands.model, images, labels, hands.optimizer, hands.loss_fn)
    for a, b in zip(classic.state_dict().values(), plain.state_dict().values()):
        assert torch.allclose(a, b)
    with torch.no_grad(), ours.autocast():
        unscaled = loss_fn(copy.deepcopy(plain).train()(images), labels)
    assert loss.item() != pytest.approx(1024 * unscaled.item())  # the value is the loss itself, not scaled
    assert torch.allclose(raw[-1] / 1024, plain[5].weight.grad, rtol=1e-4)  # backward saw scaled gradients
    assert ours.scaler.get_scale() == precision.scaler.get_scale() == 1024.0


def test_an_overflowing_fp16_step_is_skipped_and_the_scale_halved():
    model = _tiny()
    before = copy.deepcopy(model.state_dict())
    precision = _scaled_precision()
    hands = StepHands(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), precision)
    images, labels = _batch()
    images[0, 0, 0, 0] = float("inf")
    train_step(hands.model, images, labels, hands.optimizer, hands.loss_fn)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if "running" not in k and "num_batches" not in k)
    assert precision.scaler.get_scale() == 512.0


def test_the_reference_evaluation_leaves_eval_mode_and_counts_images():
    model = _tiny()
    batches = [(torch.randn(n, 3, 8, 8), torch.randint(0, 3, (n,))) for n in (5, 2)]
    with torch.no_grad():
        want = sum((model.eval()(x).argmax(1) == y).sum().item() for x, y in batches) / 7
    assert evaluate(model.train(), batches) == pytest.approx(want) and not model.training
