"""How long does an exercise check take, warm, measured in forward passes of VGG16?

The bar (issue 25): ``check_vgg16`` costs at most 2 forward passes of VGG16 at batch 2, 224×224,
measured on the same machine in the same process. The other checks are timed too. Usage::

    python benchmarks/check_speed.py [--runs 7] [--threads N] [--only vgg16,make_layers]

Every timing is the median of ``--runs`` warm runs (one untimed run first: imports, first-touch
allocations). The forward pass and the checks are timed in turns (forward, check, forward, check …)
so that a machine shared with other work slows both alike. Prints one line per check: its median,
min–max, and the ratio to the median forward pass.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from vgg_teach import answers  # noqa: E402
from vgg_teach.checks.counting import check_conv_params, check_linear_params  # noqa: E402
from vgg_teach.checks.head import check_head_swap, check_parameter_count  # noqa: E402
from vgg_teach.checks.receptive_field import check_receptive_fields  # noqa: E402
from vgg_teach.checks.training import check_confusion_matrix  # noqa: E402
from vgg_teach.checks.vgg16 import check_make_layers, check_vgg16  # noqa: E402

BAR = 2.0

CHECKS: dict[str, Callable[[], object]] = {
    "vgg16": lambda: check_vgg16(answers.MyVGG16),
    "make_layers": lambda: check_make_layers(answers.make_layers),
    "conv_params": lambda: check_conv_params(answers.conv_params),
    "linear_params": lambda: check_linear_params(answers.linear_params),
    "receptive_fields": lambda: check_receptive_fields(answers.receptive_fields),
    "head_swap": lambda: check_head_swap(answers.swap_head),
    "parameter_count": lambda: check_parameter_count(answers.count_parameters),
    "confusion_matrix": lambda: check_confusion_matrix(answers.confusion_matrix),
}


def _time(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--only", default=",".join(CHECKS), help="comma-separated check names")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n for n in args.only.split(",") if n]

    model = answers.MyVGG16(num_classes=10).eval()
    x = torch.randn(2, 3, 224, 224)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    for fn in [forward, *(CHECKS[n] for n in names)]:  # warm-up: imports, first allocations
        result = fn()
        if result is not None and not bool(result):
            raise SystemExit(f"a reference answer does not pass its check:\n{result}")
    times: dict[str, list[float]] = {"forward": [], **{n: [] for n in names}}
    for _ in range(args.runs):
        for n in names:
            times["forward"].append(_time(forward))
            times[n].append(_time(CHECKS[n]))
    fwd = statistics.median(times["forward"])
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}; "
          f"{args.runs} warm runs each, median [min–max]")
    print(f"  {'forward VGG16 (2×3×224×224)':34} {fwd:6.3f} s  [{min(times['forward']):.3f}–"
          f"{max(times['forward']):.3f}]")
    medians = {"forward": fwd}
    for n in names:
        med = statistics.median(times[n])
        medians[n] = med
        flag = "" if n != "vgg16" else ("  ✓ ≤ %.1f" % BAR if med / fwd <= BAR else "  ✗ > %.1f" % BAR)
        print(f"  {'check_' + n:34} {med:6.3f} s  [{min(times[n]):.3f}–{max(times[n]):.3f}]  "
              f"= {med / fwd:4.2f} forward passes{flag}")
    return medians


if __name__ == "__main__":  # pragma: no cover
    main()
