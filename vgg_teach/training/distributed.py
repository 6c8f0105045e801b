"""Several processes, one model: what ``torchrun`` and ``DistributedDataParallel`` (DDP) need around the engine.

``torchrun --nproc_per_node=N -m vgg_teach.train …`` starts N copies of the same program and tells each who
it is in environment variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``). This module
turns that into a :class:`Dist` — the rank, the number of processes, the device (``cuda:LOCAL_RANK``, or the
CPU) — and everything the engine does differently with more than one process:

- :func:`plan` checks, before anything is loaded, what can go wrong at once (more processes than GPUs, NCCL
  missing, MPS); :func:`session` joins the process group (NCCL on GPUs, gloo on CPUs) and always leaves it;
- :func:`local_batch` is **the global-batch rule**: ``TrainConfig.batch_size`` is the batch of one optimizer step
  for all processes together; each of N processes takes ``batch_size / N`` of it (which must divide), and the
  learning-rate schedule counts global steps — so N processes follow exactly the recipe of one;
- :meth:`Dist.sum` / :meth:`Dist.gather` add up or collect numbers over the processes (loss·count, correct,
  count, images, seconds), :meth:`Dist.on_main` runs what only rank 0 does (checkpoints) with the others waiting
  and stopping with it if it fails, :meth:`Dist.main_first` lets rank 0 go first (a download).

What the engine does with the model itself (DDP, SyncBatchNorm, per-rank seeds, throughput, a rank that died)
is in :mod:`.ddp`.

Without torchrun's variables nothing here does anything: :func:`current` is one process on its own device and
the engine runs exactly as it always did.

What the engine does with the model under torchrun: DDP, SyncBatchNorm, per-rank seeds, throughput, a lost rank.

The processes themselves (torchrun's environment, the process group, the global-batch rule, sums over the
ranks) are in :mod:`.distributed`. Everything here is a no-op for one process.
"""

from __future__ import annotations

import gc
import inspect
import os
import re
import signal
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence, TypeVar, Union

import torch
import torch.distributed as dist
from torch import nn

from ..env import get_device, seed_everything
from ..errors import CheckpointError, TrainingError, UsageError, bilingual, cause

# ---- from vgg_teach.training.distributed (phase-1 merge)
T = TypeVar("T")


#: What torchrun tells every process it starts.
ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")


Note = tuple[str, str]


@dataclass(frozen=True)
class Launch:
    """Who this process is, as torchrun's environment says (``torchrun=False``: started on its own)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1
    torchrun: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launch_from_env(environ: Optional[Mapping[str, str]] = None) -> Launch:
    """The :class:`Launch` of ``environ`` (default: ``os.environ``); without ``RANK``/``WORLD_SIZE``: one process."""
    env = os.environ if environ is None else environ
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return Launch()
    try:
        rank, world = int(env["RANK"]), int(env["WORLD_SIZE"])
        local_rank = int(env.get("LOCAL_RANK", rank))
        local_world = int(env.get("LOCAL_WORLD_SIZE", world))
    except ValueError:
        values = {k: env.get(k) for k in ENV_KEYS}
        raise UsageError(bilingual(f"torchrun의 환경 변수가 정수가 아닙니다: {values}. torchrun으로 다시 실행하세요.",
                                   f"torchrun's environment variables are not integers: {values}. Start the "
                                   "program with torchrun again.")) from None
    if not (0 <= rank < world and 0 <= local_rank < local_world <= world):
        raise UsageError(bilingual(f"torchrun의 환경 변수가 맞지 않습니다 (RANK={rank}, WORLD_SIZE={world}, "
                                   f"LOCAL_RANK={local_rank}, LOCAL_WORLD_SIZE={local_world}).",
                                   f"torchrun's environment variables do not fit together (RANK={rank}, "
                                   f"WORLD_SIZE={world}, LOCAL_RANK={local_rank}, LOCAL_WORLD_SIZE={local_world})."))
    return Launch(rank, world, local_rank, local_world, torchrun=True)


@dataclass(frozen=True)
class Plan:
    """What :func:`session` will do: the device, the backend (``None``: one process, no group), notes to print."""

    launch: Launch
    device: torch.device
    backend: Optional[str] = None
    notes: tuple[Note, ...] = ()


def plan(launch: Launch, prefer: Union[str, torch.device, None] = None) -> Plan:
    """Choose this process's device and backend, or refuse with a bilingual :class:`UsageError` — no waiting.

    One process (no torchrun): :func:`~vgg_teach.env.get_device` as always. Under torchrun: ``cuda:LOCAL_RANK``
    with NCCL when CUDA is there (gloo, with a note, when this PyTorch has no NCCL), the CPU with gloo otherwise
    or with ``--device cpu``. More processes on this machine than GPUs is refused, and so is MPS.
    """
    if not launch.torchrun:
        return Plan(launch, get_device(prefer))
    if not dist.is_available():
        raise UsageError(bilingual("이 PyTorch는 분산 학습(torch.distributed) 없이 만들어져 torchrun으로 "
                                   "여러 프로세스를 쓸 수 없습니다. torchrun 없이 python -m vgg_teach.train으로 "
                                   "실행하세요.",
                                   "This PyTorch was built without torch.distributed, so it cannot train with several "
                                   "processes. Run python -m vgg_teach.train without torchrun."))
    kind = str(prefer).split(":")[0] if prefer is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "mps":
        raise UsageError(bilingual("Apple GPU(MPS)로는 여러 프로세스가 함께 학습할 수 없습니다. torchrun "
                                   "없이 실행하거나 --device cpu를 쓰세요.",
                                   "Several processes cannot train together on the Apple GPU (MPS). Run without "
                                   "torchrun, or use --device cpu."))
    if kind != "cuda":
        get_device(kind)  # an unknown name is refused there
        return Plan(launch, torch.device("cpu"), "gloo")
    get_device("cuda")  # no CUDA at all: the usual message
    gpus = torch.cuda.device_count()
    if launch.local_world_size > gpus:
        raise UsageError(bilingual(
            f"이 컴퓨터의 프로세스는 {launch.local_world_size}개인데 GPU는 {gpus}개뿐입니다: 프로세스마다 GPU가 하나씩 "
            f"있어야 합니다. torchrun --nproc_per_node={gpus}로 실행하세요(CPU로 시험하려면 --device cpu).",
            f"{launch.local_world_size} processes on this machine but only {gpus} GPU(s): each process needs a GPU "
            f"of its own. Run torchrun --nproc_per_node={gpus} (to try it on the CPU, add --device cpu).",
        ))
    device = torch.device("cuda", launch.local_rank)
    if dist.is_nccl_available():
        return Plan(launch, device, "nccl")
    return Plan(launch, device, "gloo", ((
        "이 PyTorch에는 NVIDIA의 GPU 간 통신 라이브러리 NCCL이 없어(예: Windows) gloo로 기울기를 주고받습니다. 학습은 "
        "같지만 느립니다. 빠르게 하려면 Linux용 PyTorch를 쓰세요.",
        "This PyTorch has no NCCL, NVIDIA's library for talking between GPUs (on Windows, for example), so the "
        "gradients travel through gloo: the same training, only slower. Use a Linux build of PyTorch for speed.",
    ),))


def local_batch(batch_size: int, world_size: int) -> int:
    """The global-batch rule: each of ``world_size`` processes takes ``batch_size / world_size`` images per step.

    ``batch_size`` (``TrainConfig.batch_size``) stays the batch of one optimizer step, the one the learning rate
    was tuned for (512 with lr 0.2 by default), so N processes train exactly the recipe of one. A batch that N
    does not divide is refused with the nearest batch sizes and process counts that would work.
    """
    if batch_size % world_size == 0:
        return batch_size // world_size
    lower, upper = batch_size // world_size * world_size, (batch_size // world_size + 1) * world_size
    counts = [n for n in (1, 2, 3, 4, 6, 8, 16) if batch_size % n == 0]
    sizes = f"{lower}, {upper}" if lower else f"{upper}"
    raise UsageError(bilingual(
        f"배치 크기(batch size)는 한 스텝에 모든 프로세스가 함께 보는 이미지 수입니다. 지금의 {batch_size}장은 "
        f"프로세스 {world_size}개로 똑같이 나눠지지 않습니다. --batch-size를 {world_size}의 배수({sizes} …)로 "
        f"하거나, 프로세스 수를 {', '.join(map(str, counts))} 중 하나로 하세요.",
        f"The batch size {batch_size} is the number of images all processes see together in one step, and it does "
        f"not divide evenly among {world_size} processes. Use a --batch-size that is a multiple of {world_size} "
        f"({sizes} …), or {', '.join(map(str, counts))} processes.",
    ))


class FollowerStop(TrainingError):
    """Raised on the other ranks when rank 0 stopped (rank 0 raises, and prints, the real reason)."""


@dataclass
class Dist:
    """This process's place in the run: rank, process count, device, backend (``None``: one process, no group)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: Optional[str] = None

    @property
    def distributed(self) -> bool:
        return self.backend is not None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def _tensor(self, values: Sequence[float]) -> torch.Tensor:
        # NCCL reduces CUDA tensors only; gloo reduces CPU tensors
        where = self.device if self.backend == "nccl" else torch.device("cpu")
        return torch.tensor([float(v) for v in values], dtype=torch.float64, device=where)

    def sum(self, values: Sequence[float]) -> list[float]:
        """``values`` added up over all processes (float64, so counts stay exact); unchanged for one process."""
        if not self.distributed:
            return [float(v) for v in values]
        t = self._tensor(values)
        dist.all_reduce(t)
        return t.tolist()

    def max(self, value: float) -> float:
        if not self.distributed:
            return float(value)
        t = self._tensor([value])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t.item())

    def gather(self, values: Sequence[float]) -> list[list[float]]:
        """Every process's ``values``, in rank order."""
        if not self.distributed:
            return [[float(v) for v in values]]
        t = self._tensor(values)
        parts = [torch.empty_like(t) for _ in range(self.world_size)]
        dist.all_gather(parts, t)
        return [p.tolist() for p in parts]

    def on_main(self, fn: Callable[[], T]) -> Optional[T]:
        """Rank 0 runs ``fn`` while the others wait; if it fails, it raises and the others raise :class:`FollowerStop`.

        Nobody waits forever for a rank 0 that already gave up (a checkpoint write that failed, a download).
        """
        if not self.distributed:
            return fn()
        result, error = None, None
        if self.is_main:
            try:
                result = fn()
            except BaseException as err:  # noqa: BLE001 - told to the others first, raised right below
                error = err
        failed = self.max(1.0 if error is not None else 0.0)
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


_ACTIVE: Optional[Dist] = None


_STOPPING = False


def current() -> Dist:
    """The run this process is part of: the one :func:`session` opened, else one process on its own."""
    if _ACTIVE is not None:
        return _ACTIVE
    if dist.is_available() and dist.is_initialized():  # a group someone else made (their own script)
        backend = str(dist.get_backend())
        device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
        return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), device, backend)
    return Dist()


def pending() -> bool:
    """True under torchrun when no :func:`session` is open yet (``fit`` called from a learner's own script)."""
    return _ACTIVE is None and launch_from_env().torchrun and not (dist.is_available() and dist.is_initialized())


def _on_sigterm(signum: int, frame: Any) -> None:
    """torchrun stops the others with SIGTERM when one rank fails: stop like Ctrl-C (temporary files removed …)."""
    if not _STOPPING:
        raise KeyboardInterrupt


@contextmanager
def session(the_plan: Plan) -> Iterator[Dist]:
    """Join the process group of ``the_plan`` for the ``with`` block, and leave it on every way out.

    One process: yields :func:`current` and does nothing. Under torchrun: sets the GPU, ``init_process_group``
    (the rendezvous address comes from torchrun: ``--standalone``, or ``--nnodes``/``--rdzv-endpoint``), turns
    torchrun's SIGTERM into ``KeyboardInterrupt`` and, at the end, ``destroy_process_group``. After an error,
    SIGTERM is ignored so that rank 0 can still print its message before torchrun ends the run.
    """
    global _ACTIVE, _STOPPING
    if _ACTIVE is not None or the_plan.backend is None:
        yield _ACTIVE or Dist(device=the_plan.device)
        return
    launch, device = the_plan.launch, the_plan.device
    if device.type == "cuda":
        torch.cuda.set_device(device)
    kwargs: dict[str, Any] = {}
    if the_plan.backend == "nccl" and "device_id" in inspect.signature(dist.init_process_group).parameters:
        kwargs["device_id"] = device
    try:
        dist.init_process_group(the_plan.backend, **kwargs)
    except (RuntimeError, ValueError) as err:
        raise TrainingError(bilingual(
            f"프로세스들이 서로 연결되지 못했습니다 ({cause(err)}). 모든 컴퓨터에서 같은 torchrun 명령(--nnodes, "
            "--rdzv-endpoint)을 썼는지, 그 주소와 포트에 닿을 수 있는지 확인하세요.",
            f"The processes could not connect to each other ({cause(err)}). Check that every machine ran the same "
            "torchrun command (--nnodes, --rdzv-endpoint) and that its address and port can be reached.",
        )) from None
    _ACTIVE = Dist(launch.rank, launch.world_size, launch.local_rank, device, the_plan.backend)
    _STOPPING = False
    old = signal.signal(signal.SIGTERM, _on_sigterm) if _in_main_thread() else None
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


def _in_main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


# ---- from vgg_teach.training.ddp (phase-1 merge)
def wrap(model: nn.Module, ctx: Dist, sync_bn: bool = False,
         say: Callable[[str], None] = lambda _msg: None) -> nn.Module:
    """``model`` (already on ``ctx.device``) in :class:`~torch.nn.parallel.DistributedDataParallel`; as it is alone.

    DDP copies rank 0's weights to every process when it is made, then, during each backward pass, averages the
    gradients over the processes (all-reduce, in buckets of about 25 MB that start while backward is still
    running) so that every process takes the same step. ``sync_bn=True`` makes batch norm compute its statistics
    over the global batch (``SyncBatchNorm``): supported with NCCL on GPUs; on the CPU (gloo) it is not, which
    is said and training continues with per-process batch norm. ``model`` itself keeps the weights (checkpoints
    save ``model.state_dict()``, the same file as one process writes).
    """
    if sync_bn and not (ctx.distributed and ctx.backend == "nccl" and ctx.device.type == "cuda"):
        if ctx.distributed:
            say(bilingual("SyncBatchNorm(--sync-bn)은 GPU의 NCCL에서만 됩니다: 여기(CPU, gloo)서는 없이 계속합니다. "
                          "배치 정규화는 프로세스마다 자기 몫의 배치로 통계를 냅니다.",
                          "SyncBatchNorm (--sync-bn) works with NCCL on GPUs only: here (CPU, gloo) training "
                          "continues without it, each process's batch norm using its own share of the batch."))
        sync_bn = False
    if not ctx.distributed:
        return model
    if sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def seed_rank(ctx: Dist, seed: int, epoch: int) -> None:
    """Ranks 1… reseed every epoch from (seed, epoch, rank): their own dropout masks, the same after a resume.

    Rank 0 keeps the generator one process would have (saved in the checkpoint); the shuffling and the
    augmentation come from the shared (seed, epoch) generator of :class:`~.augment.DeviceLoader`.
    """
    if ctx.rank > 0:
        seed_everything((seed * 1_000_003 + epoch) * 1_009 + ctx.rank)


class Throughput:
    """Images and seconds of every process, epoch after epoch: total and per-rank images/s."""

    def __init__(self, ctx: Dist) -> None:
        self.ctx = ctx
        self.totals = [[0.0, 0.0] for _ in range(ctx.world_size)]  # images, seconds of each rank

    def epoch(self, images: int, seconds: float) -> dict[str, Any]:
        """This process's epoch → ``seconds`` (of the slowest process: the wall time of the step loop),
        ``images_per_second`` (all processes together) and, under torchrun, ``images_per_second_per_rank``."""
        per_rank = self.ctx.gather([images, seconds])
        for total, (n, secs) in zip(self.totals, per_rank):
            total[0], total[1] = total[0] + n, total[1] + secs
        wall = max(secs for _, secs in per_rank)
        speed = {"seconds": wall, "images_per_second": sum(n for n, _ in per_rank) / wall}
        if self.ctx.distributed:  # (one process's history keeps the keys it always had)
            speed["images_per_second_per_rank"] = [n / secs for n, secs in per_rank]
        return speed

    def per_rank(self, history: list) -> list[float]:
        """Each rank's images/s over the epochs of this call (a finished run only loaded: its last epoch's)."""
        if all(secs for _, secs in self.totals):
            return [n / secs for n, secs in self.totals]
        return list(history[-1].get("images_per_second_per_rank", [])) if history else []


def same_checkpoint(ctx: Dist, found: bool, checkpoint: Any) -> None:
    """Every process must resume from the checkpoint, or none: on several machines ``--out`` must be shared."""
    seen = int(ctx.sum([1.0 if found else 0.0])[0])
    if 0 < seen < ctx.world_size:
        raise CheckpointError(bilingual(
            f"프로세스 {ctx.world_size}개 중 {seen}개만 체크포인트 {checkpoint} 를 봅니다. 컴퓨터 여러 대로 학습할 "
            "때는 --out이 모든 컴퓨터가 함께 쓰는 폴더(공유 파일 시스템)여야 합니다.",
            f"Only {seen} of {ctx.world_size} processes see the checkpoint {checkpoint}. With several machines, "
            "--out must be a folder they all share (a shared file system).",
        ))


class PeerLostError(TrainingError):
    """Another process of the run died (killed, out of memory …), so this one stops too."""


_PEER = re.compile(r"gloo|nccl|connection (reset|closed) by peer|broken pipe|socket timeout|"
                   r"process group|collective", re.IGNORECASE)


def is_peer_failure(err: BaseException) -> bool:
    """An error of the communication between processes (a rank died; the network broke)."""
    if isinstance(err, (FollowerStop, PeerLostError)):
        return False
    dist_error = getattr(dist, "DistError", ())
    return isinstance(err, dist_error) or (isinstance(err, RuntimeError) and bool(_PEER.search(str(err))))


def _short_cause(err: BaseException) -> str:
    """gloo's "[…/pair.cc:545] Read error […]: Connection reset by peer. This is typically …" → its first sentence."""
    text = re.sub(r"^\[[^\]]*\.(cc|cpp|h):\d+\]\s*", "", cause(err).split(": ", 1)[-1])
    return f"{type(err).__name__}: {text.split('. ')[0].rstrip('.')}"


def peer_lost(err: BaseException, saved_epoch: int, checkpoint: Any) -> PeerLostError:
    """The message when another rank died: what happened, what is safe on disk, how to go on."""
    where_ko = (f"에포크 {saved_epoch}까지의 체크포인트가 {checkpoint} 에 온전히 있습니다: 같은 명령에 --resume을 붙여 "
                "이어 가세요(프로세스 수를 바꿔도 됩니다)." if saved_epoch else "아직 저장된 에포크가 없습니다.")
    where_en = (f"The checkpoint up to epoch {saved_epoch} at {checkpoint} is intact: run the same command with "
                "--resume to go on (with another number of processes if you like)." if saved_epoch else
                "No epoch was saved yet.")
    return PeerLostError(bilingual(
        f"함께 학습하던 다른 프로세스(rank)가 멈춰서 이 프로세스도 멈춥니다 ({_short_cause(err)}). {where_ko} "
        "멈춘 이유는 torchrun이 마지막에 보여 주는 요약(Root Cause)에, 이 강좌의 오류였다면 출력 폴더의 "
        "error.log에 있습니다.",
        f"Another process (rank) of this run stopped, so this one stops too ({_short_cause(err)}). {where_en} Why it "
        "stopped is in the summary torchrun prints last (Root Cause) and, for an error of the course, in error.log "
        "in the output folder.",
    ))
