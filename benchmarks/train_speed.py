"""How fast and how well lesson 05's recipe trains VGG16-BN on one GPU (see benchmarks/README.md).

    python benchmarks/train_speed.py /work/shared/data/cifar10-jpg-train.tar.gz --out runs/train_speed.json

1. decodes the 50,000 CIFAR-10 training JPEGs (``train/<class>/NNNN.jpg``) into one uint8 tensor,
   cached as a ``.pt`` file for the next run;
2. holds out 5,000 of them (stratified, seeded) as the test set — the archive has no test split;
3. warms up (cuDNN autotuning, ``torch.compile`` if asked) on a few batches, then restores the
   model's initial weights;
4. trains with :func:`vgg_teach.training.engine.fit` — the same engine as the lesson and the CLI: data and
   augmentation on the GPU, bf16 autocast, channels_last;
5. reports held-out accuracy with and without flip test-time augmentation, the training time
   (sum of the training loops only), images/s, and the pure network throughput (forward + backward
   + SGD step of VGG16-BN on one synthetic batch, repeated for a 50,000-image epoch);
6. writes it all as JSON.

On a CPU it only shows that the code runs: ``--limit 200 --holdout 50 --epochs 1 --model vgg_tiny_cifar``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Optional, Sequence

import torch

from vgg_teach.env import get_device, seed_everything
from vgg_teach.models import CIFAR_MODELS, build_model
from vgg_teach.training.checkpoint import atomic_write_json
from vgg_teach.training.data import hold_out, subsample
from vgg_teach.training.engine import fit, train_one_epoch
from vgg_teach.training.recipe import (
    Precision,
    TrainConfig,
    add_config_arguments,
    config_from_args,
    make_optimizer,
    make_scheduler,
    use_channels_last,
)
from vgg_teach.training.sources import load_jpeg_tarball

DEFAULT_TARBALL = "/work/shared/data/cifar10-jpg-train.tar.gz"
TARGETS = {"heldout_accuracy": 0.90, "train_seconds": 30.0, "images_per_second": 70_000}
TIMING_NOTE = ("train_seconds is the sum of the training loops of all epochs (GPU synchronised before and "
               "after each). It excludes JPEG decoding / cache loading, the copy to the GPU, the warm-up "
               "(cuDNN autotuning, torch.compile), the per-epoch evaluation and checkpoint writing; "
               "fit_wall_seconds includes the per-epoch evaluation.")


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("tarball", nargs="?", default=DEFAULT_TARBALL, help="image-folder archive (train/<class>/*.jpg)")
    p.add_argument("--cache", type=Path, default=Path("data/cifar10-jpg-train-uint8.pt"),
                   help="decoded uint8 tensor cache (see --no-cache)")
    p.add_argument("--no-cache", action="store_true", help="decode the JPEGs every time, write no cache")
    p.add_argument("--out", type=Path, default=Path("runs/train_speed.json"))
    p.add_argument("--holdout", type=int, default=5000)
    p.add_argument("--limit", type=int, default=None, help="use only this many images (stratified): CPU checks")
    p.add_argument("--model", choices=sorted(CIFAR_MODELS), default="vgg16_bn_cifar")
    p.add_argument("--device", choices=["cuda", "mps", "cpu"], default=None)
    p.add_argument("--warmup-steps", type=int, default=20, help="batches of warm-up before timing")
    p.add_argument("--throughput-images", type=int, default=50_000)
    p.add_argument("--throughput-batch", type=int, default=512)
    p.add_argument("--checkpoint", action="store_true", help="also write a checkpoint every epoch")
    p.add_argument("--no-progress", action="store_true")
    add_config_arguments(p.add_argument_group("recipe (TrainConfig; flip TTA is always measured)"))
    return p.parse_args(argv)


def warm_up(model: torch.nn.Module, train, held, config: TrainConfig, device: torch.device, steps: int) -> float:
    """Run ``steps`` training batches (and one evaluation) through :func:`fit`, then undo them.

    cuDNN's autotuner (and ``torch.compile``) pay their cost on the first batches of each shape;
    this keeps that cost out of the timed run. Returns the seconds spent.
    """
    t0 = time.perf_counter()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    n = min(len(train), max(1, steps) * config.batch_size)
    warm_train = subsample(train, n, config.seed) if n < len(train) else train
    fit(model, warm_train, held, replace(config, epochs=1),
        device=device, progress=False, log=None)
    model.load_state_dict(initial)
    return time.perf_counter() - t0


def network_throughput(model_name: str, num_classes: int, config: TrainConfig, device: torch.device,
                       n_images: int, batch_size: int, progress: bool) -> float:
    """Images/s of the engine's training step alone on one synthetic batch (no data, no augmentation)."""
    seed_everything(config.seed)
    fmt = torch.channels_last if use_channels_last(device, config.channels_last) else torch.contiguous_format
    model = build_model(model_name, num_classes).to(device, memory_format=fmt)
    images = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=fmt)
    labels = torch.randint(0, num_classes, (batch_size,), device=device)
    steps = max(1, n_images // batch_size)
    precision = Precision.for_device(device, config.precision)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, replace(config, epochs=2), steps)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    net = torch.compile(model) if config.compile else model
    batches = lambda count: [(images, labels)] * count  # noqa: E731 - the same batch, over and over
    train_one_epoch(net, batches(min(steps, 10)), optimizer, scheduler, loss_fn, precision, 0, False)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    train_one_epoch(net, batches(steps), optimizer, scheduler, loss_fn, precision, 1, progress)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return steps * batch_size / (time.perf_counter() - t0)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    device = get_device(args.device)
    config = config_from_args(args, {"tta": True})
    cache = None if args.no_cache else args.cache
    cached = cache is not None and Path(cache).is_file()

    t0 = time.perf_counter()
    data = load_jpeg_tarball(args.tarball, cache=cache)
    if args.limit:
        data = subsample(data, args.limit, config.seed)
    train, held = hold_out(data, args.holdout, config.seed)
    data_seconds = time.perf_counter() - t0
    print(f"data: {len(data):,} images ({len(train):,} train, {len(held):,} held out), "
          f"{data_seconds:.1f} s {'from the cache' if cached else 'decoding'}; device {device}", flush=True)

    seed_everything(config.seed)
    model = build_model(args.model, len(data.classes))
    warmup_seconds = warm_up(model, train, held, config, device, args.warmup_steps)

    t0 = time.perf_counter()
    checkpoint = args.out.with_suffix(".checkpoint.pt") if args.checkpoint else None
    result = fit(model, train, held, config, device=device, checkpoint=checkpoint, overwrite=True,  # each run afresh
                 progress=not args.no_progress, log=print)
    fit_wall_seconds = time.perf_counter() - t0

    network_ips = network_throughput(args.model, len(data.classes), config, device,
                                     args.throughput_images, args.throughput_batch, not args.no_progress)
    report = {
        "heldout_accuracy": result["test_accuracy"],
        "heldout_accuracy_tta": result["test_accuracy_tta"],
        "train_seconds": result["train_seconds"],
        "images_per_second": result["images_per_second"],
        "network_images_per_second": network_ips,
        "network_throughput_setup": {"images": args.throughput_images, "batch_size": args.throughput_batch,
                                     "data": "one synthetic batch, repeated; forward + backward + SGD step"},
        "fit_wall_seconds": fit_wall_seconds,
        "warmup_seconds": warmup_seconds,
        "data_seconds": data_seconds,
        "data": {"tarball": str(args.tarball), "cache": str(cache) if cache else None, "cache_hit": cached,
                 "images": len(data), "train_images": len(train), "heldout_images": len(held),
                 "classes": data.classes},
        "model": args.model,
        "num_parameters": result["num_parameters"],
        "precision": result["precision"],
        "recipe": asdict(config),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else str(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "targets": TARGETS,
        "meets_targets": {
            "heldout_accuracy": result["test_accuracy"] >= TARGETS["heldout_accuracy"],
            "train_seconds": result["train_seconds"] <= TARGETS["train_seconds"],
            "images_per_second": result["images_per_second"] >= TARGETS["images_per_second"],
        },
        "timing_note": TIMING_NOTE,
        "history": result["history"],
    }
    atomic_write_json(report, args.out)
    print(f"held-out accuracy {report['heldout_accuracy']:.2%} (flip TTA {report['heldout_accuracy_tta']:.2%}); "
          f"training {report['train_seconds']:.1f} s, {report['images_per_second']:,.0f} images/s; "
          f"network alone {network_ips:,.0f} images/s → {args.out}")
    return report


if __name__ == "__main__":  # pragma: no cover
    main()
    sys.exit(0)
