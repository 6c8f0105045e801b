"""Run ``train_speed.py`` several times (different seeds) and report the median of each number.

Performance claims in this course are medians over repeated runs on named hardware. Usage::

    python benchmarks/median_runs.py TARBALL --runs 3 --out-dir runs/bench [-- extra train_speed.py args]

Writes one JSON per run plus ``summary.json`` (medians, min, max, device, torch version) into
``--out-dir`` and prints a short table last.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_speed  # noqa: E402  (the benchmark beside this file)

from vgg_teach.training.checkpoint import atomic_write_json

KEYS = ["heldout_accuracy", "heldout_accuracy_tta", "train_seconds", "images_per_second",
        "network_images_per_second"]


def main(argv: list[str] | None = None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("tarball")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out-dir", type=Path, default=Path("runs/bench"))
    args = p.parse_args(own)
    reports = []
    for seed in range(args.runs):
        out = args.out_dir / f"run{seed}.json"
        reports.append(train_speed.main([args.tarball, "--seed", str(seed), "--out", str(out),
                                         "--no-progress", *extra]))
    summary = {"runs": args.runs, "device": reports[0]["device"], "torch": reports[0]["torch"],
               "recipe": reports[0]["recipe"], "extra_args": extra}
    for key in KEYS:
        values = [r[key] for r in reports]
        summary[key] = {"median": statistics.median(values), "min": min(values), "max": max(values),
                        "values": values}
    atomic_write_json(summary, args.out_dir / "summary.json")
    print(f"\n{args.runs} runs on {summary['device']} (torch {summary['torch']}), median [min–max]:")
    for key in KEYS:
        s = summary[key]
        fmt = "{:.2%}" if "accuracy" in key else ("{:.1f}" if "seconds" in key else "{:,.0f}")
        print(f"  {key:28} {fmt.format(s['median'])}  [{fmt.format(s['min'])} – {fmt.format(s['max'])}]")
    return summary


if __name__ == "__main__":  # pragma: no cover
    main()
