"""check_train_step and check_evaluate (lesson 05): right answers pass, each usual mistake fails with its own
message, the stub is ⏳ — and the reference they compare with is the engine's own step and evaluation."""

from __future__ import annotations

import pytest
import torch

from vgg_teach import answers
from vgg_teach.checks import FAIL, INFO, PASS, TODO
from vgg_teach.checks.training import check_evaluate, check_train_step
from vgg_teach.training import engine


def _failure(result) -> str:
    assert result.status == FAIL, str(result)
    return " ".join(f"{i.ko} {i.en} {i.hint_ko} {i.hint_en}" for i in result.items if i.status == FAIL)


# -- the training step ----------------------------------------------------------------------------------------------
def zero_grad_first(model, images, labels, optimizer, loss_fn):
    optimizer.zero_grad()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss


def zero_grad_last_with_model_train(model, images, labels, optimizer, loss_fn):
    model.train()
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    model.zero_grad()
    return loss.detach()


def no_zero_grad(model, images, labels, optimizer, loss_fn):
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss


def step_before_backward(model, images, labels, optimizer, loss_fn):
    loss = loss_fn(model(images), labels)
    optimizer.zero_grad()
    optimizer.step()
    loss.backward()
    return loss


def zero_grad_between(model, images, labels, optimizer, loss_fn):
    loss = loss_fn(model(images), labels)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss


def backward_on_logits(model, images, labels, optimizer, loss_fn):
    logits = model(images)
    loss = loss_fn(logits, labels)
    optimizer.zero_grad()
    logits.backward()
    optimizer.step()
    return loss


def backward_on_logits_sum(model, images, labels, optimizer, loss_fn):
    logits = model(images)
    loss = loss_fn(logits, labels)
    optimizer.zero_grad()
    logits.sum().backward()
    optimizer.step()
    return loss


def eval_mode(model, images, labels, optimizer, loss_fn):
    model.eval()
    return answers.train_step(model, images, labels, optimizer, loss_fn)


def swapped(model, images, labels, optimizer, loss_fn):
    logits = model(images)
    loss = loss_fn(labels, logits)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def detached(model, images, labels, optimizer, loss_fn):
    loss = loss_fn(model(images).detach(), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def no_grad_forward(model, images, labels, optimizer, loss_fn):
    with torch.no_grad():
        logits = model(images)
    loss = loss_fn(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def item_before_backward(model, images, labels, optimizer, loss_fn):
    loss = loss_fn(model(images), labels).item()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def returns_item(model, images, labels, optimizer, loss_fn):
    return answers.train_step(model, images, labels, optimizer, loss_fn).item()


def returns_logits(model, images, labels, optimizer, loss_fn):
    logits = model(images)
    answers.train_step(model, images, labels, optimizer, loss_fn)
    return logits


def returns_nothing(model, images, labels, optimizer, loss_fn):
    answers.train_step(model, images, labels, optimizer, loss_fn)


def own_optimizer(model, images, labels, optimizer, loss_fn):
    return answers.train_step(model, images, labels, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn)


def no_backward(model, images, labels, optimizer, loss_fn):
    loss = loss_fn(model(images), labels)
    optimizer.zero_grad()
    optimizer.step()
    return loss


def stub(model, images, labels, optimizer, loss_fn):
    raise NotImplementedError


@pytest.mark.parametrize("fn", [answers.train_step, zero_grad_first, zero_grad_last_with_model_train])
def test_right_steps_pass(fn):
    result = check_train_step(fn)
    assert result.status == PASS, str(result)


@pytest.mark.parametrize("fn, words", [
    (no_zero_grad, ["두 번째 스텝", "After step 2", "zero_grad is never called", "added together"]),
    (step_before_backward, ["After step 1", "optimizer.step() comes before loss.backward()"]),
    (zero_grad_between, ["zero_grad between backward and step wipes"]),
    (backward_on_logits, ["not a scalar (the logits?)"]),
    (backward_on_logits_sum, ["Backward ran from something other than the loss"]),
    (eval_mode, ["put the model in eval mode", "train_one_epoch calls model.train()"]),
    (swapped, ["arguments are swapped", "loss_fn(logits, labels)"]),
    (detached, ["cut off the graph"]),
    (no_grad_forward, ["inside torch.no_grad()"]),
    (item_before_backward, ["(loss.item()) cannot backpropagate"]),
    (returns_item, ["Returns a float", "not loss.item()"]),
    (returns_logits, ["shape (6, 5)", "the logits?"]),
    (returns_nothing, ["Returns a NoneType", "return loss"]),
    (own_optimizer, ["optimizer you were given"]),
    (no_backward, ["loss.backward() is never called"]),
], ids=lambda v: getattr(v, "__name__", ""))
def test_each_step_mistake_gets_its_own_message(fn, words):
    text = _failure(check_train_step(fn))
    for word in words:
        assert word in text, (word, text)


def test_step_stub_is_pending_and_non_functions_fail():
    assert check_train_step(stub).status == TODO
    assert check_train_step(42).status == FAIL


def test_the_checks_leave_the_random_generator_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_train_step(answers.train_step)
    check_evaluate(answers.evaluate)
    assert torch.equal(torch.rand(3), expected)


def test_answers_are_the_engines_own_step_and_evaluation():
    assert answers.train_step is answers.train_step is engine.train_step
    assert answers.evaluate is answers.evaluate
    assert engine.train_one_epoch.__kwdefaults__ is None  # `step` is positional-or-keyword, default the answer
    assert engine.train_one_epoch.__defaults__[-1] is answers.train_step


# -- the evaluation -------------------------------------------------------------------------------------------------
def eval_restores_train_mode(model, loader):
    accuracy = answers.evaluate(model, loader)
    model.train()
    return accuracy


def eval_inference_mode_tensor(model, loader):
    model.eval()
    correct, total = torch.zeros(()), 0
    with torch.inference_mode():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum()
            total += len(labels)
    return correct / total


def eval_no_eval(model, loader):
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
            total += labels.numel()
    return correct / total


def eval_no_grad_missing(model, loader):
    model.eval()
    correct = total = 0
    for images, labels in loader:
        correct += (model(images).argmax(1) == labels).sum().item()
        total += labels.numel()
    return correct / total


def _counts(model, loader):
    model.eval()
    with torch.no_grad():
        return [((model(x).argmax(1) == y).sum().item(), len(y)) for x, y in loader]


def eval_batch_mean(model, loader):
    per_batch = [right / n for right, n in _counts(model, loader)]
    return sum(per_batch) / len(per_batch)


def eval_by_batches(model, loader):
    return sum(right for right, _ in _counts(model, loader)) / len(loader)


def eval_percent(model, loader):
    return 100 * answers.evaluate(model, loader)


def eval_count(model, loader):
    return sum(right for right, _ in _counts(model, loader))


def eval_dataset(model, loader):
    right = sum(r for r, _ in _counts(model, loader))
    return right / len(loader.dataset)


def eval_argmax_0(model, loader):
    model.eval()
    with torch.no_grad():
        return sum((model(x).argmax(0) == y).sum().item() for x, y in loader) / 18


def eval_stub(model, loader):
    raise NotImplementedError


@pytest.mark.parametrize("fn", [answers.evaluate, eval_restores_train_mode, eval_inference_mode_tensor])
def test_right_evaluations_pass_and_say_who_restores_train_mode(fn):
    result = check_evaluate(fn)
    assert result.status == PASS, str(result)
    notes = " ".join(i.en for i in result.items if i.status == INFO)
    assert "train_one_epoch" in notes or "model.train() every epoch" in notes


@pytest.mark.parametrize("fn, words", [
    (eval_no_eval, ["predicted in train mode", "model.eval()"]),
    (eval_no_grad_missing, ["with gradients on", "torch.no_grad()"]),
    (eval_batch_mean, ["averaged the per-batch accuracies", "labels.size(0)"]),
    (eval_by_batches, ["divided the count by the number of batches", "labels.size(0)"]),
    (eval_percent, ["a percentage"]),
    (eval_count, ["the count itself"]),
    (eval_dataset, ["need not have .dataset"]),
    (eval_argmax_0, ["argmax(dim=1)"]),
], ids=lambda v: getattr(v, "__name__", ""))
def test_each_evaluation_mistake_gets_its_own_message(fn, words):
    text = _failure(check_evaluate(fn))
    for word in words:
        assert word in text, (word, text)


def test_the_counting_hint_is_given_only_for_a_counting_slip():
    assert "labels.size(0)" not in _failure(check_evaluate(eval_percent))


def test_evaluation_stub_is_pending():
    assert check_evaluate(eval_stub).status == TODO
    assert check_evaluate("evaluate").status == FAIL
