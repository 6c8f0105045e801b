"""How well the engine scales over several GPUs with torchrun and DDP (see benchmarks/README.md).

    python benchmarks/ddp_scaling.py --runs 3 --out runs/ddp_scaling.json

**Scaling efficiency** = images/s with N processes ÷ (N × images/s with one), measured with the real engine
(:func:`vgg_teach.training.engine.fit`, under ``python -m torch.distributed.run --standalone``) on synthetic
CIFAR-sized images held on the device, for N = 1, 2, 4 … up to the GPUs of this machine. By default N processes
share the course's global batch (``--batch-size`` images per step in all: each GPU's share shrinks as N grows,
the strict test); ``--weak`` gives every process ``--batch-size`` images instead (the global batch grows with N).

With one GPU or none, scaling cannot be measured: the script says so and measures the **DDP overhead** instead —
the same training as one plain process (no torchrun, no DDP) and as one DDP process (``--nproc_per_node=1``):
overhead = 1 − DDP images/s ÷ plain images/s. On a CPU every process gets one thread (one core, the way each
process of a GPU run gets its own GPU), and ``--cpu-processes 2`` also runs two gloo processes: their scaling
efficiency is a measurement of the code path (the all-reduce over gloo), not of GPUs.

The first epoch of every run is a warm-up (cuDNN autotuning, allocations) and is not counted. Each configuration
runs ``--runs`` times, the configurations taking turns; the JSON keeps every value and the median, with the device,
torch version and thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vgg_teach.models import CIFAR_MODELS, build_model
from vgg_teach.training.checkpoint import atomic_write_json
from vgg_teach.training.data import ImageTensors
from vgg_teach.training.engine import fit
from vgg_teach.training.recipe import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("runs/ddp_scaling.json"))
    p.add_argument("--runs", type=int, default=3, help="runs of every configuration (the median is reported)")
    p.add_argument("--model", choices=sorted(CIFAR_MODELS), default=None,
                   help="default: vgg16_bn_cifar on GPUs, vgg_tiny_cifar on the CPU")
    p.add_argument("--images", type=int, default=None, help="synthetic training images (default 25,600 / 2,048)")
    p.add_argument("--batch-size", type=int, default=None, help="global batch (default 512 on GPUs, 128 on the CPU)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per run; the first is a warm-up, not counted")
    p.add_argument("--weak", action="store_true", help="--batch-size per process, not in all")
    p.add_argument("--cpu-processes", type=int, default=0, help="on the CPU, also run this many gloo processes")
    p.add_argument("--threads", type=int, default=None,
                   help="threads per process (default: 1 on the CPU — one core per process, as a GPU per process; "
                        "on GPUs the CPU cores divided among the processes)")
    p.add_argument("--device", choices=["cuda", "cpu"], default=None)
    p.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)  # one run, under torchrun or not
    return p.parse_args(argv)


def _data(n: int) -> tuple[ImageTensors, ImageTensors]:
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n + 256, 3, 32, 32), generator=gen, dtype=torch.uint8)
    labels = torch.arange(n + 256) % 10
    classes = [str(i) for i in range(10)]
    mean, std = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
    return (ImageTensors(images[:n], labels[:n], classes, mean, std),
            ImageTensors(images[n:], labels[n:], classes, mean, std))


def worker(args: argparse.Namespace) -> None:
    """One run (every process of it): train, and rank 0 writes its images/s (warm-up epoch left out)."""
    train, test = _data(args.images)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, eval_batch_size=1024)
    m = fit(lambda: build_model(args.model, 10), train, test, config, device=args.device, log=None, progress=False)
    timed = m["history"][1:] or m["history"]
    seconds = sum(r["seconds"] for r in timed)
    result = {"images_per_second": sum(r["images_per_second"] * r["seconds"] for r in timed) / seconds,
              "world_size": m["world_size"], "device": m["device"], "precision": m["precision"],
              "per_rank": [statistics.mean(r["images_per_second_per_rank"][i] for r in timed)
                           for i in range(m["world_size"])] if "images_per_second_per_rank" in timed[0] else None}
    if int(os.environ.get("RANK", 0)) == 0:
        atomic_write_json(result, args.worker)


def _run(args: argparse.Namespace, nproc: int, threads: int, batch: int) -> dict:
    """One run: ``nproc`` = 0 is one plain process (no torchrun), else torchrun with ``nproc`` DDP processes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        own = [str(Path(__file__).resolve()), "--worker", str(out), "--model", args.model, "--images",
               str(args.images), "--batch-size", str(batch), "--epochs", str(args.epochs), "--device", args.device]
        launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"] if nproc else []
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "VGG_TEACH_SMOKE": "0",
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        done = subprocess.run([sys.executable, *launcher, *own], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"run failed (nproc={nproc}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return json.loads(out.read_text(encoding="utf-8"))


def _measure(args: argparse.Namespace, configs: list[tuple[str, int, int]]) -> list[dict]:
    """Every configuration ``--runs`` times, interleaved (A B C A B C …): a slow moment of a shared machine
    then hits every configuration alike instead of one."""
    batches = {label: args.batch_size * max(1, nproc) if args.weak else args.batch_size for label, nproc, _ in configs}
    runs: dict[str, list[dict]] = {label: [] for label, _, _ in configs}
    for i in range(args.runs):
        for label, nproc, threads in configs:
            runs[label].append(_run(args, nproc, threads, batches[label]))
            print(f"  {label:28} run {i + 1}/{args.runs}: {runs[label][-1]['images_per_second']:,.0f} images/s",
                  flush=True)
    results = []
    for label, nproc, threads in configs:
        values = [r["images_per_second"] for r in runs[label]]
        results.append({"label": label, "processes": nproc or 1, "ddp": bool(nproc), "threads_per_process": threads,
                        "global_batch": batches[label], "images_per_second": values,
                        "median": statistics.median(values), "per_rank_last_run": runs[label][-1]["per_rank"],
                        "precision": runs[label][-1]["precision"]})
    return results


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    gpus = torch.cuda.device_count() if args.device != "cpu" else 0
    args.device = args.device or ("cuda" if gpus else "cpu")
    on_gpu = args.device == "cuda"
    args.model = args.model or ("vgg16_bn_cifar" if on_gpu else "vgg_tiny_cifar")
    args.images = args.images or (25_600 if on_gpu else 2_048)
    args.batch_size = args.batch_size or (512 if on_gpu else 128)
    if args.worker is not None:
        worker(args)
        return {}
    cores = os.cpu_count() or 1
    name = torch.cuda.get_device_name(0) if on_gpu else (platform.processor() or platform.machine())
    report = {"device": name, "gpus": gpus, "cpu_cores": cores, "torch": torch.__version__,
              "python": platform.python_version(), "model": args.model, "images": args.images,
              "epochs_timed": args.epochs - 1, "runs": args.runs, "weak_scaling": args.weak, "configs": []}
    print(f"{name}: {gpus} GPU(s), {cores} CPU cores, torch {torch.__version__}, model {args.model}, "
          f"{args.images:,} images, {args.epochs - 1} timed epoch(s), {args.runs} run(s) each")
    configs = []
    def threads(n: int) -> int:
        return args.threads or (max(1, cores // n) if on_gpu else 1)

    if on_gpu and gpus >= 2:
        counts = sorted({n for n in (1, 2, 4, 8, 16) if n <= gpus} | {gpus})
        configs = [(f"DDP, {n} GPU(s)", n, threads(n)) for n in counts]
    else:
        why = "one GPU" if on_gpu else "no GPU"
        report["note"] = (f"{why}: scaling over GPUs cannot be measured here; measured instead is the DDP overhead "
                          "with one process (DDP-wrapped under torchrun vs a plain process)")
        print("⚠ " + report["note"])
        configs = [("plain, 1 process", 0, threads(1)), ("DDP, 1 process", 1, threads(1))]
        if not on_gpu and args.cpu_processes > 1:
            n = args.cpu_processes
            configs.append((f"DDP, {n} CPU processes (gloo)", n, threads(n)))
    report["configs"] = _measure(args, configs)
    by = {c["label"]: c for c in report["configs"]}
    ddp = [c for c in report["configs"] if c["ddp"]]
    one = next((c for c in ddp if c["processes"] == 1), None)
    if "plain, 1 process" in by and one is not None:
        report["ddp_overhead"] = 1 - one["median"] / by["plain, 1 process"]["median"]
    if one is not None:  # on the CPU: one core per process, the way each GPU process has its own GPU
        report["scaling_efficiency"] = {str(c["processes"]): c["median"] / (c["processes"] * one["median"])
                                        for c in ddp if c["processes"] > 1}
    atomic_write_json(report, args.out)
    print(f"\nmedian of {args.runs} run(s), images/s (all processes together):")
    for c in report["configs"]:
        print(f"  {c['label']:34} {c['median']:>10,.0f}   (global batch {c['global_batch']}, "
              f"{c['threads_per_process']} thread(s) per process)")
    if "ddp_overhead" in report:
        print(f"  DDP overhead with one process: {report['ddp_overhead']:+.1%}")
    for n, eff in report.get("scaling_efficiency", {}).items():
        print(f"  scaling efficiency, {n} processes: {eff:.1%}" +
              ("" if on_gpu else " (CPU processes of one core each over gloo: the code path, not a GPU claim)"))
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":  # pragma: no cover
    main()
