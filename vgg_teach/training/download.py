"""One file over HTTP with a progress bar and a deadline, so that a slow host cannot stall a lesson.

:func:`fetch` writes to ``<dest>.part`` and renames it when complete, so an interrupted download never
leaves a file that looks whole. It gives up with :class:`DownloadTooSlow` (a ``TimeoutError``) when

- the whole download takes longer than ``deadline`` seconds, or
- after ``judge_after`` seconds the speed so far says it would: at 100 kB/s the 170 MB CIFAR-10 archive
  would take half an hour, and there is no point in waiting to find that out;

and with an ``OSError`` when the host does not answer within ``stall`` seconds. An MD5, when given, is
checked before the rename. The caller decides what comes next (``load_cifar10`` tries a second source).
"""

from __future__ import annotations

import hashlib
import time
import urllib.request
from pathlib import Path

__all__ = ["fetch", "DownloadTooSlow"]


class DownloadTooSlow(TimeoutError):
    """The download would not finish before its deadline."""


def fetch(url: str, dest: Path, deadline: float = 300.0, stall: float = 30.0, judge_after: float = 20.0,
          md5: str | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` within ``deadline`` seconds, showing a tqdm progress bar; return ``dest``."""
    from tqdm.auto import tqdm

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    started = time.monotonic()
    digest = hashlib.md5()
    request = urllib.request.Request(url, headers={"User-Agent": "vgg-teach"})
    try:
        with urllib.request.urlopen(request, timeout=stall) as response, part.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, disable=not progress) as bar:
                done = 0
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    bar.update(len(chunk))
                    _judge(time.monotonic() - started, done, total, deadline, judge_after)
        if md5 is not None and digest.hexdigest() != md5:
            raise OSError(f"MD5 {digest.hexdigest()} of {url} is not the expected {md5}")
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


def _judge(elapsed: float, done: int, total: int | None, deadline: float, judge_after: float) -> None:
    if elapsed > deadline:
        raise DownloadTooSlow(f"{done / 1e6:.0f} MB in {elapsed:.0f} s: over the {deadline:.0f} s deadline")
    if total and elapsed > judge_after and done < total:
        projected = elapsed * total / max(done, 1)
        if projected > deadline:
            raise DownloadTooSlow(f"{done / 1e6:.0f} of {total / 1e6:.0f} MB in {elapsed:.0f} s: at this speed "
                                  f"it would take {projected / 60:.0f} min, over the {deadline:.0f} s deadline")
