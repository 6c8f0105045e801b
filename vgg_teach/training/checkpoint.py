"""Checkpoints that survive a disconnect: written atomically, with every random generator, read back with
``weights_only=True`` and checked; a saved run is never replaced unless asked, and a resumed one keeps its recipe
and its data."""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import random
import secrets
import warnings
import zipfile
import zlib
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, BinaryIO, Callable, Sequence, Union

import numpy as np
import torch

from ..errors import CheckpointError, OutputWriteError, bilingual, cause, particle, readable
from .recipe import flag_name

PathLike = Union[str, "os.PathLike[str]"]

#: Bumped when :class:`TrainingState` changes in a way older files cannot be read as.
CHECKPOINT_VERSION = 1


def atomic_write(path: PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """``write(file)`` to a temporary file beside ``path``, renamed to ``path``: all or nothing, even when interrupted.
    A full disk or a folder that cannot be written (``OSError``, or ``RuntimeError`` from ``torch.save``) raises
    :class:`~vgg_teach.errors.OutputWriteError`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as f:  # the usual mode (0666 less the umask)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:  # KeyboardInterrupt included: never leave a stray temporary file behind
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(err, (OSError, RuntimeError)) and not isinstance(err, OutputWriteError):
            if path.is_dir():
                raise OutputWriteError(bilingual(
                    f"{path} {particle(path, '을')} 저장하지 못했습니다: 그 이름의 폴더가 있습니다. 폴더의 이름을 "
                    "바꾸거나 다른 출력 폴더를 고르세요.",
                    f"Could not save {path}: a folder of that name is in the way. Rename the folder or choose another "
                    "output folder.")) from None
            kept = (f" 전에 저장된 {path.name} {particle(path.name, '은')} 그대로 남아 있습니다.",
                    f" A {path.name} saved earlier is intact.") if path.is_file() else ("", "")
            raise OutputWriteError(bilingual(
                f"{path} {particle(path, '을')} 저장하지 못했습니다 ({cause(err)}). 디스크가 가득 찼거나 그 폴더에 쓸 "
                f"수 없는 것 같습니다.{kept[0]} 공간을 비우거나 다른 출력 폴더를 고른 뒤 다시 실행하세요(학습 "
                "중이었다면 --resume 또는 resume=True로 이어 갑니다).",
                f"Could not save {path} ({cause(err)}). The disk is probably full, or the folder cannot be "
                f"written.{kept[1]} Free some space or choose another output folder and run again (a training run "
                "continues with --resume or resume=True).")) from None
        raise
    return path


def remove_stale_temporaries(path: PathLike) -> list[Path]:
    """Delete the temporary files of ``path`` that a killed :func:`atomic_write` left (SIGKILL cannot clean up)."""
    path, removed = Path(path), []
    for tmp in sorted(path.parent.glob(f".{glob.escape(path.name)}.*.tmp")):
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:  # gone already, or not ours to delete: leave it
            pass
    return removed


def atomic_save(obj: Any, path: PathLike) -> Path:
    """``torch.save(obj, path)``, but all or nothing: the old file survives any failure."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_json(obj: Any, path: PathLike) -> Path:
    """``obj`` as indented UTF-8 strict JSON, atomically: NaN and ±inf become ``null``, names are made readable."""
    def strict(v: Any) -> Any:
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, str):
            return readable(v)
        if isinstance(v, dict):
            return {strict(str(k)): strict(x) for k, x in v.items()}
        return [strict(x) for x in v] if isinstance(v, (list, tuple)) else v

    text = json.dumps(strict(obj), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


@dataclass
class TrainingState:
    """All a run needs to go on exactly where it stopped: ``state_dict()``s, ``history``, ``rng`` (:func:`rng_state`),
    ``config`` (a :class:`~.recipe.TrainConfig` as a dict), ``run`` (model, classes, the data's fingerprints) and
    ``resumes`` (each resume and what it changed: ``{"after_epoch": 2, "changed": {…}}``)."""

    model: dict
    optimizer: dict
    scheduler: dict
    scaler: dict
    history: list
    epoch: int
    rng: dict
    config: dict
    run: dict = field(default_factory=dict)  # older checkpoints may lack these three
    resumes: list = field(default_factory=list)
    version: int = CHECKPOINT_VERSION


def save_state(state: TrainingState, path: PathLike) -> Path:
    """Write ``state`` atomically (a shallow dict: ``dataclasses.asdict`` would deep-copy every tensor)."""
    return atomic_save({f.name: getattr(state, f.name) for f in fields(state)}, path)


def _schema_problem(raw: Any) -> str:
    """What keeps ``raw`` from being a :class:`TrainingState` ("" if nothing)."""
    if not isinstance(raw, dict):
        return f"{type(raw).__name__}, not a dict"
    if raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
        return "a bare state_dict of weights, without the optimizer and the history"
    kinds = {f.name: {"dict": dict, "list": list, "int": int}[f.type] for f in fields(TrainingState)}
    missing = [f.name for f in fields(TrainingState)
               if f.name not in raw and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        return "missing: " + ", ".join(missing)
    wrong = [name for name, kind in kinds.items() if name in raw and not isinstance(raw[name], kind)]
    if wrong:
        return "wrong type: " + ", ".join(wrong)
    if raw.get("version", CHECKPOINT_VERSION) > CHECKPOINT_VERSION:
        return f"made by a newer vgg_teach (checkpoint version {raw['version']})"
    return ""


def _damaged_record(path: Path) -> str:
    """The first record of the zip file ``torch.save`` wrote whose bytes no longer match their CRC-32 ("" if none, or
    if ``path`` is not a zip file: then ``torch.load`` says what it is). ``torch.load`` does not check them itself."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() or ""
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return ""
    except zlib.error:  # a compressed record that no longer inflates
        return "a record"


def load_state(path: PathLike, map_location: Union[str, torch.device, None] = "cpu") -> TrainingState:
    """Read a checkpoint written by :func:`save_state` with ``torch.load(weights_only=True)``; a file that cannot be
    read or is not a training checkpoint of this course raises a bilingual :class:`CheckpointError` naming it."""
    path = Path(path)
    damaged = _damaged_record(path)
    if damaged:
        raise CheckpointError(bilingual(
            f"체크포인트 {path} {particle(path, '이')} 손상되었습니다: 안의 {damaged} 내용이 저장할 때 적어 둔 "
            "체크섬(CRC-32)과 다릅니다(저장 중에 디스크가 가득 찼거나 컴퓨터가 꺼졌을 때 이렇게 됩니다). 이대로 이어서 "
            "학습하면 "
            "망가진 가중치로 학습하게 되니, 이 파일을 지우거나 다른 출력 폴더를 쓰고 처음부터 다시 학습하세요.",
            f"The checkpoint {path} is damaged: its {damaged} does not match the checksum (CRC-32) written with it "
            "(a disk that filled up or a machine that went off while saving does this). Resuming would train on "
            "broken weights: delete it or use another output folder, and train again from scratch."))
    try:
        with warnings.catch_warnings():  # torch's own words on a foreign file (a pickle protocol …): ours follow
            warnings.simplefilter("ignore")
            raw = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # a broken file can make the weights-only unpickler fail in any way (IndexError …)
        raise CheckpointError(bilingual(
            f"체크포인트 {path} {particle(path, '을')} 읽을 수 없습니다 ({type(err).__name__}). 이 파일을 지우거나 "
            "다른 출력 폴더를 "
            "쓰고, 처음부터 다시 학습하세요.",
            f"Cannot read the checkpoint {path} ({type(err).__name__}). Delete it or use another output folder, "
            "and train again from scratch.")) from None
    problem = _schema_problem(raw)
    if problem:
        raise CheckpointError(bilingual(
            f"{path} 는 이 강좌의 학습 체크포인트가 아닙니다 ({problem}). 이어 하기(resume)를 끄거나 다른 출력 폴더를 "
            "쓰세요.",
            f"{path} is not a training checkpoint of this course ({problem}). Turn resume off or use another "
            "output folder."))
    return TrainingState(**{f.name: raw[f.name] for f in fields(TrainingState) if f.name in raw})


def restore(state: TrainingState, checkpoint: PathLike, model: Any, optimizer: Any, scheduler: Any,
            scaler: Any) -> None:
    """Load weights, optimizer, schedule and gradient scaler from ``state`` (a file of another model is refused).
    ``model`` is the plain module (under DDP its ``.module``): the file is the same for any number of processes."""
    try:
        model.load_state_dict(state.model)
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
        if state.scaler:
            scaler.load_state_dict(state.scaler)
        # The next step's learning rate under *this* run's schedule (it stretches when epochs grew); the saved one
        # belongs to the old schedule (at its end: 0). The same value when nothing changed.
        lrs = [base * factor(scheduler.last_epoch) for base, factor in zip(scheduler.base_lrs, scheduler.lr_lambdas)]
        for group, lr in zip(optimizer.param_groups, lrs):
            group["lr"] = lr
        scheduler._last_lr = lrs
    except (RuntimeError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(bilingual(
            f"체크포인트 {checkpoint} 는 다른 모델의 것이라 이어서 학습할 수 없습니다. 다른 출력 폴더를 쓰거나 "
            "이어 하기(resume)를 끄세요.",
            f"The checkpoint {checkpoint} belongs to a different model, so training cannot resume from it. "
            f"Use another output folder or turn resume off. ({cause(err)})")) from None


def refuse_to_replace(checkpoint: PathLike, *, resume: bool, overwrite: bool, others: Sequence[PathLike] = ()) -> None:
    """Raise :class:`CheckpointError` when starting would replace a run saved at ``checkpoint`` or its other results
    (``others``: the CLI's ``metrics.json``); nothing is refused with ``overwrite`` or a ``resume`` that continues it.
    """
    checkpoint = Path(checkpoint)
    if overwrite or (resume and checkpoint.is_file()):
        return
    found = [Path(p) for p in (checkpoint, *others) if Path(p).is_file()]
    if not found:
        return
    names = ", ".join(p.name for p in found)
    if resume:
        raise CheckpointError(bilingual(
            f"이어 갈 체크포인트 {checkpoint} 가 없는데, 앞선 실행의 결과({names})가 {checkpoint.parent} 에 있습니다. "
            "그 결과를 지우고 새로 학습하려면 --overwrite(노트북: overwrite=True)를 쓰거나 다른 출력 폴더를 고르세요.",
            f"There is no checkpoint {checkpoint} to resume from, but {checkpoint.parent} holds an earlier run's "
            f"results ({names}). To replace them with a new run use --overwrite (in a notebook: overwrite=True), "
            "or choose another output folder."))
    ko, en, readable_run = "체크포인트 없음", "no checkpoint", True
    if checkpoint.is_file():
        try:
            state = load_state(checkpoint)
            epochs = state.config.get("epochs", "?")
            done = isinstance(epochs, int) and state.epoch >= epochs
            ko = f"에포크 {state.epoch}/{epochs}, {'끝난 학습' if done else '중간에 멈춘 학습'}"
            en = f"epoch {state.epoch} of {epochs}, {'finished' if done else 'stopped partway'}"
        except CheckpointError:
            ko, en, readable_run = "읽을 수 없는 체크포인트", "an unreadable checkpoint", False
    if not readable_run:  # nothing to resume: --resume would only fail on it
        raise CheckpointError(bilingual(
            f"{checkpoint.parent} 에 앞선 실행의 파일이 있습니다: {names} ({ko}). 이어 할 수는 없으니, 지우고 새로 "
            "학습하려면 --overwrite(노트북: overwrite=True)를 쓰거나 다른 출력 폴더를 고르세요.",
            f"{checkpoint.parent} holds an earlier run's files: {names} ({en}). It cannot be resumed: to replace it "
            "with a new run use --overwrite (in a notebook: overwrite=True), or choose another output folder."))
    raise CheckpointError(bilingual(
        f"{checkpoint.parent} 에 이미 학습한 결과가 있습니다: {names} ({ko}). 이어서 학습하거나 결과를 불러오려면 "
        "--resume(노트북: resume=True)을, 지우고 새로 학습하려면 --overwrite(overwrite=True)를 쓰거나 다른 출력 "
        "폴더를 고르세요.",
        f"{checkpoint.parent} already holds a run: {names} ({en}). To continue it or load its results use --resume "
        "(in a notebook: resume=True); to replace it with a new run use --overwrite (overwrite=True), or choose "
        "another output folder."))


#: What a resume may change: nothing that changes the weights trained so far or the steps the schedule counts
#: (``epochs`` may grow: the schedule stretches; ``sync_bn`` may change like the number of processes may).
MAY_CHANGE_ON_RESUME = ("epochs", "tta", "eval_batch_size", "precision", "channels_last", "compile", "sync_bn")


def check_resume(state: TrainingState, config: dict, run: dict, path: PathLike) -> dict:
    """Refuse to resume ``state`` with another recipe (``config``) or other model, classes or data (``run``), listing
    every difference; return ``{field: [in the checkpoint, now]}`` for the allowed changes. Keys only one side has
    are not compared (an older checkpoint, the CLI's check before the data is loaded)."""
    def short(value: Any) -> str:
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "…"

    problems, changed = [], {}
    for key, now in config.items():
        if key not in state.config or state.config[key] == now:
            continue
        before = state.config[key]
        line = f"  - {key} ({flag_name(key)}): {short(before)} → {short(now)}"
        if key == "epochs" and isinstance(now, int) and now < state.epoch:
            problems.append(line + f"  (에포크 {state.epoch}까지 이미 끝남 / {state.epoch} epochs already done)")
        elif key in MAY_CHANGE_ON_RESUME:
            changed[key] = [before, now]
        else:
            problems.append(line)
    for key in ("model", "classes", "train_data", "test_data"):
        before, now = state.run.get(key), run.get(key)
        if before is None or now is None or before == now:
            continue
        if isinstance(before, dict) and isinstance(now, dict):
            problems += [f"  - {key}.{sub}: {short(before.get(sub))} → {short(now.get(sub))}"
                         for sub in sorted(set(before) | set(now)) if before.get(sub) != now.get(sub)]
        else:
            problems.append(f"  - {key}: {short(before)} → {short(now)}")
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
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state(),
                             # a list of ints, not an ndarray, so that ``weights_only=True`` can load it
                             "numpy": (name, keys.tolist(), int(pos), int(has_gauss), float(cached))}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` returned (generators missing on this machine are skipped)."""
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])
    if "numpy" in state:
        name, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
