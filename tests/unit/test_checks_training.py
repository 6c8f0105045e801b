"""Lesson 05: check_train_step, check_train_one_epoch, check_evaluate and check_confusion_matrix pass right answers
and name each slip; the references they compare with are the engine's own step, loop, evaluation and confusion
matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vgg_teach import answers
from vgg_teach.checks import FAIL, INFO, PASS
from vgg_teach.checks.head import check_head_swap
from vgg_teach.checks.training import check_confusion_matrix, check_evaluate, check_train_one_epoch, check_train_step
from vgg_teach.training import engine


def _failure(result) -> str:
    assert result.status == FAIL, str(result)
    return " ".join(f"{i.ko} {i.en} {i.hint_ko} {i.hint_en}" for i in result.items if i.status == FAIL)


def step(order, logits=lambda model, images: model(images), loss_args=lambda logits, labels: (logits, labels),
         returns=lambda loss, logits: loss):
    """A training step doing ``order`` ("z" zero_grad, "b" backward, "r" backward keeping the graph, "s" step, "B"
    backward on the logits' sum)."""
    def train_step(model, images, labels, optimizer, loss_fn):
        out = logits(model, images)
        loss = loss_fn(*loss_args(out, labels))
        for op in order:
            {"z": optimizer.zero_grad, "b": lambda: loss.backward(), "s": optimizer.step,
             "r": lambda: loss.backward(retain_graph=True),
             "B": lambda: out.sum().backward(), "L": lambda: out.backward()}[op]()
        return returns(loss, out)
    return train_step


def zero_grad_last_with_model_train(model, images, labels, optimizer, loss_fn):
    model.train()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    model.zero_grad()
    return loss.detach()


def per_image_loss(model, images, labels, optimizer, loss_fn):
    optimizer.zero_grad()
    loss = sum(loss_fn(model(x[None]), y[None]) for x, y in zip(images, labels)) / len(labels)
    loss.backward()
    optimizer.step()
    return loss


def lr_by_hand(model, images, labels, optimizer, loss_fn):
    for group in optimizer.param_groups:
        group["lr"] = 0.01
    return answers.train_step(model, images, labels, optimizer, loss_fn)


def frozen_after(model, images, labels, optimizer, loss_fn):
    loss = answers.train_step(model, images, labels, optimizer, loss_fn)
    model.requires_grad_(False)
    return loss


def no_grad_forward(model, images, labels, optimizer, loss_fn):
    with torch.no_grad():
        logits = model(images)
    return step("zbs", logits=lambda m, i: logits)(model, images, labels, optimizer, loss_fn)


def item_before_backward(model, images, labels, optimizer, loss_fn):
    loss = loss_fn(model(images), labels).item()
    optimizer.zero_grad()
    loss.backward()


#: a model an earlier notebook cell made, which a step may use by mistake instead of the one it is given
NOTEBOOK_MODEL = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(192, 5))


@pytest.mark.parametrize("fn", [answers.train_step, step("zbs"), zero_grad_last_with_model_train])
def test_right_steps_pass(fn):
    assert check_train_step(fn).status == PASS


@pytest.mark.parametrize("fn, words", [
    (step("bs"), ["두 번째 스텝", "After step 2", "zero_grad is never called", "added together"]),
    (step("zsb"), ["After step 1", "optimizer.step() comes before loss.backward()"]),
    (step("bzs"), ["zero_grad between backward and step wipes"]),
    (step("zLs"), ["not a scalar (the logits?)"]),
    (step("zBs"), ["Backward ran from something other than the loss"]),
    (lambda m, x, y, opt, f: answers.train_step(m.eval(), x, y, opt, f),
     ["put the model in eval mode", "train_one_epoch calls model.train()"]),
    (step("zbs", loss_args=lambda logits, labels: (labels, logits)),
     ["arguments are swapped", "loss_fn(logits, labels)"]),
    (step("zbs", logits=lambda model, images: model(images).detach()), ["cut off the graph"]),
    (no_grad_forward, ["inside torch.no_grad()"]),
    (item_before_backward, ["(loss.item()) cannot backpropagate"]),
    (step("zbs", returns=lambda loss, logits: loss.item()), ["Returns a float", "not loss.item()"]),
    (step("zbs", returns=lambda loss, logits: logits), ["shape (6, 5)", "the logits?"]),
    (step("zbs", returns=lambda loss, logits: None), ["Returns a NoneType", "return loss"]),
    (step("zbs", returns=lambda loss, logits: loss * 2), ["not the loss that loss_fn computed"]),
    (lambda m, x, y, opt, f: answers.train_step(m, x, y, torch.optim.SGD(m.parameters(), lr=0.1), f),
     ["optimizer you were given"]),
    (step("zs"), ["loss.backward() is never called"]),
    (step("zbs", logits=lambda model, images: model(images).softmax(1)), ["probabilities", "applies log-softmax"]),
    (lambda m, x, y, opt, f: torch.manual_seed(0) and answers.train_step(m, x, y, opt, f),
     ["reseeds with torch.manual_seed", "dropout then drops other units"]),
    (lambda m, x, y, opt, f: answers.train_step(m, x, y, opt, torch.nn.functional.cross_entropy),
     ["The loss_fn you were given is never called"]),
    (per_image_loss, ["loss_fn was called 6 times in one step"]),
    (lr_by_hand, ["set the learning rate to 0.01"]),
    (frozen_after, ["requires_grad off"]),
    (lambda m, x, y, opt, f: answers.train_step(m, x, y.float(), opt, f), ["class indices (int64)"]),
    (lambda net, x, y, opt, f: answers.train_step(NOTEBOOK_MODEL, x, y, opt, f), ["never calls the model it is given"]),
    (step("zrbs"), ["loss.backward() is called twice", "add up to double"]),
], ids=["no-zero-grad", "step-first", "zero-grad-between", "logits-backward", "logits-sum", "eval", "swapped",
        "detached", "no-grad", "item", "returns-item", "returns-logits", "returns-none", "scaled", "own-optimizer",
        "no-backward", "softmax", "reseeds", "own-loss", "per-image", "lr", "frozen", "float-labels", "notebook-model",
        "backward-twice-kept"])
def test_each_step_mistake_gets_its_own_message(fn, words):
    text = _failure(check_train_step(fn))
    assert all(word in text for word in words), (words, text)


def test_the_checks_leave_global_state_as_they_found_it_and_name_a_leak_and_compare_with_the_engine():
    def leaky(model, loader):  # passes as an evaluation, but leaves the notebook without gradients, in float64
        torch.backends.cudnn.deterministic = not torch.backends.cudnn.deterministic
        torch.set_grad_enabled(False)
        torch.set_default_dtype(torch.float64)
        torch.set_default_device("meta")
        torch.autograd.set_detect_anomaly(True)
        torch.use_deterministic_algorithms(True)
        return answers.evaluate(model, loader)

    cudnn = torch.backends.cudnn.deterministic
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    with torch.no_grad():  # gradients the notebook left off do not fail a right step, and stay off after it
        assert check_train_step(answers.train_step) and not torch.is_grad_enabled()
    with torch.inference_mode():  # nor inference mode
        assert check_train_step(answers.train_step) and check_train_one_epoch(answers.train_one_epoch)
    with torch.autograd.detect_anomaly():  # nor anomaly detection, which the check's own backward passes cannot take
        assert check_head_swap(answers.swap_head) and torch.is_anomaly_enabled()
    said = _failure(check_evaluate(leaky))
    assert "set_grad_enabled(False)" in said and "set_default_dtype" in said and "float64" in said
    assert "default device to meta" in said and torch.get_default_device() == torch.device("cpu")
    assert "torch.backends.cudnn.deterministic" in said and torch.backends.cudnn.deterministic == cudnn
    assert "set_detect_anomaly(True)" in said and "use_deterministic_algorithms(True)" in said
    assert not torch.is_anomaly_enabled() and not torch.are_deterministic_algorithms_enabled()
    assert torch.is_grad_enabled() and torch.get_default_dtype() == torch.float32 and check_evaluate(answers.evaluate)
    assert torch.equal(torch.rand(3), expected)
    assert answers.train_step is engine.train_step and engine.train_one_epoch.__defaults__[-2:] == (
        answers.train_step, answers.train_one_epoch)


def epoch(per_batch="Ts", after="", train=True, batches=lambda b: b, keep=lambda loss: loss.item(),
          total=lambda w, h, n: {"loss": sum(w) / sum(n), "acc": sum(h) / sum(n)}, images_as=lambda x: x,
          totals=None):
    """An epoch loop; per batch "T" the step (called with keywords), "s" scheduler.step(), "L" scheduler.step(loss),
    "o" optimizer.step(), "f" a forward pass, "e" a forward pass in eval mode, "r" return; ``after`` the loop "s";
    the defaults are right."""
    def train_one_epoch(model, loader, optimizer, scheduler, loss_fn, step):
        model.train(train)
        losses, hits, sizes, loss = ([], [], [], None) if totals is None else (*totals, None)  # kept between calls
        for images, labels in batches(loader):
            images = images_as(images)
            for op in per_batch.replace("r", ""):
                loss = step(model=model, images=images, labels=labels, optimizer=optimizer, loss_fn=loss_fn) \
                    if op == "T" else loss
                {"T": list, "s": scheduler.step, "o": optimizer.step, "f": lambda: model(images),
                 "L": lambda: scheduler.step(loss), "e": lambda: (model.eval()(images), model.train())}[op]()
            losses.append(keep(loss) * len(labels))
            hits.append(int((loss_fn.logits.argmax(1) == labels).sum()))
            sizes.append(len(labels))
            if "r" in per_batch:
                return total(losses, hits, sizes)
        for _ in after:
            scheduler.step()
        return total(losses, hits, sizes)
    return train_one_epoch


@pytest.mark.parametrize("fn, words", [
    (answers.train_one_epoch, None), (epoch(), None),
    (epoch(train=False), ["trained in eval mode", "model.train()"]),
    (epoch("sT"), ["comes before optimizer.step()"]),
    (epoch("T", after="s"), ["once per epoch", "inside the for loop"]),
    (epoch("Ts", after="s"), ["runs 5 times for 4 batches", "remove the scheduler.step() after the loop"]),
    (epoch("T"), ["scheduler.step() is never called"]),
    (epoch("Tsr"), ["stops after the first batch", "indented inside the for loop"]),
    (epoch(batches=lambda b: b[:-1]), ["The last batch (2 images) never reaches the step"]),
    (epoch(keep=lambda loss: loss), ["graph stays in memory", "loss.detach()"]),
    (epoch("Tsf"), ["The model ran 8 times for 4 batches", "loss_fn.logits"]),
    (epoch("Tso"), ["optimizer.step() runs 8 times"]),
    (lambda m, loader, o, s, f, step: answers.train_one_epoch(m, loader, o, s, f), ["step(model, images, labels, "
                                                                                    "optimizer, loss_fn) is never"]),
    (lambda m, loader, o, s, f, step: answers.train_one_epoch(m, loader, o, s, torch.nn.CrossEntropyLoss(), step),
     ["another model, optimizer or loss_fn"]),
    (lambda *args: torch.no_grad()(answers.train_one_epoch)(*args), ["inside torch.no_grad()"]),
    (lambda m, loader, *args: len(loader.dataset), ["need not have .dataset"]),
    (epoch(total=lambda w, h, n: {"loss": sum(a / k for a, k in zip(w, n)) / len(n), "acc": sum(h) / sum(n)}),
     ["The loss is", "averaged the batches' means: the last batch (2 images)"]),
    (epoch(total=lambda w, h, n: {"loss": sum(w) / len(n), "acc": sum(h) / sum(n)}), ["(len(loader))"]),
    (epoch(total=lambda w, h, n: {"loss": sum(w) / sum(n), "acc": sum(a / k for a, k in zip(h, n)) / len(n)}),
     ["The accuracy is 0.625", "averaged the batches' means"]),
    (epoch(total=lambda w, h, n: {"loss": sum(w) / sum(n), "acc": sum(h) / len(n)}), ["accuracy is 2.25", "len("]),
    (epoch(total=lambda w, h, n: {"loss": sum(w) / (len(n) * n[0]), "acc": sum(h) / sum(n)}), ["batch size = 16"]),
    (epoch(total=lambda w, h, n: {"loss": sum(w), "acc": sum(h) / sum(n)}), ["not divide by the number of images"]),
    (epoch(total=lambda w, h, n: {"loss": sum(w) / sum(n), "acc": 100 * sum(h) / sum(n)}), ["a percentage"]),
    (epoch(total=lambda w, h, n: (sum(w) / sum(n), sum(h) / sum(n))), ["Returns a tuple"]),
    (epoch("TL"), ["scheduler.step(loss)?", "ReduceLROnPlateau"]),
    (epoch("Tse"), ["The model ran 8 times for 4 batches"]),
    (epoch(total=lambda w, h, n: {"loss": sum(w) / n[-1], "acc": sum(h) / sum(n)}),
     ["You divided by the last batch's images (2)"]),
    (epoch(total=lambda w, h, n: {"loss": round(sum(w) / sum(n), 2), "acc": sum(h) / sum(n)}), ["rounded"]),
    (lambda m, loader, o, s, f, step: [f.logits.argmax(1) for _ in loader], ["Read loss_fn.logits after calling"]),
    (epoch(images_as=lambda x: x.contiguous(memory_format=torch.channels_last).float()), None),  # a copy: the batch
    (epoch(totals=([], [], [])), ["The next epoch (3 batches) returns", "inside the function, before the loop"]),
    (epoch(batches=lambda b: [b[i] for i in range(len(b))]), ["not subscriptable", "for images, labels in loader"]),
    (epoch(total=lambda w, h, n: {"loss": sum(w) / sum(n), "acc": sum(h) // sum(n)}), ["(max(1)[0])", "(//)"]),
    (lambda *args: (torch.manual_seed(0), answers.train_one_epoch(*args))[1], ["touches torch's random generator"]),
    (lambda m, loader, o, s, f, step: [step(m, y, x, o, f) for x, y in loader], ["labels where the images go"]),
    (epoch(total=lambda w, h, n: {"loss": sum(w) / sum(n), "acc": sum(a / k for a, k in zip(h, n)) / sum(n)}),
     ["added each batch's accuracy (.mean())"]),
], ids=["answer", "item", "eval", "schedule-first", "schedule-per-epoch", "schedule-after-loop", "no-schedule",
        "return-inside", "drop-last", "keep-graph", "forward-again", "optimizer-too", "no-step", "own-loss", "no-grad",
        "dataset",
        "loss-batch-mean", "loss-by-batches", "acc-batch-mean", "acc-by-batches", "guessed-count", "loss-sum",
        "percent", "tuple", "schedule-loss", "eval-forward", "count-after-loop", "rounded", "logits-first",
        "channels-last-copy", "totals-kept", "indexed-loader", "no-hits", "reseeds", "swapped",
        "acc-sum-of-means"])
def test_right_epoch_loops_pass_and_each_slip_gets_its_own_message(fn, words):
    result = check_train_one_epoch(fn)
    assert result.passed if words is None else all(word in _failure(result) for word in words), str(result)


def evaluation(mode="eval", grad=False, count=lambda rights: sum(r for r, _ in rights) / sum(n for _, n in rights),
               axis=1):
    """An evaluation written one way; the defaults are right."""
    def evaluate(model, loader):
        getattr(model, mode)()
        with torch.enable_grad() if grad else torch.no_grad():
            return count([((model(x).argmax(axis) == y).sum().item(), len(y)) for x, y in loader])
    return evaluate


def eval_no_grad_without_parentheses(model, loader):
    model.eval()
    with torch.no_grad:  # the class, not a context manager
        return answers.evaluate(model, loader)


def eval_that_trains(model, loader):
    model.eval()
    optimizer, correct, total = torch.optim.SGD(model.parameters(), lr=0.1), 0, 0
    for images, labels in loader:
        logits = model(images)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(logits, labels).backward()
        optimizer.step()
        correct, total = correct + (logits.argmax(1) == labels).sum().item(), total + len(labels)
    return correct / total


def eval_inference_mode_tensor(model, loader):
    model.eval()
    correct, total = torch.zeros(()), 0
    with torch.inference_mode():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum()
            total += len(labels)
    return correct / total


@pytest.mark.parametrize("fn", [answers.evaluate, evaluation(), eval_inference_mode_tensor,
                                lambda model, loader: (answers.evaluate(model, loader), model.train())[0],
                                lambda model, loader: np.float32(answers.evaluate(model, loader))])  # not a float
def test_right_evaluations_pass_and_say_who_restores_train_mode(fn):
    result = check_evaluate(fn)
    assert result.status == PASS, str(result)
    assert "model.train()" in " ".join(i.en for i in result.items if i.status == INFO)


@pytest.mark.parametrize("fn, words", [
    (evaluation(mode="train"), ["predicted in train mode", "model.eval()"]),
    (evaluation(grad=True), ["with gradients on", "torch.no_grad()"]),
    (evaluation(count=lambda rights: sum(r / n for r, n in rights) / len(rights)),
     ["averaged the per-batch accuracies", "labels.size(0)"]),
    (evaluation(count=lambda rights: sum(r for r, _ in rights) / len(rights)),
     ["divided the count by the number of batches", "labels.size(0)"]),
    (lambda model, loader: 100 * answers.evaluate(model, loader), ["a percentage"]),
    (evaluation(count=lambda rights: sum(r for r, _ in rights)), ["the count itself"]),
    (lambda model, loader: 1 - answers.evaluate(model, loader), ["the error rate"]),
    (lambda model, loader: evaluation(count=lambda rights: sum(r for r, _ in rights) / len(loader.dataset))(
        model, loader), ["need not have .dataset", "labels.size(0)"]),
    (evaluation(axis=0), ["argmax(dim=1)"]),
    (lambda model, loader: 0.5, ["The model is never called"]),
    (lambda model, loader: [answers.evaluate(model, loader)], ["not the accuracy (one number)"]),
    (evaluation(axis=None), ["what argmax() without dim gives", "argmax(dim=1)"]),
    (evaluation(count=lambda rights: sum(r for r, _ in rights) // sum(n for _, n in rights)), ["integer division"]),
    (evaluation(count=lambda rights: rights[0][0] / rights[0][1]), ["the first batch's accuracy alone"]),
    (lambda model, loader: round(answers.evaluate(model, loader), 2), ["rounded"]),
    (lambda model, loader: evaluation(count=lambda rights: sum(r for r, _ in rights) / (
        len(loader) * loader.batch_size))(model, loader), ["need not have .dataset or .batch_size", "labels.size(0)"]),
    (eval_no_grad_without_parentheses, ["with torch.no_grad():"]),
    (lambda model, loader: evaluation()(model, list(loader)[:-1]), ["The last batch (3 images) is never counted"]),
    (lambda model, loader: evaluation()(model, [(x.to("meta"), y) for x, y in loader]), [
        "different devices", "no .to(device) is needed"]),
    (evaluation(count=lambda rights: 0.0), ["(max(1)[0])"]),  # the values compared: none right
    (evaluation(count=lambda rights: 100 * sum(r / n for r, n in rights) / len(rights)),
     ["averaged the per-batch accuracies", "And it is a percentage", "labels.size(0)"]),
    (eval_that_trains, ["changed the model's weights", "training on the test images", "no optimizer.step()"]),
    (evaluation(count=lambda rights: sum(r / n for r, n in rights) / sum(n for _, n in rights)),
     ["added each batch's accuracy (.mean())"]),
    (evaluation(count=lambda rights: sum(r for r, _ in rights) / (len(rights) * rights[0][1])),
     ["len(loader) × batch size = 20", "last batch holds 3"]),
], ids=["train-mode", "grad", "batch-mean", "by-batches", "percent", "count", "error-rate", "dataset", "argmax-0",
        "never-called", "list", "argmax-no-dim", "floor-division", "first-batch", "rounded", "batch-size",
        "no-grad-class", "last-batch-skipped", "other-device", "max-values", "percent-batch-mean", "trains",
        "sum-of-means", "guessed-count"])
def test_each_evaluation_mistake_gets_its_own_message(fn, words):
    text = _failure(check_evaluate(fn))
    assert all(word in text for word in words), (words, text)
    assert ("labels.size(0)" in text) == ("labels.size(0)" in words)  # the counting hint: for counting slips only


def cm_loop(preds, labels, num_classes, diagonal=False):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.long)
    for t, p in zip(labels.tolist(), preds.tolist()):
        cm[p if diagonal else t, p] += 1  # diagonal: a mistake counts on the predicted class's diagonal
    return cm


def cm_numpy(preds, labels, num_classes):
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels.numpy(), preds.numpy()), 1)
    return cm


def cm_fancy_index(preds, labels, num_classes):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.long)
    cm[labels, preds] += 1  # repeated (label, pred) pairs count once
    return cm


def cm_mutates(preds, labels, num_classes):
    labels *= num_classes  # in place
    labels += preds
    return torch.bincount(labels, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def cm_sized_by_labels(preds, labels, num_classes):
    n = int(labels.max()) + 1
    return torch.bincount(labels * n + preds, minlength=n * n).reshape(n, n)


@pytest.mark.parametrize("fn", [cm_loop, answers.confusion_matrix, cm_numpy,
                                lambda p, t, c: torch.from_numpy(np.histogram2d(
                                    t.numpy(), p.numpy(), bins=c, range=[[0, c], [0, c]])[0]).long(),
                                lambda p, t, c: torch.zeros(c, c, dtype=torch.int64).index_put_(
                                    (t, p), torch.ones_like(t), accumulate=True)])
def test_right_confusion_matrices_pass_and_numpy_gets_a_note(fn):
    result = check_confusion_matrix(fn)
    assert result.passed, str(result)
    assert any(i.status == INFO and "NumPy" in i.ko for i in result.items) == (fn is cm_numpy)


@pytest.mark.parametrize("fn, expected", [
    (lambda p, t, c: cm_loop(t, p, c), "행과 열이 뒤바뀌었습니다"),
    (lambda p, t, c: cm_loop(p, t, int(max(t.max(), p.max())) + 1), "shape (3, 3), expected (5, 5)"),
    (lambda p, t, c: cm_loop(p, t, c).float(), "자료형이 torch.float32입니다 (값은 맞음)"),
    (lambda p, t, c: cm_loop(p, t, c) * 2, "칸의 합이 12입니다"),
    (lambda p, t, c: cm_loop(p, t, c, diagonal=True), "cm[i, j]"),
    (cm_mutates, "입력 preds 또는 labels를 바꿔"),
    (lambda p, t, c: cm_loop(p, t, c).tolist(), "텐서가 아니라 list"),
    (cm_fancy_index, "does not accumulate repeated indices"),
    (cm_sized_by_labels, "Size the matrix with num_classes (5)"),
    (lambda p, t, c: cm_loop(p, t, int(t.max()) + 1), "one prediction is 4"),
    (lambda p, t, c: cm_loop(p, t, c) if int(t.max()) < c else None, "빈 텐서"),
    (lambda p, t, c: cm_loop(p, t, c).to(torch.uint8), "counts only up to 255 in a cell"),
    (lambda p, t, c: cm_loop(p[:-1], t[:-1], c), "the last image is left out"),
    (lambda p, t, c: cm_loop(p, t, 10), "The size is a fixed number (10)"),
    (lambda p, t, c: torch.bincount(t * c + p, minlength=c).reshape(c, c) if p.numel() else cm_loop(p, t, c),
     "bincount's minlength is num_classes ** 2"),
    (lambda p, t, c: np.histogram2d(t.numpy(), p.numpy(), bins=c)[0].astype(np.int64), "range=[[0, num_classes]"),
], ids=["transposed", "sized-by-seen", "float", "doubled", "diagonal", "mutates", "list", "fancy-index",
        "sized-by-labels", "loop-sized-by-labels", "empty", "uint8", "last-left-out", "fixed-size", "minlength",
        "histogram-without-range"])
def test_each_confusion_matrix_mistake_gets_its_own_message(fn, expected):
    result = check_confusion_matrix(fn)
    assert result.status == FAIL and expected in str(result), str(result)


def test_the_reference_counts_as_a_loop_does_and_per_class_accuracy_reads_it():
    gen = torch.Generator().manual_seed(1)
    labels, preds = torch.randint(0, 7, (500,), generator=gen), torch.randint(0, 7, (500,), generator=gen)
    cm = answers.confusion_matrix(preds, labels, 7)
    assert torch.equal(cm, cm_loop(preds, labels, 7)) and cm.dtype == torch.int64
    acc = engine.per_class_accuracy(cm)
    assert all(abs(float(acc[c]) - float((preds[labels == c] == c).float().mean())) < 1e-6 for c in range(7))
    assert torch.isnan(engine.per_class_accuracy(torch.zeros(3, 3, dtype=torch.long))).all()


def _moves(how):
    """The step, loop and evaluation a learner writes with the usual ``images.to(device)`` and ``model.to(device)``
    (or ``.cuda()``)."""
    def train_step(model, images, labels, optimizer, loss_fn):
        return answers.train_step(how(model), how(images), how(labels), optimizer, loss_fn)

    def train_one_epoch(model, loader, optimizer, scheduler, loss_fn, step):
        return answers.train_one_epoch(model, [(how(x), how(y)) for x, y in loader], optimizer, scheduler, loss_fn,
                                       step)

    def evaluate(model, loader):
        return answers.evaluate(how(model), [(how(x), how(y)) for x, y in loader])
    return [(check_train_step, train_step), (check_train_one_epoch, train_one_epoch), (check_evaluate, evaluate)]


@pytest.mark.parametrize("how", [lambda t: t.to("cuda"), lambda t: t.cuda(),
                                 lambda t: t.to(device=torch.device("cuda:0"), non_blocking=True)],
                         ids=["to", "cuda", "to-device-keywords"])
def test_moving_the_batch_onto_the_lessons_gpu_passes_as_it_works_in_fit(how, monkeypatch):
    """On Colab the engine's batches already sit on the GPU, so .to(device) there changes nothing. The checks run on
    the CPU: with the lesson's device a GPU, the same line must pass; without one, it fails with the no-GPU hint."""
    import vgg_teach.checks

    for check, fn in _moves(how):
        assert "no GPU" in _failure(check(fn))  # this machine has none: fit would fail too
    monkeypatch.setattr(vgg_teach.checks, "get_device", lambda: torch.device("cuda"))
    for check, fn in _moves(how):
        assert check(fn).status == PASS, str(check(fn))
