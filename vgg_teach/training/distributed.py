"""Several processes, one model: what ``torchrun`` and ``DistributedDataParallel`` (DDP) need around the engine.

torchrun starts N copies of the program and tells each who it is in environment variables: :func:`launch_from_env`
reads them into a :class:`Dist`, :func:`plan` picks the device and backend (refusing at once what cannot work),
:func:`session` joins the process group and always leaves it. :func:`local_batch` is the global-batch rule:
``TrainConfig.batch_size`` is one step of all processes together, so N processes follow the recipe of one.
Without torchrun nothing here does anything.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import re
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, TypeVar, Union

import torch
import torch.distributed as dist
from torch import nn

from ..env import get_device
from ..errors import CheckpointError, TrainingError, UsageError, bilingual, cause, josa
from .guards import Terminated

T = TypeVar("T")


class FollowerStop(TrainingError):
    """Raised on the other ranks when rank 0 stopped (rank 0 raises, and prints, the real reason)."""


class PeerLostError(TrainingError):
    """Another process of the run died (killed, out of memory …), so this one stops too."""


@dataclass(frozen=True)
class Dist:
    """This process's place in a run: rank, process counts (in all, on this machine), device, backend (``None``: one
    process, no group) and ``notes`` to print when the group is joined."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    torchrun: bool = False
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: Optional[str] = None
    notes: tuple[tuple[str, str], ...] = ()

    @property
    def distributed(self) -> bool:
        return self.backend is not None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def gather(self, values: Sequence[float]) -> list[list[float]]:
        """Every process's ``values`` (float64: counts stay exact), in rank order."""
        if not self.distributed:
            return [[float(v) for v in values]]
        t = torch.tensor([float(v) for v in values], dtype=torch.float64,  # NCCL: CUDA tensors; gloo: CPU ones
                         device=self.device if self.backend == "nccl" else "cpu")
        parts = [torch.empty_like(t) for _ in range(self.world_size)]
        dist.all_gather(parts, t)
        return [p.tolist() for p in parts]

    def sum(self, values: Sequence[float]) -> list[float]:
        """``values`` added up over all processes."""
        return [sum(column) for column in zip(*self.gather(values))]

    def on_main(self, fn: Callable[[], T]) -> Optional[T]:
        """Rank 0 runs ``fn`` while the others wait; if it fails, it raises and the others raise
        :class:`FollowerStop`: nobody waits forever for a rank 0 that gave up (a failed write, a download)."""
        if not self.distributed:
            return fn()
        result, error = None, None
        if self.is_main:
            try:
                result = fn()
            except BaseException as err:  # noqa: BLE001 - told to the others first, raised right below
                error = err
        failed = self.sum([error is not None])[0]  # told to every rank
        if error is not None:
            raise error
        if failed:
            raise FollowerStop(bilingual("rank 0이 멈췄습니다(이유는 rank 0이 출력합니다).",
                                         "Rank 0 stopped (it prints why)."))
        return result

    def main_first(self, fn: Callable[[], T]) -> T:
        """``fn()`` on every rank, rank 0 first (it downloads or caches; the others then read what it made)."""
        got = self.on_main(fn)
        return got if self.is_main else fn()  # type: ignore[return-value]


def launch_from_env(environ: Optional[Mapping[str, str]] = None) -> Dist:
    """Who this process is, as torchrun's variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``)
    in ``environ`` (default: ``os.environ``) say; without ``RANK``/``WORLD_SIZE``: one process."""
    env = os.environ if environ is None else environ
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return Dist()
    keys = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
    try:
        rank, world = int(env["RANK"]), int(env["WORLD_SIZE"])
        local_rank, local_world = int(env.get("LOCAL_RANK", rank)), int(env.get("LOCAL_WORLD_SIZE", world))
    except ValueError:
        values = {k: env.get(k) for k in keys}
        raise UsageError(bilingual(f"torchrun의 환경 변수가 정수가 아닙니다: {values}. torchrun으로 다시 실행하세요.",
                                   f"torchrun's environment variables are not integers: {values}. Start the "
                                   "program with torchrun again.")) from None
    if not (0 <= rank < world and 0 <= local_rank < local_world <= world):
        values = ", ".join(f"{k}={v}" for k, v in zip(keys, (rank, world, local_rank, local_world)))
        raise UsageError(bilingual(f"torchrun의 환경 변수가 맞지 않습니다 ({values}).",
                                   f"torchrun's environment variables do not fit together ({values})."))
    return Dist(rank, world, local_rank, local_world, torchrun=True)


def plan(launch: Dist, prefer: Union[str, torch.device, None] = None) -> Dist:
    """``launch`` with its device and backend, or a bilingual :class:`UsageError` at once. Under torchrun:
    ``cuda:LOCAL_RANK`` with NCCL (gloo, said, without NCCL), or the CPU with gloo; more processes than GPUs on a
    machine is refused, and so is MPS."""
    if not launch.torchrun:
        return dataclasses.replace(launch, device=get_device(prefer))
    if not dist.is_available():
        raise UsageError(bilingual("이 PyTorch는 분산 학습(torch.distributed) 없이 만들어져 torchrun으로 여러 "
                                   "프로세스를 쓸 수 없습니다. torchrun 없이 python -m vgg_teach.train으로 실행하세요.",
                                   "This PyTorch was built without torch.distributed, so it cannot train with several "
                                   "processes. Run python -m vgg_teach.train without torchrun."))
    kind = str(prefer).split(":")[0] if prefer is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "mps":
        raise UsageError(bilingual("Apple GPU(MPS)로는 여러 프로세스가 함께 학습할 수 없습니다. torchrun 없이 "
                                   "실행하거나 --device cpu를 쓰세요.",
                                   "Several processes cannot train together on the Apple GPU (MPS). Run without "
                                   "torchrun, or use --device cpu."))
    if kind != "cuda":
        get_device(kind)  # an unknown name is refused there
        return dataclasses.replace(launch, device=torch.device("cpu"), backend="gloo")
    get_device("cuda")  # no CUDA at all: the usual message
    gpus, procs = torch.cuda.device_count(), launch.local_world_size
    if procs > gpus:
        raise UsageError(bilingual(
            f"이 컴퓨터의 프로세스는 {procs}개인데 GPU는 {gpus}개뿐입니다: 프로세스마다 GPU가 하나씩 있어야 합니다. "
            f"torchrun --nproc_per_node={josa(gpus, '로')} 실행하세요(CPU로 시험하려면 --device cpu).",
            f"{procs} processes on this machine but only {gpus} GPU(s): each process needs a GPU of its own. Run "
            f"torchrun --nproc_per_node={gpus} (to try it on the CPU, add --device cpu)."))
    device = torch.device("cuda", launch.local_rank)
    if dist.is_nccl_available():
        return dataclasses.replace(launch, device=device, backend="nccl")
    return dataclasses.replace(launch, device=device, backend="gloo", notes=((
        "이 PyTorch에는 NVIDIA의 GPU 간 통신 라이브러리 NCCL이 없어(예: Windows) gloo로 기울기를 주고받습니다. 학습은 "
        "같지만 느립니다. 빠르게 하려면 Linux용 PyTorch를 쓰세요.",
        "This PyTorch has no NCCL, NVIDIA's library for talking between GPUs (on Windows, for example), so the "
        "gradients travel through gloo: the same training, only slower. Use a Linux build of PyTorch for speed."),))


def local_batch(batch_size: int, world_size: int) -> int:
    """The global-batch rule: each of ``world_size`` processes takes ``batch_size / world_size`` images per step;
    a batch that does not divide is refused with the nearest batch sizes and process counts that would work."""
    if batch_size % world_size == 0:
        return batch_size // world_size
    lower, upper = batch_size // world_size * world_size, (batch_size // world_size + 1) * world_size
    counts = ", ".join(str(n) for n in (1, 2, 3, 4, 6, 8, 16) if batch_size % n == 0)
    sizes = f"{lower}, {upper}" if lower else f"{upper}"
    raise UsageError(bilingual(
        f"배치 크기(batch size)는 한 스텝에 모든 프로세스가 함께 보는 이미지 수입니다. 지금의 {batch_size}장은 "
        f"프로세스 {world_size}개로 똑같이 나눠지지 않습니다. --batch-size를 {world_size}의 배수({sizes} …)로 "
        f"하거나, 프로세스 수를 {counts} 중 하나로 하세요.",
        f"The batch size {batch_size} is the number of images all processes see together in one step, and it does "
        f"not divide evenly among {world_size} processes. Use a --batch-size that is a multiple of {world_size} "
        f"({sizes} …), or {counts} processes."))


_ACTIVE: Optional[Dist] = None
_STOPPING = False


def current() -> Dist:
    """The run this process is part of: the one :func:`session` opened, else one process on its own."""
    if _ACTIVE is not None:
        return _ACTIVE
    if dist.is_available() and dist.is_initialized():  # a group someone else made (their own script)
        backend = str(dist.get_backend())
        device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
        return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), device=device,
                    backend=backend)
    return Dist()


def pending() -> bool:
    """True under torchrun when no :func:`session` is open yet (``fit`` called from a learner's own script)."""
    return _ACTIVE is None and launch_from_env().torchrun and not (dist.is_available() and dist.is_initialized())


def _on_sigterm(signum: int, frame: Any) -> None:
    """torchrun stops the others with SIGTERM when one rank fails: stop like Ctrl-C (temporary files removed …)."""
    if not _STOPPING:
        raise Terminated


@contextmanager
def session(the_plan: Dist) -> Iterator[Dist]:
    """Join the process group of ``the_plan`` (from :func:`plan`) for the ``with`` block, and leave it on every way
    out. Under torchrun, SIGTERM becomes ``KeyboardInterrupt``; after an error it is ignored, so that rank 0 can
    still print its message before torchrun ends the run. One process: nothing to join."""
    global _ACTIVE, _STOPPING
    if _ACTIVE is not None or the_plan.backend is None:
        yield _ACTIVE or the_plan
        return
    if the_plan.device.type == "cuda":
        torch.cuda.set_device(the_plan.device)
    try:
        dist.init_process_group(the_plan.backend, device_id=the_plan.device if the_plan.backend == "nccl" else None)
    except (RuntimeError, ValueError) as err:
        raise TrainingError(bilingual(
            f"프로세스들이 서로 연결되지 못했습니다 ({cause(err)}). 모든 컴퓨터에서 같은 torchrun 명령(--nnodes, "
            "--rdzv-endpoint)을 썼는지, 그 주소와 포트에 닿을 수 있는지 확인하세요.",
            f"The processes could not connect to each other ({cause(err)}). Check that every machine ran the same "
            "torchrun command (--nnodes, --rdzv-endpoint) and that its address and port can be reached.")) from None
    _ACTIVE, _STOPPING = the_plan, False
    main_thread = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    failed = False
    try:
        yield _ACTIVE
    except BaseException:
        failed = _STOPPING = True
        raise
    finally:
        _ACTIVE = None
        if old is not None:
            signal.signal(signal.SIGTERM, signal.SIG_IGN if failed else old)
        # DDP objects of finished fits hold the group (gloo's threads) through reference cycles: collected now,
        # while the interpreter is whole, not during its shutdown (where destroying them can abort the process)
        gc.collect()
        try:
            dist.destroy_process_group()
        except Exception:  # noqa: BLE001 - leaving a broken group must not hide why it broke
            pass


def wrap(model: nn.Module, ctx: Dist, sync_bn: bool = False,
         say: Callable[[str], None] = lambda _msg: None) -> nn.Module:
    """``model`` (on ``ctx.device``) in DDP under torchrun, else itself. DDP copies rank 0's weights to every process,
    then averages the gradients during each backward pass. ``sync_bn`` (``SyncBatchNorm``) needs NCCL on GPUs:
    elsewhere it is said and training goes on with per-process batch norm."""
    if sync_bn and not (ctx.backend == "nccl" and ctx.device.type == "cuda"):
        if ctx.distributed:
            say(bilingual("SyncBatchNorm(--sync-bn)은 GPU의 NCCL에서만 됩니다: 여기(CPU, gloo)서는 SyncBatchNorm 없이 "
                          "계속합니다. "
                          "배치 정규화는 프로세스마다 자기 몫의 배치로 통계를 냅니다.",
                          "SyncBatchNorm (--sync-bn) works with NCCL on GPUs only: here (CPU, gloo) training "
                          "continues without it, each process's batch norm using its own share of the batch."))
        sync_bn = False
    if not ctx.distributed:
        return model
    if sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return nn.parallel.DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda"
                                               else None)


def same_checkpoint(ctx: Dist, found: bool, checkpoint: Any) -> None:
    """Every process must resume from the checkpoint, or none: on several machines ``--out`` must be shared."""
    seen = int(ctx.sum([1.0 if found else 0.0])[0])
    if 0 < seen < ctx.world_size:
        raise CheckpointError(bilingual(
            f"프로세스 {ctx.world_size}개 중 {seen}개만 체크포인트 {checkpoint} 를 봅니다. 컴퓨터 여러 대로 학습할 "
            "때는 --out이 모든 컴퓨터가 함께 쓰는 폴더(공유 파일 시스템)여야 합니다.",
            f"Only {seen} of {ctx.world_size} processes see the checkpoint {checkpoint}. With several machines, "
            "--out must be a folder they all share (a shared file system)."))


_PEER = re.compile(r"gloo|nccl|connection (reset|closed) by peer|broken pipe|socket timeout|process group|collective",
                   re.IGNORECASE)


def failing() -> None:
    """This process is failing: from now on torchrun's SIGTERM (sent once another rank died) must not cut short the
    message it is about to print (:func:`session` ignores it after an error anyway; this closes the gap before)."""
    global _STOPPING
    _STOPPING = True


def peer_lost(err: BaseException, saved_epoch: int, checkpoint: Any) -> Optional[PeerLostError]:
    """The error to raise when ``err`` says another rank died or the network broke (``None`` for other errors): what
    happened (gloo's first sentence), what is safe on disk, what next."""
    if isinstance(err, (FollowerStop, PeerLostError)) or not (
            isinstance(err, dist.DistError) or (isinstance(err, RuntimeError) and _PEER.search(str(err)))):
        return None
    text = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", cause(err).split(": ", 1)[-1])
    short = f"{type(err).__name__}: {text.split('. ')[0].rstrip('.')}"
    where_ko = (f"에포크 {saved_epoch}까지의 체크포인트가 {checkpoint} 에 온전히 있습니다: 같은 명령에 --resume을 붙여 "
                "이어 가세요(프로세스 수를 바꿔도 됩니다)." if saved_epoch else "아직 저장된 에포크가 없습니다.")
    where_en = (f"The checkpoint up to epoch {saved_epoch} at {checkpoint} is intact: run the same command with "
                "--resume to go on (with another number of processes if you like)." if saved_epoch else
                "No epoch was saved yet.")
    return PeerLostError(bilingual(
        f"함께 학습하던 다른 프로세스(rank)가 멈춰서 이 프로세스도 멈춥니다 ({short}). {where_ko} 멈춘 이유는 "
        "torchrun이 마지막에 보여 주는 요약(Root Cause)에, 이 강좌의 오류였다면 출력 폴더의 error.log에 있습니다.",
        f"Another process (rank) of this run stopped, so this one stops too ({short}). {where_en} Why it stopped "
        "is in the summary torchrun prints last (Root Cause) and, for an error of the course, in error.log in the "
        "output folder."))
