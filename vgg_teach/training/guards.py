"""What guards a run against the faults of real machines: one live run per output folder, and SIGTERM as a stop.

**The folder lock.** A second run on a folder that a live run holds is refused before it touches anything. The lock
is ``FOLDER/.vgg-teach.lock``: an OS lock on the file (``flock``; released by the OS when its process dies, however
it dies) and, inside it, who holds it, rewritten every :data:`BEAT_SECONDS`. The OS lock answers for runs on this
machine; the heartbeat for another machine writing to the same Google Drive folder, whose run counts as gone once
its heartbeat is :data:`STALE_SECONDS` old. The file is never deleted (emptied on release): deleting it would let two
runs lock two different files of one name.

**SIGTERM** (what Kaggle, SLURM, ``docker stop`` and a shutting-down VM send) stops a run like Ctrl-C: the save in
progress is undone, the epoch on disk is named, and ``--resume`` goes on from it.
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import shlex
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional, Union

from ..errors import UsageError, bilingual, particle

LOCK_NAME = ".vgg-teach.lock"
BEAT_SECONDS = 30
STALE_SECONDS = 300
_WINDOWS_LOCK_AT = 1 << 20  # msvcrt locks bytes: one far past the text, so that the text stays readable
_HOST = socket.gethostname()
_held: dict[Path, int] = {}  # folders this process holds → how many `with` blocks hold it (the CLI, then fit)


def _os_lock(f: IO[str]) -> Optional[bool]:
    """True: locked now; False: another process holds it; None: this file system has no locks."""
    try:
        if os.name == "nt":
            import msvcrt

            f.seek(_WINDOWS_LOCK_AT)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as err:
        return False if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK, errno.EDEADLK) else None


def _os_unlock(f: IO[str]) -> None:
    if os.name == "nt":
        import msvcrt

        f.seek(_WINDOWS_LOCK_AT)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _holder(f: IO[str]) -> dict:
    """Who the file says holds it ({} when it is empty or unreadable)."""
    with suppress(OSError, ValueError):
        f.seek(0)
        info = json.loads(f.read() or "{}")
        return info if isinstance(info, dict) else {}
    return {}


def _alive(info: dict, os_locked: Optional[bool]) -> bool:
    """Is the run ``info`` describes still running? (``os_locked``: we got the OS lock, or None: there is none.)"""
    if not info or (info.get("host") == _HOST and info.get("pid") == os.getpid()):
        return False
    if info.get("host") != _HOST:  # the OS lock cannot see another machine: its heartbeat can
        return time.time() - float(info.get("beat", 0)) < STALE_SECONDS
    if os_locked:  # a run on this machine would still hold the OS lock
        return False
    if os.name == "nt":  # no lock and no safe way to ask Windows about a pid: the heartbeat
        return time.time() - float(info.get("beat", 0)) < STALE_SECONDS
    try:
        os.kill(int(info.get("pid", 0)), 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError):
        pass  # it exists but is someone else's
    return True


def _refusal(folder: Path, info: dict) -> UsageError:
    pid, host = info.get("pid", "?"), info.get("host", "?")
    started, command = info.get("started", "?"), info.get("command", "?")
    ko = (f"{folder} {particle(folder, '은')} 지금 다른 학습이 쓰고 있습니다 (PID {pid}, 컴퓨터 {host}, {started}에 "
          "시작, 명령: "
          f"{command}). 두 실행이 한 폴더에 쓰면 서로의 체크포인트를 망가뜨리므로 아무것도 건드리지 않고 멈췄습니다. "
          f"그 실행이 끝나기를 기다리거나, 그 실행을 멈추거나(노트북이면 그 셀을 중단(■), 터미널이면 kill {pid}: "
          "저장된 에포크에서 --resume으로 이어 갈 수 있습니다), 다른 출력 폴더를 고르세요.")
    en = (f"{folder} is being written by another training run right now (PID {pid} on {host}, started {started}, "
          f"command: {command}). Two runs in one folder would spoil each other's checkpoints, so nothing was touched. "
          f"Wait for that run to finish, stop it (in a notebook interrupt its cell (■); in a terminal kill {pid}: "
          "--resume continues from its saved epoch), or choose another output folder.")
    if host not in (_HOST, "?"):
        minutes = STALE_SECONDS // 60
        ko += (f" 다른 컴퓨터의 실행입니다. 그 컴퓨터가 이미 꺼졌다면(Colab 런타임 재시작 등) 마지막 신호 뒤 "
               f"{minutes}분이 지나면 이 폴더를 쓸 수 있습니다. 확실하다면 {folder / LOCK_NAME} "
               f"{particle(folder / LOCK_NAME, '을')} 지워도 됩니다.")
        en += (" It runs on another machine. If that machine is gone (a recycled Colab runtime …), the folder is "
               f"free {minutes} minutes after its last heartbeat; if you are sure, delete {folder / LOCK_NAME}.")
    return UsageError(bilingual(ko, en))


def file_in_the_way(folder: Path) -> Optional[Path]:
    """The file that stands where ``folder`` or one of its parents must be a folder, or ``None``."""
    return next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)


def _describe_self() -> dict:
    argv = sys.argv or [""]
    if "ipykernel" in argv[0]:
        command = "a Jupyter notebook"
    elif argv[0].endswith(os.path.join("vgg_teach", "train.py")):
        command = shlex.join(["python", "-m", "vgg_teach.train", *argv[1:]])
    else:
        command = shlex.join(argv)
    command = command if len(command) <= 200 else command[:199] + "…"
    return {"pid": os.getpid(), "host": _HOST, "command": command,
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}


@contextmanager
def own_folder(folder: Union[str, os.PathLike], say: Callable[[str], None] = print) -> Iterator[None]:
    """Hold ``folder`` for this run inside the ``with`` block, or raise :class:`~vgg_teach.errors.UsageError` naming
    the live run that holds it. A lock left by a run that died is taken over (and said). Re-entrant in a process."""
    folder = Path(folder).absolute()
    if folder in _held:
        _held[folder] += 1
        try:
            yield
        finally:
            _held[folder] -= 1
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = file_in_the_way(folder)
        raise UsageError(bilingual(f"{folder} 폴더를 만들 수 없습니다: {blocker} {particle(blocker, '은')} 파일입니다. "
                                   "다른 곳을 고르세요.",
                                   f"Cannot make the folder {folder}: {blocker} is a file. Choose another place.")
                         ) from None
    f = open(folder / LOCK_NAME, "a+", encoding="utf-8")
    locked = _os_lock(f)
    info = _holder(f)
    for _ in range(40):  # a holder that took the lock this instant has not written who it is yet
        if locked is not False or info:
            break
        time.sleep(0.05)
        info = _holder(f)
    if locked is False or _alive(info, locked):
        if locked:
            _os_unlock(f)
        f.close()
        raise _refusal(folder, info)
    if info.get("pid"):
        say(bilingual(f"앞선 실행(PID {info['pid']}, {info.get('started', '?')}에 시작)이 끝나면서 풀지 못한 잠금을 "
                      "넘겨받았습니다.",
                      f"Took over the lock of an earlier run that ended without releasing it (PID {info['pid']}, "
                      f"started {info.get('started', '?')})."))
    me, guard, stop = _describe_self(), threading.Lock(), threading.Event()

    def write(text: str) -> None:
        with guard, suppress(OSError):  # a heartbeat that cannot be written (Drive gone) must not stop training
            f.seek(0)
            f.truncate()
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def beat() -> None:
        while not stop.wait(BEAT_SECONDS):
            write(json.dumps({**me, "beat": time.time()}, ensure_ascii=False))

    write(json.dumps({**me, "beat": time.time()}, ensure_ascii=False))
    heart = threading.Thread(target=beat, name="vgg-teach-lock-heartbeat", daemon=True)
    heart.start()
    _held[folder] = 1
    try:
        yield
    finally:
        del _held[folder]
        stop.set()
        heart.join()
        write("")
        with suppress(OSError):
            if locked:
                _os_unlock(f)
        f.close()


class Terminated(KeyboardInterrupt):
    """A run stopped by SIGTERM (the CLI exits with 143, Ctrl-C's ``KeyboardInterrupt`` with 130)."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


@contextmanager
def sigterm_stops() -> Iterator[None]:
    """Inside the ``with`` block SIGTERM raises :class:`Terminated`; the old handler comes back after it. Signal
    handlers belong to the main thread: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
