"""What the engine does with the model under torchrun: DDP, SyncBatchNorm, per-rank seeds, throughput, a lost rank.

The processes themselves (torchrun's environment, the process group, the global-batch rule, sums over the
ranks) are in :mod:`.distributed`. Everything here is a no-op for one process.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import torch.distributed as dist
from torch import nn

from ..env import seed_everything
from ..errors import CheckpointError, TrainingError, bilingual, cause
from .distributed import Dist, FollowerStop

__all__ = ["wrap", "seed_rank", "Throughput", "same_checkpoint", "is_peer_failure", "peer_lost", "PeerLostError"]


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
