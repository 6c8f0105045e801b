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

What may happen to a run folder is decided here too: :func:`refuse_to_replace` (a saved run is never replaced
unless asked), :func:`check_resume` (a resumed run keeps its recipe and its data), and
:func:`remove_stale_temporaries` (what a killed write left behind).
"""

from __future__ import annotations

import glob
import json
import math
import os
import random
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, BinaryIO, Callable, Sequence, Union

import torch

from ..errors import CheckpointError, OutputWriteError, bilingual, cause, readable
from .recipe import flag_name

# ---- from vgg_teach.training.checkpoint (phase-1 merge)
PathLike = Union[str, "os.PathLike[str]"]


#: Bumped when :class:`TrainingState` changes in a way older files cannot be read as.
CHECKPOINT_VERSION = 1


def atomic_write(path: PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a temporary file next to ``path``, then rename it to ``path``.

    All or nothing: if ``write`` fails (or the process is interrupted) the old ``path`` is untouched
    and the temporary file is removed. A full disk or a folder that cannot be written (``OSError``, or
    torch's ``RuntimeError`` from inside ``torch.save``) raises :class:`~vgg_teach.errors.OutputWriteError`.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _write_error(path, err) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp makes it private (0600); use the usual mode
        os.replace(tmp_name, path)
    except BaseException as err:
        # KeyboardInterrupt included: never leave a stray temporary file behind.
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        if isinstance(err, (OSError, RuntimeError)) and not isinstance(err, OutputWriteError):
            raise _write_error(path, err) from None
        raise
    return path


def _write_error(path: Path, err: BaseException) -> OutputWriteError:
    return OutputWriteError(bilingual(
        f"{path} 을(를) 저장하지 못했습니다 ({cause(err)}). 디스크가 가득 찼거나 그 폴더에 쓸 수 없는 것 같습니다. "
        f"전에 저장된 {path.name} 은(는) 그대로 남아 있습니다. 공간을 비우거나 다른 출력 폴더를 고른 뒤 다시 "
        "실행하세요(학습 중이었다면 --resume 또는 resume=True로 이어 갑니다).",
        f"Could not save {path} ({cause(err)}). The disk is probably full, or the folder cannot be written. "
        f"A {path.name} saved earlier is intact. Free some space or choose another output folder and run again "
        "(a training run continues with --resume or resume=True).",
    ))


def remove_stale_temporaries(path: PathLike) -> list[Path]:
    """Delete the ``.NAME.*.tmp`` files next to ``path`` that a killed :func:`atomic_write` left; return them.

    A write interrupted by SIGKILL or a vanished runtime cannot clean up after itself; the next run does.
    """
    path = Path(path)
    removed = []
    for tmp in sorted(path.parent.glob(f".{glob.escape(path.name)}.*.tmp")):
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:  # gone already, or not ours to delete: leave it
            pass
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_save(obj: Any, path: PathLike) -> Path:
    """``torch.save(obj, path)``, but all or nothing: the old file survives any failure."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_json(obj: Any, path: PathLike) -> Path:
    """Write ``obj`` as indented UTF-8 JSON, atomically (``metrics.json``).

    Strict JSON that any reader accepts: NaN and ±inf become ``null``, names that are not UTF-8 are made readable.
    """
    text = json.dumps(_strict_json(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _strict_json(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, str):
        return readable(obj)
    if isinstance(obj, dict):
        return {_strict_json(str(k)): _strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_strict_json(v) for v in obj]
    return obj


@dataclass
class TrainingState:
    """Everything a run needs to continue exactly where it stopped, as saved after each epoch.

    ``model``/``optimizer``/``scheduler``/``scaler`` are ``state_dict()``s; ``history`` has one record per
    finished epoch; ``rng`` is :func:`rng_state`; ``config`` the :class:`~.config.TrainConfig` as a dict
    (the values used for the epochs since the last resume); ``run`` describes the run (model name, classes,
    fingerprints of the data) so that a resume can refuse a mismatch; ``resumes`` records each resume and what
    it changed (``{"after_epoch": 2, "changed": {"epochs": [3, 5]}}``).
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
    resumes: list = field(default_factory=list)
    version: int = CHECKPOINT_VERSION


def save_state(state: TrainingState, path: PathLike) -> Path:
    """Write ``state`` to ``path`` atomically (the previous checkpoint survives any failure).

    A shallow dict of the fields, not ``dataclasses.asdict``: that deep-copies every tensor (on the GPU, a second
    copy of the weights and the optimizer's momentum, just to save them).
    """
    return atomic_save({f.name: getattr(state, f.name) for f in fields(state)}, path)


_TYPES = {"model": dict, "optimizer": dict, "scheduler": dict, "scaler": dict, "history": list, "epoch": int,
          "rng": dict, "config": dict, "run": dict, "resumes": list, "version": int}


_OPTIONAL = ("run", "resumes", "version")  # older checkpoints may lack them


def load_state(path: PathLike, map_location: Union[str, torch.device, None] = "cpu") -> TrainingState:
    """Read a checkpoint written by :func:`save_state`, with ``torch.load(weights_only=True)``.

    Raises :class:`~vgg_teach.errors.CheckpointError` (bilingual, naming the file) when the file cannot be
    read or is not a training checkpoint of this course (a bare ``state_dict``, a list, keys missing …).
    """
    path = Path(path)
    try:
        raw = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # a broken file can make the weights-only unpickler fail in any way (IndexError …)
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


def restore(state: TrainingState, checkpoint: PathLike, model: Any, optimizer: Any, scheduler: Any,
            scaler: Any) -> None:
    """Load weights, optimizer, schedule and gradient scaler from ``state`` (a file of another model is refused).

    ``model`` is the plain module (under DDP its ``.module``): a checkpoint is the same file for any number of
    processes.
    """
    try:
        model.load_state_dict(state.model)
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
        if state.scaler:
            scaler.load_state_dict(state.scaler)
        # The learning rate of the next step under *this* run's schedule (it stretches when epochs grew);
        # the optimizer's saved one belongs to the old schedule (at its end: 0). Same value when nothing changed.
        lrs = [base * factor(scheduler.last_epoch) for base, factor in zip(scheduler.base_lrs, scheduler.lr_lambdas)]
        for group, lr in zip(optimizer.param_groups, lrs):
            group["lr"] = lr
        scheduler._last_lr = lrs
    except (RuntimeError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(bilingual(
            f"체크포인트 {checkpoint} 는 다른 모델의 것이라 이어서 학습할 수 없습니다. 다른 출력 폴더를 쓰거나 "
            "이어 하기(resume)를 끄세요.",
            f"The checkpoint {checkpoint} belongs to a different model, so training cannot resume from it. "
            f"Use another output folder or turn resume off. ({cause(err)})",
        )) from None


def _schema_problem(raw: Any) -> str:
    """What keeps ``raw`` from being a :class:`TrainingState` ("" if nothing)."""
    if not isinstance(raw, dict):
        return f"{type(raw).__name__}, not a dict"
    if raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
        return "a bare state_dict of weights, without the optimizer and the history"
    missing = [name for name in _TYPES if name not in raw and name not in _OPTIONAL]
    if missing:
        return "missing: " + ", ".join(missing)
    wrong = [name for name, kind in _TYPES.items() if name in raw and not isinstance(raw[name], kind)]
    if wrong:
        return "wrong type: " + ", ".join(wrong)
    if raw.get("version", CHECKPOINT_VERSION) > CHECKPOINT_VERSION:
        return f"made by a newer vgg_teach (checkpoint version {raw['version']})"
    return ""


def _saved_run_text(checkpoint: Path) -> tuple[str, str]:
    """How far the run saved in ``checkpoint`` got, in Korean and English."""
    try:
        state = load_state(checkpoint)
    except CheckpointError:
        return "읽을 수 없는 체크포인트", "an unreadable checkpoint"
    epochs = state.config.get("epochs", "?")
    done = isinstance(epochs, int) and state.epoch >= epochs
    return (f"에포크 {state.epoch}/{epochs}, {'끝난 학습' if done else '중간에 멈춘 학습'}",
            f"epoch {state.epoch} of {epochs}, {'finished' if done else 'stopped partway'}")


def refuse_to_replace(checkpoint: PathLike, *, resume: bool, overwrite: bool, others: Sequence[PathLike] = ()) -> None:
    """Raise :class:`~vgg_teach.errors.CheckpointError` when starting would replace a run saved at ``checkpoint``.

    ``others`` are the run's other results (the CLI's ``metrics.json``). Nothing is refused with ``overwrite``,
    nor when ``resume`` continues the checkpoint; ``resume`` without a checkpoint but with ``others`` is refused
    (it would start afresh and replace them). The message suggests ``--resume`` and ``--overwrite``.
    """
    checkpoint = Path(checkpoint)
    if overwrite or (resume and checkpoint.is_file()):
        return
    found = [Path(p) for p in (checkpoint, *others) if Path(p).is_file()]
    if not found:
        return
    names = ", ".join(p.name for p in found)
    ko_state, en_state = _saved_run_text(checkpoint) if checkpoint.is_file() else ("체크포인트 없음", "no checkpoint")
    if resume:
        raise CheckpointError(bilingual(
            f"이어 갈 체크포인트 {checkpoint} 가 없는데, 앞선 실행의 결과({names})가 {checkpoint.parent} 에 있습니다. "
            "그 결과를 지우고 새로 학습하려면 --overwrite(노트북: overwrite=True)를 쓰거나 다른 출력 폴더를 고르세요.",
            f"There is no checkpoint {checkpoint} to resume from, but {checkpoint.parent} holds an earlier run's "
            f"results ({names}). To replace them with a new run use --overwrite (in a notebook: overwrite=True), "
            "or choose another output folder.",
        ))
    raise CheckpointError(bilingual(
        f"{checkpoint.parent} 에 이미 학습한 결과가 있습니다: {names} ({ko_state}). 이어서 학습하거나 결과를 "
        "불러오려면 --resume(노트북: resume=True)을, 지우고 새로 학습하려면 --overwrite(overwrite=True)를 쓰거나 "
        "다른 출력 폴더를 고르세요.",
        f"{checkpoint.parent} already holds a run: {names} ({en_state}). To continue it or load its results use "
        "--resume (in a notebook: resume=True); to replace it with a new run use --overwrite (overwrite=True), or "
        "choose another output folder.",
    ))


#: :class:`~.config.TrainConfig` fields a resumed run may change: none of them changes the weights trained so far
#: or the steps the schedule counts (``epochs`` may grow: the schedule stretches over the new total). ``sync_bn``
#: may change like the number of processes may (the global batch, ``batch_size``, may not).
MAY_CHANGE_ON_RESUME = ("epochs", "tta", "eval_batch_size", "precision", "channels_last", "compile", "sync_bn")


#: What of ``run`` must be the same to resume: the model, the classes and the data (their fingerprints).
_RUN_KEYS = ("model", "classes", "train_data", "test_data")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def check_resume(state: TrainingState, config: dict, run: dict, path: PathLike) -> dict:
    """Refuse to resume ``state`` with another recipe or other data; return the allowed changes.

    ``config`` is this run's :class:`~.config.TrainConfig` as a dict, ``run`` its description; keys that only
    one side has are not compared (an older checkpoint, a CLI check before the data is loaded). Returns
    ``{field: [in the checkpoint, now]}`` for the :data:`MAY_CHANGE_ON_RESUME` fields that changed.
    Raises :class:`~vgg_teach.errors.CheckpointError` listing every difference otherwise.
    """
    problems, changed = [], {}
    for key, now in config.items():
        if key not in state.config or state.config[key] == now:
            continue
        before = state.config[key]
        line = f"  - {key} ({flag_name(key)}): {_short(before)} → {_short(now)}"
        if key == "epochs" and isinstance(now, int) and now < state.epoch:
            problems.append(line + f"  (에포크 {state.epoch}까지 이미 끝남 / {state.epoch} epochs already done)")
        elif key in MAY_CHANGE_ON_RESUME:
            changed[key] = [before, now]
        else:
            problems.append(line)
    for key in _RUN_KEYS:
        before, now = state.run.get(key), run.get(key)
        if before is None or now is None or before == now:
            continue
        if isinstance(before, dict) and isinstance(now, dict):
            problems += [f"  - {key}.{sub}: {_short(before.get(sub))} → {_short(now.get(sub))}"
                         for sub in sorted(set(before) | set(now)) if before.get(sub) != now.get(sub)]
        else:
            problems.append(f"  - {key}: {_short(before)} → {_short(now)}")
    if problems:
        raise CheckpointError(bilingual(
            f"체크포인트 {path} 를 만든 설정과 지금 설정이 달라 이어서 학습할 수 없습니다(체크포인트 → 지금). 같은 "
            "설정으로 실행하거나(--resume에서는 주지 않은 플래그를 체크포인트에서 가져옵니다), 새로 학습하려면 "
            "--overwrite(노트북: overwrite=True)나 다른 출력 폴더를 쓰세요.",
            f"Cannot resume from the checkpoint {path}: it was made with other settings (checkpoint → now). Run "
            "with the same settings (with --resume, flags you leave out are taken from the checkpoint), or start "
            "a new run with --overwrite (in a notebook: overwrite=True) or another output folder.",
        ) + "\n" + "\n".join(problems))
    return changed


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
