"""Add (or replace) one of the course's reference runs in ``vgg_teach/reference_runs.json``: the per-epoch history
of a finished run of lesson 05's from-scratch experiment, read from its checkpoint, with where it ran.

    python -m tools.reference_run solutions/runs/lesson05/scratch.pt --hardware "AMD EPYC, 2 cores (cpu)" \\
        --torch 2.14.1 --date 2026-12-07 --data "…" --n-test 5000 --label "강좌 기준 / course reference (CPU)"

A run of the same plan (recipe and number of training images) already in the file is replaced.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from vgg_teach.training.checkpoint import atomic_write_json, load_state
from vgg_teach.training.plan import REFERENCE_FILE, ReferenceRun, reference_runs, same_plan


def reference_from_checkpoint(checkpoint: Path, **where) -> ReferenceRun:
    """The finished run saved at ``checkpoint`` as a :class:`ReferenceRun` (``where``: label, hardware, torch, date,
    data, n_test)."""
    state = load_state(checkpoint)
    if state.epoch < state.config["epochs"] or not state.history:
        raise SystemExit(f"{checkpoint}: not a finished run (epoch {state.epoch} of {state.config['epochs']})")
    minutes = sum(r["seconds"] + r.get("eval_seconds", 0.0) for r in state.history) / 60
    history = [{k: v for k, v in r.items() if k != "images_per_second_per_rank"} for r in state.history]
    return ReferenceRun(n_train=int(state.run["train_data"]["images"]), config=dict(state.config),
                        minutes=round(minutes, 3), history=history, **where)


def add(run: ReferenceRun, path: Path) -> list[ReferenceRun]:
    """``path``'s runs with ``run`` in place of any of the same plan, written back atomically."""
    runs = [r for r in reference_runs(path) if not same_plan(run.config, run.n_train, r)] + [run]
    atomic_write_json({"runs": [asdict(r) for r in runs]}, path)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.reference_run", description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", type=Path)
    for name in ("label", "hardware", "torch", "date", "data"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--n-test", type=int, required=True)
    parser.add_argument("--out", type=Path, default=REFERENCE_FILE)
    args = parser.parse_args(argv)
    run = reference_from_checkpoint(args.checkpoint, label=args.label, hardware=args.hardware, torch=args.torch,
                                    date=args.date, data=args.data, n_test=args.n_test)
    runs = add(run, args.out)
    print(f"{args.out}: {len(runs)} run(s); this one {run.config['epochs']} epochs on {run.n_train:,} images, "
          f"test accuracy {run.test_accuracy:.2%}, {run.minutes:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
