"""Checkpoints that survive a disconnect, and the one owner of their schema (:class:`TrainingState`).

A Colab runtime can vanish in the middle of an epoch. Two things make that harmless:

- :func:`atomic_save` writes to a temporary file *in the same directory* and then renames it over
  the old file with :func:`os.replace`. A rename within one file system is atomic, so the file on
  disk is always either the previous complete checkpoint or the new complete one — never half of
  each, even if the runtime dies while ``torch.save`` is writing.
- :func:`rng_state` / :func:`set_rng_state` save and restore every random number generator, so a
  resumed run draws the same dropout masks as one that was never interrupted.

Checkpoints hold only tensors and plain Python values, so :func:`load_state` can use
``torch.load(weights_only=True)``: nothing in a checkpoint file is ever run. :func:`load_state` also
checks the file's schema and says, in both languages, what is wrong with a file that is not one of ours.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, BinaryIO, Callable, Union

import torch

from ..errors import CheckpointError, bilingual

__all__ = ["atomic_write", "atomic_save", "atomic_write_json", "TrainingState", "save_state", "load_state",
           "rng_state", "set_rng_state", "CHECKPOINT_VERSION"]

PathLike = Union[str, "os.PathLike[str]"]

#: Bumped when :class:`TrainingState` changes in a way older files cannot be read as.
CHECKPOINT_VERSION = 1


def atomic_write(path: PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it to ``path``.

    All or nothing: if ``write`` fails (or the process is interrupted) the old ``path`` is untouched
    and the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes it private (0600); use the usual mode
        os.replace(tmp_name, path)
    except BaseException:
        # KeyboardInterrupt included: never leave a stray temporary file behind.
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_save(obj: Any, path: PathLike) -> Path:
    """``torch.save(obj, path)``, but all or nothing: the old file survives any failure."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_json(obj: Any, path: PathLike) -> Path:
    """Write ``obj`` as indented UTF-8 JSON, atomically (``metrics.json``)."""
    text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


@dataclass
class TrainingState:
    """Everything a run needs to continue exactly where it stopped, as saved after each epoch.

    ``model``/``optimizer``/``scheduler``/``scaler`` are ``state_dict()``s; ``history`` has one record per
    finished epoch; ``rng`` is :func:`rng_state`; ``config`` the :class:`~.config.TrainConfig` as a dict;
    ``run`` describes the run (model name, classes, data) so that a resume can refuse a mismatch.
    """

    model: dict
    optimizer: dict
    scheduler: dict
    scaler: dict
    history: list
    epoch: int
    rng: dict
    config: dict
    run: dict = field(default_factory=dict)
    version: int = CHECKPOINT_VERSION


def save_state(state: TrainingState, path: PathLike) -> Path:
    """Write ``state`` to ``path`` atomically (the previous checkpoint survives any failure)."""
    return atomic_save(asdict(state), path)


_TYPES = {"model": dict, "optimizer": dict, "scheduler": dict, "scaler": dict, "history": list, "epoch": int,
          "rng": dict, "config": dict, "run": dict, "version": int}


def load_state(path: PathLike, map_location: Union[str, torch.device, None] = "cpu") -> TrainingState:
    """Read a checkpoint written by :func:`save_state`, with ``torch.load(weights_only=True)``.

    Raises :class:`~vgg_teach.errors.CheckpointError` (bilingual, naming the file) when the file cannot be
    read or is not a training checkpoint of this course (a bare ``state_dict``, a list, keys missing …).
    """
    path = Path(path)
    try:
        raw = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, ValueError, OSError) as err:
        raise CheckpointError(bilingual(
            f"체크포인트 {path} 을(를) 읽을 수 없습니다 ({type(err).__name__}). 이 파일을 지우거나 다른 출력 "
            "폴더를 쓰고, 처음부터 다시 학습하세요.",
            f"Cannot read the checkpoint {path} ({type(err).__name__}). Delete it or use another output "
            "folder, and train again from scratch.",
        )) from None
    problem = _schema_problem(raw)
    if problem:
        raise CheckpointError(bilingual(
            f"{path} 는 이 강좌의 학습 체크포인트가 아닙니다 ({problem}). 이어 하기(resume)를 끄거나 다른 출력 폴더를 "
            "쓰세요.",
            f"{path} is not a training checkpoint of this course ({problem}). Turn resume off or use another "
            "output folder.",
        ))
    return TrainingState(**{f.name: raw[f.name] for f in fields(TrainingState) if f.name in raw})


def _schema_problem(raw: Any) -> str:
    """What keeps ``raw`` from being a :class:`TrainingState` ("" if nothing)."""
    if not isinstance(raw, dict):
        return f"{type(raw).__name__}, not a dict"
    if raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
        return "a bare state_dict of weights, without the optimizer and the history"
    missing = [name for name in _TYPES if name not in raw and name not in ("run", "version")]
    if missing:
        return "missing: " + ", ".join(missing)
    wrong = [name for name, kind in _TYPES.items() if name in raw and not isinstance(raw[name], kind)]
    if wrong:
        return "wrong type: " + ", ".join(wrong)
    if raw.get("version", CHECKPOINT_VERSION) > CHECKPOINT_VERSION:
        return f"made by a newer vgg_teach (checkpoint version {raw['version']})"
    return ""


def rng_state() -> dict:
    """The state of Python's, NumPy's and PyTorch's (CPU and every CUDA device) generators."""
    state: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy ships with torch's usual installs
        return state
    name, keys, pos, has_gauss, cached = np.random.get_state()
    # Stored as a list of ints rather than an ndarray so that ``weights_only=True`` can load it.
    state["numpy"] = (name, keys.tolist(), int(pos), int(has_gauss), float(cached))
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned (generators missing on this machine are skipped)."""
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"][: torch.cuda.device_count()]
        torch.cuda.set_rng_state_all(cuda_states)
    if "numpy" in state:
        import numpy as np
        name, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
