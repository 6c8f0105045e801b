"""Lesson 07: the learner's DDP training script, run under torchrun and judged by what its processes did.

:func:`check_ddp_script` runs ``torchrun --standalone --nproc_per_node=2 -m vgg_teach.checks.ddp RECORDS script``
on the CPU (gloo). In each process this module, as ``__main__``, imports the script, calls its ``main(epochs=2,
batch_size=16, save_to=…)`` and writes down what the process did: the images of every training step, what it
printed and saved, whether its model was moved after DDP wrapped it, its final weights, whether it left the
process group. The check compares the two processes' records and names the slip. :func:`torchrun` runs a script
from a notebook cell the same way, with a time limit.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence, Union

import torch
import torch.distributed as dist
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.utils.data.distributed import DistributedSampler

from ..errors import TrainingError, bilingual, josa
from . import NOT_WRITTEN, CheckResult, describe_exception, is_stub, never_raises

#: What the check calls ``main`` with (the exercise's defaults), in 2 processes: 8 images per process and step.
EPOCHS, BATCH, WORLD = 2, 16, 2
_ROOT = Path(__file__).resolve().parents[2]
#: A source checkout (no pip install) must be found by the processes too; an installed package always is.
_SOURCE = str(_ROOT) if (_ROOT / "pyproject.toml").is_file() else None
PathLike = Union[str, os.PathLike]


def torchrun(script: PathLike, nproc: int = 2, *args: str, cpu: bool = False, cwd: PathLike | None = None,
             timeout: float = 600.0, module: bool = False) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=nproc script args…`` (``-m script`` with ``module``) in ``cwd``, its
    output captured; ``cpu`` hides the GPUs. After ``timeout`` seconds every process is stopped and a bilingual
    :class:`~vgg_teach.errors.TrainingError` says so: a script that hangs does not hang the notebook."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_SOURCE, os.environ.get("PYTHONPATH")]))}
    if cpu:
        env["CUDA_VISIBLE_DEVICES"] = ""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               *(["-m"] if module else []), str(script), *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()  # torchrun stops the processes it started (SIGTERM, then SIGKILL), then itself
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        raise TrainingError(bilingual(
            f"torchrun으로 실행한 스크립트가 {timeout:g}초 안에 끝나지 않아 모든 프로세스를 멈췄습니다. "
            "흔한 원인은 한 프로세스만 부르는 통신입니다: 다른 프로세스는 오지 않을 짝을 끝없이 기다립니다"
            "(예: rank 0만 순전파하는 평가, 프로세스마다 다른 스텝 수, 한 프로세스에서만 부르는 dist.barrier()).",
            f"The script under torchrun did not finish in {timeout:g} s, so every process was stopped. The "
            "usual cause is a collective that only one process calls, so that the other waits forever for a partner "
            "that never comes (rank 0 alone running a forward pass to evaluate, processes taking different numbers "
            "of steps, dist.barrier() called in one process only).")) from None
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


def reference_script(folder: PathLike) -> Path:
    """``folder/ddp_train_reference.py``: a script that runs the reference answer, ``vgg_teach.answers.ddp_train``."""
    path = Path(folder) / "ddp_train_reference.py"
    path.write_text("from vgg_teach.answers import ddp_train as main\n\n"
                    "if __name__ == \"__main__\":\n    main()\n", encoding="utf-8")
    return path


# -- in each process (this module as __main__) -----------------------------------------------------------------------
def _keys(images: torch.Tensor) -> list[float]:
    """One number per image that tells it from the others (the data is the same random images in every process)."""
    return images.detach().flatten(1)[:, :16].double().sum(1).cpu().tolist()


def _saved(path: Path, keys: set[str]) -> str:
    """What ``path`` holds: "ok" (the plain model's state_dict), "module." (DDP's) or "other" (anything else, or a
    file another rank is still writing)."""
    try:
        state = torch.load(path, weights_only=True)
    except Exception:  # noqa: BLE001 - half written by another rank, or not a tensor file: not the weights
        return "other"
    got = set(state) if isinstance(state, dict) else set()
    return "ok" if got == keys else "module." if got == {f"module.{k}" for k in keys} else "other"


def _watch(script: Path, save_to: Path) -> dict[str, Any]:
    """Run ``script``'s ``main`` in this process and record what it does."""
    rec: dict[str, Any] = {"batches": [], "printed": "", "saved": [], "file": None, "wrapped": False,
                           "moved_after_wrap": False, "left_open": False, "weights": None, "error": None,
                           "stub": False, "unshuffled_sampler": False, "bypassed_ddp": False, "on_import": False,
                           "reduced_grads": False, "loss_ratios": [], "eval_steps": 0}
    depth, top, wrapped, joins, pending = [0], [], [], [], []
    real_save, real_init, real_to, real_cuda = torch.save, DistributedDataParallel.__init__, nn.Module.to, \
        nn.Module.cuda
    real_join, real_sampler_iter, real_all_reduce = dist.init_process_group, DistributedSampler.__iter__, \
        dist.all_reduce
    real_ce, real_backward, losses = F.cross_entropy, torch.Tensor.backward, []

    def before(module: nn.Module, args: tuple) -> None:
        # the outermost module with parameters: the model (a loss module such as nn.CrossEntropyLoss has none)
        if depth[0] == 0 and args and isinstance(args[0], torch.Tensor) and \
                next(module.parameters(), None) is not None:
            pending[:] = [(_keys(args[0]), module)]  # a training step's images, if an optimizer step follows
            top[:] = [module]
        depth[0] += 1

    def stepped(optimizer: Any, args: Any, kwargs: Any) -> None:  # the forward before it was a training step
        if pending:
            keys, module = pending.pop()
            rec["batches"].append(keys)
            rec["eval_steps"] += not module.training
            rec["bypassed_ddp"] |= any(module is m for m in wrapped[1::2])  # model.module(x): DDP's inner model

    def after(module: nn.Module, args: tuple, output: Any) -> None:
        depth[0] -= 1

    def save(obj: Any, f: Any, *a: Any, **k: Any) -> Any:
        rec["saved"].append(str(f))
        return real_save(obj, f, *a, **k)

    def init(self: DistributedDataParallel, module: nn.Module, *a: Any, **k: Any) -> None:
        real_init(self, module, *a, **k)
        wrapped.extend([self, module])
        rec["wrapped"] = True

    def join(backend: Any = None, init_method: Any = None, *a: Any, **k: Any) -> Any:
        """init_process_group from torchrun's environment, in a store namespace of this script's and this call's
        own: a process that runs several scripts (the test runs several), or a script whose group is made twice,
        would otherwise meet the previous group's keys."""
        for name in ("rank", "world_size"):
            value = int(os.environ[name.upper()])
            if k.get(name, -1) not in (-1, value):  # torchrun would wait forever for processes that never come
                raise ValueError(f"init_process_group({name}={k[name]!r}), but torchrun started this process with "
                                 f"{name}={value}")
        if init_method is None and k.get("store") is None and not a:
            store, rank, world_size = next(dist.rendezvous("env://"))
            joins.append(script)
            k.update(store=dist.PrefixStore(f"vgg-teach-check/{script}/{len(joins)}/", store), rank=rank,
                     world_size=world_size)
        return real_join(backend, init_method, *a, **k)

    def all_reduce(tensor: Any, *a: Any, **k: Any) -> Any:  # on a gradient DDP has already averaged?
        rec["reduced_grads"] |= any(tensor is p.grad for m in wrapped[1::2] for p in m.parameters())
        return real_all_reduce(tensor, *a, **k)

    def cross_entropy(*a: Any, **k: Any) -> Any:  # nn.CrossEntropyLoss calls it too
        loss = real_ce(*a, **k)
        losses[:] = [float(loss.detach())] if isinstance(loss, torch.Tensor) and loss.dim() == 0 else []
        return loss

    def backward(self: torch.Tensor, *a: Any, **k: Any) -> Any:  # the loss backpropagated, over the cross-entropy
        if losses and losses[0] and self.dim() == 0:
            rec["loss_ratios"].append(float(self.detach()) / losses[0])
        return real_backward(self, *a, **k)

    def sampler_iter(self: DistributedSampler) -> Any:
        rec["unshuffled_sampler"] |= not self.shuffle
        return real_sampler_iter(self)

    def mover(real: Any) -> Any:
        def move(self: nn.Module, *a: Any, **k: Any) -> Any:
            rec["moved_after_wrap"] |= any(self is m for m in wrapped)
            return real(self, *a, **k)
        return move

    hooks = [nn.modules.module.register_module_forward_pre_hook(before),
             nn.modules.module.register_module_forward_hook(after, always_call=True),
             register_optimizer_step_pre_hook(stepped)]
    torch.save, DistributedDataParallel.__init__, nn.Module.to, nn.Module.cuda = \
        save, init, mover(real_to), mover(real_cuda)
    dist.init_process_group, DistributedSampler.__iter__, dist.all_reduce = join, sampler_iter, all_reduce
    F.cross_entropy, torch.Tensor.backward = cross_entropy, backward
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            spec = importlib.util.spec_from_file_location("ddp_script", script)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            rec["on_import"] = bool(rec["batches"])  # training ran as the script was imported: no __main__ guard
            module.main(epochs=EPOCHS, batch_size=BATCH, save_to=str(save_to))
        model = getattr(top[0], "module", top[0]) if top else None
        if model is not None:
            rec["weights"] = [sum(float(p.detach().double().sum()) for p in model.parameters()),
                              sum(float(p.detach().double().square().sum()) for p in model.parameters())]
            if os.environ.get("RANK") == "0" and save_to.is_file():  # rank 0 reads it, once its own main is done
                rec["file"] = _saved(save_to, set(model.state_dict()))
    except Exception as exc:  # noqa: BLE001 - the learner's error, recorded for the check to explain
        rec["error"], rec["stub"] = list(describe_exception(exc)) + [str(exc)], is_stub(exc)
    finally:
        for hook in hooks:
            hook.remove()
        torch.save, DistributedDataParallel.__init__, nn.Module.to, nn.Module.cuda = \
            real_save, real_init, real_to, real_cuda
        dist.init_process_group, DistributedSampler.__iter__, dist.all_reduce = \
            real_join, real_sampler_iter, real_all_reduce
        F.cross_entropy, torch.Tensor.backward = real_ce, real_backward
        rec["printed"] = out.getvalue()
        top.clear()
        wrapped.clear()
        gc.collect()  # DDP objects hold the group in reference cycles: freed before it is destroyed
        rec["left_open"] = dist.is_initialized()
        if rec["left_open"]:
            dist.destroy_process_group()
    return rec


def _record_scripts(folder: Path, scripts: Sequence[str]) -> int:
    """Run each script in turn, writing ``folder/<i>.<rank>.json``; exit status 1 if any raised. A script that raised
    in every process left no group open (:func:`_watch` closes it), so the next one starts clean."""
    rank, failed = int(os.environ["RANK"]), False
    for i, script in enumerate(scripts):
        rec = _watch(Path(script), folder / f"model{i}.pt")
        (folder / f"{i}.{rank}.json").write_text(json.dumps(rec), encoding="utf-8")
        failed |= bool(rec["error"])
    return int(failed)


# -- the check ---------------------------------------------------------------------------------------------------------
def _records(folder: Path, count: int) -> list[dict[int, dict]]:
    """What :func:`_record_scripts` wrote for each of ``count`` scripts: rank → record, for the ranks that wrote."""
    return [{rank: json.loads(p.read_text(encoding="utf-8")) for rank in range(WORLD)
             if (p := folder / f"{i}.{rank}.json").is_file()} for i in range(count)]


#: Errors with one usual cause: (words of the error, ko, en).
_ERROR_HINTS = [
    ("process group has not been initialized",
     "DDP와 DistributedSampler는 프로세스 그룹이 필요합니다: 먼저 dist.init_process_group(…)을 부르세요. 불렀다면 "
     "dist.destroy_process_group()이 이 줄보다 먼저 불리지 않았는지 보세요: 그룹은 저장과 출력까지 끝난 맨 "
     "마지막에 닫습니다.",
     "DDP and DistributedSampler need the process group: call dist.init_process_group(…) first. If you did, check "
     "that dist.destroy_process_group() does not come before this line: the group closes last, after the saving "
     "and printing."),
    ("but torchrun started this process with",
     "rank와 world_size는 torchrun이 정해 환경 변수(RANK, WORLD_SIZE)로 넘깁니다: init_process_group에는 주지 "
     "않아도 되고, 준다면 고정된 수가 아니라 int(os.environ[\"WORLD_SIZE\"])처럼 환경 변수에서 읽은 값을 주세요.",
     "torchrun sets rank and world_size and passes them in environment variables (RANK, WORLD_SIZE): "
     "init_process_group needs neither, and if you give them, read them from the environment, "
     "int(os.environ[\"WORLD_SIZE\"]), rather than fixing a number."),
    ("connection closed by peer",
     "다른 프로세스가 먼저 끝나 연결이 끊겼습니다: 한 프로세스만 부르는 통신 때문입니다. 예: if rank == 0 안의 "
     "dist.barrier(), rank 0만 DDP 모델로 순전파하는 평가. 통신은 모든 프로세스가 같은 순서로 부르고, rank 0만 "
     "할 일(출력, 저장)에는 감싸지 않은 model.module을 쓰세요.",
     "Another process finished first and the connection closed: a collective that only one process calls. For "
     "example dist.barrier() inside if rank == 0, or rank 0 alone running the DDP model forward to evaluate. "
     "Every process must call the collectives in the same order; for rank 0's own work (printing, saving) use the "
     "unwrapped model.module."),
    ("nccl",
     "NCCL은 프로세스마다 GPU가 하나씩 있을 때만 씁니다. 이 검사처럼 GPU가 모자라면 CPU에서 gloo를 고르세요.",
     "NCCL needs a GPU for every process; with fewer GPUs, as in this check, choose gloo on the CPU."),
    ("mutually exclusive with shuffle",
     "sampler를 준 DataLoader에는 shuffle을 주지 않습니다: 섞는 일은 DistributedSampler(data, shuffle=True)가 "
     "에포크마다(set_epoch) 합니다.",
     "A DataLoader with a sampler takes no shuffle: DistributedSampler(data, shuffle=True) does the shuffling, "
     "every epoch (set_epoch)."),
    ("device_ids and output_device arguments only work",
     "device_ids는 GPU에서만 줍니다: CPU(gloo)에서는 DDP(model) 또는 device_ids=None으로 감싸세요.",
     "device_ids is for GPUs only: on the CPU (gloo) wrap with DDP(model), or device_ids=None."),
    ("SyncBatchNorm layers only work with GPU modules",
     "SyncBatchNorm은 GPU에서만 동작합니다: CPU(gloo)에서는 convert_sync_batchnorm을 GPU가 있을 때만 부르세요.",
     "SyncBatchNorm runs on GPUs only: on the CPU (gloo) call convert_sync_batchnorm only when there are GPUs."),
    ("batch_size should be a positive integer",
     "프로세스마다의 배치 크기는 정수입니다: batch_size / world_size가 아니라 batch_size // world_size.",
     "The batch size per process is a whole number: batch_size // world_size, not batch_size / world_size."),
    ("can't pickle <function",
     "torchrun이 이미 rank마다 프로세스를 하나씩 띄우고 그 안에서 main을 부릅니다: torch.multiprocessing.spawn으로 "
     "프로세스를 또 만들지 말고, rank와 장치는 환경 변수(RANK, LOCAL_RANK)에서 읽으세요.",
     "torchrun already starts one process per rank and calls main in each: do not start more with "
     "torch.multiprocessing.spawn; read the rank and device from the environment (RANK, LOCAL_RANK)."),
    ("no nvidia driver",
     "GPU가 없는 곳에서 CUDA를 불렀습니다(torch.cuda.set_device, .cuda() …): GPU를 쓰는 줄은 if "
     "torch.cuda.is_available(): 안에 두고, 없으면 CPU와 gloo를 쓰세요.",
     "CUDA was called where there is no GPU (torch.cuda.set_device, .cuda() …): put the lines that need a GPU "
     "under if torch.cuda.is_available():, and use the CPU with gloo otherwise."),
    ("has no attribute 'main'",
     "스크립트에 main 함수가 있어야 합니다: 검사는 main(epochs=…, batch_size=…, save_to=…)을 부릅니다.",
     "The script needs a main function: the check calls main(epochs=…, batch_size=…, save_to=…)."),
    ("unexpected keyword argument",
     "main의 매개변수는 연습에 주어진 그대로 두세요: main(epochs=2, batch_size=16, save_to=\"ddp_tiny.pt\").",
     "Keep main's parameters as the exercise gives them: main(epochs=2, batch_size=16, save_to=\"ddp_tiny.pt\")."),
]


def _epochs(rec: dict) -> list[list[float]]:
    """The images of each epoch, in order (the steps split into EPOCHS equal parts), or [] when they do not split."""
    images = [k for batch in rec["batches"] for k in batch]
    n = len(images) // EPOCHS
    return [images[e * n:(e + 1) * n] for e in range(EPOCHS)] if n and len(images) % EPOCHS == 0 else []


def _loss_scale(rec: dict) -> tuple[str, str] | None:
    """("1/2", "1/2") or ("2배", "2×") when every step backpropagated the cross-entropy divided or multiplied by the
    number of processes, else ``None`` (another loss, or the plain one)."""
    ratios = rec["loss_ratios"]
    for factor, words in ((1 / WORLD, (f"1/{WORLD}", f"1/{WORLD}")), (WORLD, (f"{WORLD}배", f"{WORLD}×"))):
        if ratios and all(abs(r - factor) <= 1e-4 * factor for r in ratios):
            return words
    return None


def _judge(result: CheckResult, records: dict[int, dict], output: str) -> None:
    """A ✅ or ❌ line for each part of the script, from what the two processes did."""
    errors = [(rank, r) for rank, r in sorted(records.items()) if r["error"]]
    if any(r["stub"] for _, r in errors):
        result.todo(*NOT_WRITTEN)
        return
    if any(r["on_import"] for r in records.values()):
        result.fail("스크립트를 import하기만 했는데 학습이 돌았습니다: main()을 부르는 줄이 if __name__ == "
                    "\"__main__\": 아래에 있지 않습니다. 검사는 스크립트를 import한 뒤 main(…)을 따로 부르므로 "
                    "학습이 두 번 실행됩니다.",
                    "Training ran as soon as the script was imported: the line that calls main() is not under if "
                    "__name__ == \"__main__\":. The check imports the script and then calls main(…) itself, so "
                    "training runs twice.",
                    "if __name__ == \"__main__\":\n    main()", "if __name__ == \"__main__\":\n    main()")
        return
    if errors:
        rank, r = errors[0]
        ko, en, text = r["error"]
        hint = next(((h_ko, h_en) for words, h_ko, h_en in _ERROR_HINTS if words.lower() in text.lower()), ("", ""))
        result.fail(f"rank {rank}: {ko}", f"rank {rank}: {en}", *hint)
        return
    if len(records) < WORLD:
        tail = output.strip()[-1500:]
        result.fail(f"스크립트가 프로세스 {WORLD}개에서 끝까지 실행되지 않았습니다. torchrun의 마지막 출력:\n{tail}",
                    f"The script did not run to the end in {WORLD} processes. torchrun's last output:\n{tail}")
        return
    r0, r1 = records[0], records[1]
    steps = [len(r["batches"]) for r in (r0, r1)]
    if not all(steps):
        result.fail("학습 스텝이 하나도 없습니다: 에포크마다 loader의 배치로 한 스텝씩 학습하세요(optimizer.step()).",
                    "No training step was taken: train one step on every batch of the loader, every epoch "
                    "(optimizer.step()).")
        return
    if r0["eval_steps"]:
        result.fail(f"학습 스텝 {steps[0]}번 가운데 {r0['eval_steps']}번이 평가 모드(model.eval())에서 돌았습니다: "
                    "드롭아웃이 꺼지고 배치 정규화가 누적 통계를 그대로 씁니다. 평가한 뒤 학습 모드로 되돌리지 "
                    "않으면 그다음 에포크가 이렇게 학습합니다.",
                    f"{r0['eval_steps']} of the {steps[0]} training steps ran in eval mode (model.eval()): dropout "
                    "is off and batch norm uses its running statistics. After an evaluation, the next epoch trains "
                    "like this unless train mode comes back.",
                    "에포크마다 처음에 model.train()을 부르세요.", "Call model.train() at the start of every epoch.")
    sizes, share = sorted({len(b) for r in (r0, r1) for b in r["batches"]}), BATCH // WORLD
    slip = (" 전역 배치를 프로세스마다 그대로 썼습니다.", " You used the global batch in every process.") \
        if sizes == [BATCH] else ("", "")
    result.expect(sizes == [share], (
        f"전역 배치 {BATCH}장을 두 프로세스가 {share}장씩 나눠 맡았습니다.",
        f"The global batch of {BATCH} was shared: {share} images per process and step."), (
        f"프로세스마다 한 스텝에 {'/'.join(map(str, sizes))}장을 학습했습니다. "
        f"{josa(f'batch_size = {BATCH}', '는')} 두 프로세스가 "
        f"한 스텝에 함께 보는 수이므로 프로세스마다 {share}장이어야 합니다.{slip[0]}",
        f"Each process trained on {'/'.join(map(str, sizes))} images a step. batch_size = {BATCH} is what both "
        f"processes see together in one step, so each should take {share}.{slip[1]}"),
        ("DataLoader(…, batch_size=batch_size // dist.get_world_size())",) * 2)
    epochs = [_epochs(r) for r in (r0, r1)]
    if all(epochs):
        first, shared = set(epochs[0][0]), len(set(epochs[0][0]) & set(epochs[1][0]))
        result.expect(not shared, (
            f"한 에포크에 두 프로세스가 서로 다른 이미지를 {len(first)}장씩 학습했습니다.",
            f"In an epoch the two processes trained on different images, {len(first)} each."), (
            f"두 프로세스가 같은 이미지로 학습했습니다(첫 에포크의 {len(first)}장 중 {shared}장이 같습니다). 모든 "
            "rank가 같은 이미지를 보면 평균 낸 기울기도 프로세스 하나의 기울기와 같아서, GPU를 더 써도 얻는 것이 "
            "없습니다.",
            f"Both processes trained on the same images ({shared} of {len(first)} alike in the first epoch). When "
            "every rank sees the same images, the averaged gradient is just one process's gradient: the second GPU "
            "adds nothing."), (
            "데이터를 프로세스마다 나누세요: sampler = DistributedSampler(data), DataLoader(data, …, sampler=sampler)",
            "Give each process its own shard: sampler = DistributedSampler(data), DataLoader(data, …, "
            "sampler=sampler)"))
        result.expect(all(e[0] != e[1] for e in epochs), (
            "에포크마다 이미지의 순서가 새로 섞였습니다.", "Every epoch the images came in a new order."), (
            "두 번째 에포크도 첫 에포크와 똑같은 순서로 학습했습니다: 에포크마다 데이터를 다시 섞지 않습니다.",
            "The second epoch went through the images in exactly the first epoch's order: the data is not "
            "reshuffled every epoch."), (
            "DistributedSampler(data, shuffle=False)는 섞지 않습니다: shuffle=True(기본값)로 두고, 에포크마다 "
            "sampler.set_epoch(epoch)를 부르세요.",
            "DistributedSampler(data, shuffle=False) never shuffles: leave shuffle=True (the default) and call "
            "sampler.set_epoch(epoch) every epoch.") if r0["unshuffled_sampler"] else (
            "에포크마다 처음에 sampler.set_epoch(epoch)를 부르세요. DistributedSampler는 (seed, 에포크)로 순서를 "
            "정하므로, 부르지 않으면 매번 같은 순서가 됩니다.",
            "Call sampler.set_epoch(epoch) at the start of every epoch: DistributedSampler draws its order from "
            "(seed, epoch), so without it every epoch has the same order."))
    else:
        result.fail(f"두 프로세스의 스텝 수({steps[0]}, {steps[1]})를 에포크 {EPOCHS}개로 똑같이 나눌 수 없습니다.",
                    f"The processes' steps ({steps[0]}, {steps[1]}) do not split into {EPOCHS} equal epochs.",
                    "for epoch in range(epochs): 안에서 loader의 배치마다 한 스텝씩 학습하세요.",
                    "Take one step per batch of the loader inside for epoch in range(epochs):.")
    same = all(r["weights"] for r in (r0, r1)) and all(
        abs(a - b) <= 1e-6 * max(abs(a), abs(b), 1.0) for a, b in zip(r0["weights"], r1["weights"]))
    wrap = ("model = DDP(model.to(device), device_ids=…)",) * 2
    if not r0["wrapped"]:
        result.fail("모델을 DistributedDataParallel로 감싸지 않았습니다. 그러면 기울기의 평균을 내지 않으므로 두 "
                    "프로세스가 서로 다른 모델로 끝납니다" + ("." if same else "(실제로 가중치가 다릅니다)."),
                    "The model was never wrapped in DistributedDataParallel, so the gradients are not averaged and "
                    "the processes end with different models" + ("." if same else " (their weights do differ)."),
                    *wrap)
    elif r0["moved_after_wrap"] or r1["moved_after_wrap"]:
        result.fail("모델을 DDP로 감싼 다음에 장치로 옮겼습니다(.to 또는 .cuda). DDP는 감쌀 때 매개변수가 있는 "
                    "장치에 통신 버퍼를 만들기 때문에, GPU에서는 이 순서가 오류를 내거나 통신을 망칩니다. CPU에서는 "
                    "드러나지 않을 뿐입니다.",
                    "The model was moved to its device (.to or .cuda) after DDP wrapped it. DDP sets up its "
                    "communication buffers where the parameters are when it wraps them, so on GPUs this order fails "
                    "or communicates wrongly; on the CPU it merely goes unnoticed.",
                    "먼저 옮기고 나서 감싸세요: model = DDP(model.to(device), device_ids=…)",
                    "Move first, then wrap: model = DDP(model.to(device), device_ids=…)")
    elif r0["bypassed_ddp"] and not same:
        result.fail("학습 스텝이 model.module(x)로 DDP 안의 모델을 직접 불렀습니다. 그러면 DDP를 거치지 않아 기울기의 "
                    "평균을 내지 않고, 두 프로세스가 서로 다른 가중치로 끝납니다.",
                    "The training steps called model.module(x), the model inside DDP, directly: DDP is bypassed, the "
                    "gradients are not averaged, and the processes end with different weights.",
                    "학습 스텝에서는 감싼 모델을 부르세요: loss = loss_fn(model(images), labels)",
                    "Call the wrapped model in the steps: loss = loss_fn(model(images), labels)")
    elif r0["reduced_grads"] or r1["reduced_grads"]:
        result.fail("기울기에 dist.all_reduce를 직접 했습니다: DDP가 backward에서 이미 평균을 냈으므로, 기울기가 "
                    "프로세스 수만큼 커집니다(학습률을 그만큼 키운 것과 같습니다).",
                    "The gradients went through dist.all_reduce by hand: DDP has already averaged them in backward, "
                    "so they grow by the number of processes (as if the learning rate had).",
                    "DDP로 감쌌다면 기울기는 건드리지 마세요: loss.backward() 다음에 바로 optimizer.step().",
                    "With DDP, leave the gradients alone: loss.backward(), then optimizer.step().")
    elif (scale := _loss_scale(r0)) is not None:
        result.fail(f"역전파한 손실이 교차 엔트로피의 {scale[0]}입니다. DDP는 backward에서 기울기를 이미 프로세스 수로 "
                    "나눠 평균을 내므로, 손실을 world_size로 나누거나 곱하면 기울기가 그만큼 작아지거나 커집니다"
                    "(학습률을 바꾼 것과 같습니다).",
                    f"The loss you backpropagated is {scale[1]} the cross-entropy. DDP already averages the gradients "
                    "over the processes in backward, so dividing or multiplying the loss by world_size shrinks or "
                    "grows them as much (as if the learning rate had changed).",
                    "loss = loss_fn(model(images), labels); loss.backward(): world_size로 나누지 마세요.",
                    "loss = loss_fn(model(images), labels); loss.backward(): no division by world_size.")
    else:
        result.expect(same, (
            "모델을 장치로 옮긴 뒤 DDP로 감쌌고, 두 프로세스의 가중치가 끝까지 같습니다.",
            "The model was moved to its device, then wrapped in DDP, and both processes end with the same weights."), (
            "두 프로세스가 서로 다른 가중치로 끝났습니다: DDP가 평균 낸 기울기로 모두 같은 갱신을 해야 합니다.",
            "The two processes ended with different weights: with DDP's averaged gradients every process should "
            "take the same steps."), ("옵티마이저와 학습 스텝 모두에 DDP로 감싼 모델을 쓰세요.",
                                      "Use the DDP-wrapped model in the optimizer and in the steps."))
    rank0 = ("if dist.get_rank() == 0: …",) * 2
    if r1["printed"].strip():
        result.fail("rank 1도 출력했습니다: 모든 rank가 출력하면 같은 줄이 프로세스 수만큼 겹쳐 나옵니다.",
                    "Rank 1 printed too: when every rank prints, each line comes out once per process.", *rank0)
    else:
        result.expect(r0["printed"].strip(), ("rank 0만 출력했습니다.", "Rank 0 alone printed."), (
            "print로 출력한 것이 없습니다: 에포크마다 rank 0이 손실을 print하게 하세요(logging은 표준 출력이 아니라 "
            "stderr로 갑니다).",
            "Nothing was printed: let rank 0 print() the loss of every epoch (logging goes to stderr, not to the "
            "standard output)."), rank0)
    save = ("torch.save(model.module.state_dict(), save_to)",) * 2
    if r1["saved"] and set(r1["saved"]) & set(r0["saved"]):
        result.fail("rank 1도 저장했습니다: 모든 rank가 같은 파일에 쓰면 경쟁 상태(race condition)가 생겨 서로 "
                    "덮어씁니다. 가중치는 모든 프로세스에서 같으니 한 번만 쓰면 됩니다.",
                    "Rank 1 saved too: when every rank writes the same file they race and overwrite each other. The "
                    "weights are the same in every process, so one write is enough.", *rank0)
    elif r1["saved"]:
        result.fail(f"rank 1도 따로 저장했습니다({', '.join(r1['saved'])}): 가중치는 모든 프로세스에서 같으니 rank "
                    "0이 한 번 쓰면 됩니다. GPU가 8개면 같은 파일이 8개 생깁니다.",
                    f"Rank 1 saved a file of its own too ({', '.join(r1['saved'])}): the weights are the same in "
                    "every process, so one write by rank 0 is enough; with 8 GPUs there would be 8 copies.", *rank0)
    elif r0["file"] is None:
        where = f" ({', '.join(r0['saved'])})" if r0["saved"] else ""
        result.fail(f"save_to에 아무것도 저장하지 않았습니다{where}. 학습이 끝나면 rank 0이 save_to에 가중치를 "
                    "저장하게 하세요.", f"Nothing was saved to save_to{where}: when training ends, let rank 0 save "
                    "the weights there.", *save)
    elif r0["file"] == "module.":
        result.fail("DDP로 감싼 모델의 state_dict를 저장했습니다. 모든 키가 module.로 시작해서, 감싸지 않은 "
                    "모델(프로세스 하나로 이어 가거나 평가할 때)에는 그대로 들어가지 않습니다.",
                    "You saved the DDP wrapper's state_dict: every key starts with module., so a plain model (one "
                    "process resuming or evaluating) cannot load it as it is.", *save)
    else:
        result.expect(r0["file"] == "ok", ("rank 0만 모델의 가중치(state_dict)를 저장했습니다.",
                                           "Rank 0 alone saved the model's weights (its state_dict)."), (
            "save_to의 파일이 모델의 state_dict가 아닙니다.",
            "The file at save_to is not the model's state_dict."), save)
    if r1["left_open"] and not r0["left_open"]:
        result.fail("rank 0은 프로세스 그룹을 닫았지만 rank 1은 열어 둔 채 끝났습니다: destroy_process_group()이 "
                    "if rank == 0: 안에 있지 않나요?",
                    "Rank 0 closed the process group but rank 1 left it open: is destroy_process_group() inside "
                    "if rank == 0:?",
                    "모든 rank가 main의 끝에서 dist.destroy_process_group()을 부르세요.",
                    "Every rank calls dist.destroy_process_group() at the end of main.")
        return
    result.expect(not (r0["left_open"] or r1["left_open"]), (
        "끝에 프로세스 그룹을 닫았습니다.", "The process group was closed at the end."), (
        "main이 끝날 때 프로세스 그룹이 열려 있었습니다(destroy_process_group이 없습니다). 그대로 두면 프로세스가 "
        "끝날 때 경고가 나오고 통신 자원이 정리되지 않습니다.",
        "The process group was still open when main returned (no destroy_process_group): the processes then exit "
        "with a warning and their communication resources are not released."), (
        "main의 끝에서 dist.destroy_process_group()을 부르세요.",
        "Call dist.destroy_process_group() at the end of main."))


def _unwritten(script: Path) -> bool:
    """Does ``main`` still hold the exercise's stub (a ``raise NotImplementedError`` in its body)? Then there is
    nothing to run yet, and no processes are started to find that out."""
    try:
        tree = ast.parse(script.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return False  # the run says what is wrong
    main = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"), None)
    return main is not None and any(isinstance(s, ast.Raise) and s.exc is not None
                                    and "NotImplementedError" in ast.unparse(s.exc) for s in main.body)


@never_raises("check_ddp_script")
def check_ddp_script(result: CheckResult, path: PathLike, timeout: float = 300.0) -> CheckResult:
    """Run the script at ``path`` under torchrun in 2 processes on the CPU (gloo), calling its ``main(epochs=2,
    batch_size=16, save_to=…)``, and judge what the processes did: their data, batch, model, output, saves."""
    script = Path(path)
    if not script.is_file():
        result.fail(f"{script} 파일이 없습니다: 위의 %%writefile 셀을 먼저 실행하세요.",
                    f"There is no file {script}: run the %%writefile cell above first.")
        return result
    if _unwritten(script):
        result.todo(*NOT_WRITTEN)
        return result
    result.note(f"torchrun --standalone --nproc_per_node={WORLD} {script.name}: CPU에서 프로세스 {WORLD}개(gloo)가 "
                f"main(epochs={EPOCHS}, batch_size={BATCH})을 실행합니다.",
                f"torchrun --standalone --nproc_per_node={WORLD} {script.name}: {WORLD} processes on the CPU (gloo) "
                f"run main(epochs={EPOCHS}, batch_size={BATCH}).")
    with tempfile.TemporaryDirectory(prefix="vgg-teach-ddp-") as folder:
        try:
            done = torchrun("vgg_teach.checks.ddp", WORLD, folder, str(script.resolve()), cpu=True, cwd=folder,
                            timeout=timeout, module=True)
        except TrainingError as err:
            ko, en = str(err).split("\n", 1)
            result.fail(ko, en)
            return result
        records = _records(Path(folder), 1)[0]
    _judge(result, records, done.stdout + done.stderr)
    return result


if __name__ == "__main__":
    sys.exit(_record_scripts(Path(sys.argv[1]), sys.argv[2:]))
