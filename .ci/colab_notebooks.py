"""Run notebooks the way the Colab replica does, inside the replica (``.ci/colab_replica.py`` calls this).

    .venv-colab/bin/python .ci/colab_notebooks.py --report REPORT.json NOTEBOOK.ipynb …

Each notebook is executed top to bottom by nbclient (Colab's own version: it is in Colab's manifest) in a
fresh ``python3`` kernel of *this* interpreter, with the notebook's folder as the working directory. Nothing
is compared output by output (that is nbval's job in the main run, on the main stack); what is recorded:

- the first error, if any (cell index, id, exception name and message) — any error fails the notebook;
- every ``check`` cell's verdict (✅/⏳/❌, read with the package's own marks) next to the verdict stored in
  the notebook (solutions/ store the main run's outputs; lessons/ store none);
- the distinct warning lines the kernel printed on stderr (a newer-torch deprecation shows up here first);
- the seconds it took, and the first code cell's output (the self-test prints its interpreter there).

The report is JSON, one entry per notebook, read by ``colab_replica.py`` which decides pass or fail.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# The course's one reading of the marks (✅/⏳/❌) that the installed package prints: tools/ is not installed,
# so it is imported from this checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.verdicts import outputs_text as _text  # noqa: E402
from tools.verdicts import verdict_of as verdict  # noqa: E402


def _warnings(nb) -> list[str]:
    seen: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                for line in out.get("text", "").splitlines():
                    if "Warning" in line and line.strip() not in seen:
                        seen.append(line.strip())
    return seen


def run_notebook(path: Path, timeout: int) -> dict:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    stored = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as exc:
        error = {"message": str(exc).strip().splitlines()[-1][:500]}
    except Exception as exc:  # a dead kernel, a timeout: still a failed notebook, reported as such
        error = {"message": f"{type(exc).__name__}: {exc}"[:500]}
    seconds = time.perf_counter() - started
    for i, cell in enumerate(nb.cells):
        outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
        errs = [o for o in outputs if o.get("output_type") == "error"]
        if errs:
            error = {"cell": i, "id": cell.get("id"), "ename": errs[0].get("ename"),
                     "evalue": str(errs[0].get("evalue"))[:500], "message": (error or {}).get("message", "")}
            break
    checks = []
    for i, (cell, old) in enumerate(zip(nb.cells, stored.cells)):
        if "check" in cell.get("metadata", {}).get("tags", []):
            checks.append({"cell": i, "id": cell.get("id"), "verdict": verdict(cell.get("outputs")),
                           "stored": verdict(old.get("outputs"))})
    first = next((c for c in nb.cells if c.cell_type == "code"), None)
    return {"notebook": str(path), "folder": path.parent.name, "seconds": round(seconds, 1), "error": error,
            "checks": checks, "warnings": _warnings(nb),
            "first_output": _text(first.get("outputs")).strip().splitlines() if first is not None else []}


def hub_copy_check() -> str:
    """vgg_teach's conversion of the Hugging Face copy, run on Colab's own ``datasets`` (no download: a tiny
    ``datasets.Dataset`` with the hub copy's features — ``img`` Image, ``label`` ClassLabel — in another class
    order); returns what was checked."""
    import datasets
    import numpy as np
    import torch
    from PIL import Image

    from vgg_teach.training import sources as hf_cifar10
    from vgg_teach.training.data import CIFAR10_CLASSES

    names = list(reversed(CIFAR10_CLASSES))
    labels = [i % 10 for i in range(20)]
    pixels = np.random.default_rng(0).integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=names)})
    images = [Image.fromarray(a) for a in pixels]
    split = datasets.Dataset.from_dict({"img": images, "label": labels}, features=features)
    hf_cifar10.CIFAR10_PER_CLASS = {"train": 2, "test": 2}
    data = hf_cifar10.convert_split(split, "test")
    assert torch.equal(data.images, torch.from_numpy(pixels).permute(0, 3, 1, 2)), "images changed"
    assert data.labels.tolist() == [CIFAR10_CLASSES.index(names[y]) for y in labels], "labels not by class name"
    return f"the Hugging Face CIFAR-10 conversion works on datasets {datasets.__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--hub-copy-check", action="store_true", help="check hub_copy_check() and exit")
    parser.add_argument("--report", type=Path, help="where to write the JSON report (required with notebooks)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    if args.hub_copy_check:
        print(hub_copy_check())
        return 0
    if not args.notebooks or args.report is None:
        parser.error("give notebooks and --report")
    report = []
    for path in args.notebooks:
        entry = run_notebook(path.resolve(), args.timeout)
        status = "error" if entry["error"] else "ok"
        print(f"  {entry['folder']}/{path.name}: {status} in {entry['seconds']:.0f} s", flush=True)
        report.append(entry)
    report_env = {"python": sys.version.split()[0], "executable": sys.executable,
                  "smoke": os.environ.get("VGG_TEACH_SMOKE")}
    args.report.write_text(json.dumps({"env": report_env, "notebooks": report}, indent=1, ensure_ascii=False),
                           encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
