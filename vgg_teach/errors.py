"""Messages and errors of the whole course, at the bottom of the import graph (imports nothing of ours).

Every message a learner reads is Korean first, then English (:func:`bilingual`); what smoke mode or an
offline stand-in replaced is announced in a box that is hard to miss (:func:`smoke_note`).
Every error the package raises on purpose is a :class:`VggTeachError`, so a notebook or the CLI can tell
"the course explained what went wrong" from a bug::

    VggTeachError
    ├── UsageError              a bad argument or setting (a flag out of range, an unknown name)
    ├── DataError               the data cannot be used as given
    ├── CheckpointError         a checkpoint cannot be read, or does not fit this run
    ├── PretrainedWeightsError  the pretrained weights can neither be downloaded nor read
    └── TrainingError           training stopped
        ├── DivergenceError     the loss or the weights became NaN/inf
        ├── OutOfMemoryError    the device ran out of memory
        └── OutputWriteError    a checkpoint or a result could not be written (disk full …)

``UsageError``, ``DataError`` and ``CheckpointError`` are also ``ValueError``s; ``TrainingError`` and
``PretrainedWeightsError`` are ``RuntimeError``s, as Python code expects of such failures.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable


def bilingual(korean: str, english: str) -> str:
    """A message in Korean, then in English, on two lines (the course's convention)."""
    return f"{korean}\n{english}"


def smoke_note(korean: str, english: str) -> str:
    """A boxed, hard-to-miss note (Korean, then English) for what smoke mode or a stand-in replaced."""
    rule = "=" * 78
    return f"{rule}\n⚠ {korean}\n⚠ {english}\n{rule}"


# Korean particles come in pairs: the first after a final consonant (받침), the second after a vowel.
_PARTICLES = {p: pair for pair in (("을", "를"), ("이", "가"), ("은", "는"), ("과", "와"), ("으로", "로"),
                                    ("이라", "라"), ("이나", "나"), ("이다", "다"), ("아", "야"))
              for p in pair}
_DIGIT_FINAL = "ㅇㄹ ㅁ  ㄱㄹㄹ "  # how 0–9 are read (영 일 이 삼 사 오 육 칠 팔 구): their final consonant
_ZEROS_FINAL = {1: "ㅂ", 2: "ㄱ", 3: "ㄴ", 4: "ㄴ", 8: "ㄱ", 12: ""}  # 십 백 천 만 억 조


def _final_sound(word: str) -> str:
    """The final consonant of ``word`` as a Korean reads it aloud ("" after a vowel): Hangul, numbers
    (1,792 → 이, 100 → 백, 6 → 육), acronyms by their letters (CNN → 엔) and English words by their ending."""
    word = re.sub(r"[^0-9A-Za-z가-힣]+$", "", word.replace(",", ""))
    if not word:
        return ""
    last = word[-1]
    if "가" <= last <= "힣":
        return " ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"[(ord(last) - 0xAC00) % 28].strip()
    if last.isdigit():
        digits = re.search(r"\d+$", word).group(0)
        zeros = len(digits) - len(digits.rstrip("0"))
        if zeros and zeros < len(digits):
            return _ZEROS_FINAL.get(zeros, _ZEROS_FINAL[zeros % 4] if zeros % 4 else "ㄴ")
        return _DIGIT_FINAL[int(last)].strip()
    letters = re.search(r"[A-Za-z]+$", word).group(0)
    lower = letters.lower()
    if letters.isupper() or not re.search(r"[aeiouy]", lower):  # read letter by letter: el, em, en, ar (lr: 엘알)
        return {"l": "ㄹ", "m": "ㅁ", "n": "ㄴ", "r": "ㄹ"}.get(lower[-1], "")
    if re.search(r".[lmn]e$|ype$", lower):  # a silent e: module 모듈, resume 리줌, none 논, dtype 디타입
        lower = lower[:-1]
    if lower.endswith("l"):
        return "ㄹ"
    if lower.endswith(("m", "n", "ng")):
        return "ㅁ" if lower.endswith("m") else "ㅇ" if lower.endswith("ng") else "ㄴ"
    if re.search(r"((^|[^aeiou])[aeiouy]|ou)[pbtkg]$|[^e]ck$", lower):  # map 맵, dog 독, group 그룹, out 아웃, back 백
        return "ㅂ"
    return ""


def particle(word: object, which: str) -> str:
    """The form of a Korean particle that fits how ``word`` is read (``which`` is either form):
    ``particle("fc6", "로")`` → ``"으로"`` (fc육), ``particle("모델", "를")`` → ``"을"``, ``particle(1792, "을")`` →
    ``"를"`` (천칠백구십이)."""
    after_consonant, after_vowel = _PARTICLES[which]
    final = _final_sound(str(word))
    if after_vowel == "로":  # ㄹ takes 로, like a vowel
        return after_consonant if final and final != "ㄹ" else after_vowel
    return after_consonant if final else after_vowel


def josa(word: object, which: str) -> str:
    """``word`` followed by the particle that fits it: ``josa("fc6", "로")`` → ``"fc6으로"``."""
    return f"{word}{particle(word, which)}"


# "[enforce fail at alloc_cpu.cpp:127] err == 0. " and the like: where in C++ torch failed, not what happened.
_CPP_PREFIX = re.compile(r"^\[enforce fail at [^\]]*\]\s*(\S+ == \S+\.\s*)?")


# "<_io.BytesIO object at 0x7f…>": a memory address, meaningless to a learner.
_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")


def cause(err: BaseException) -> str:
    """``"TypeName: first line of the message"`` — an exception in one short line for a learner's message.

    Drops what only a C++ developer can read (``[enforce fail at …]``) and object addresses
    (``<_io.BytesIO object at 0x7f…>``).
    """
    try:
        lines = str(err).strip().splitlines()
    except Exception:  # noqa: BLE001 - an exception whose __str__ itself fails still has a name
        lines = []
    text = _OBJECT_REPR.sub("", _CPP_PREFIX.sub("", lines[0].strip())) if lines else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def meant_name(name: str, names: Iterable[str]) -> str | None:
    """The name among ``names`` that ``name`` was probably meant to be (other capitals, or a typo), else ``None``."""
    names = [n for n in names if n != name]
    close = [n for n in names if n.lower() == name.lower()] or difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    return close[0] if close else None


def did_you_mean(name: str, close: str) -> tuple[str, str]:
    """(ko, en): "did you mean ``close``, not ``name``?", and that capitals count when only they differ."""
    case = close.lower() == name.lower()
    ko = f"'{name}'{particle(name, '이')} 아니라 '{close}'일까요?"
    en = f"Did you mean '{close}', not '{name}'?"
    if case:
        return ko + " 파이썬은 대문자와 소문자를 구별합니다.", en + " Python tells capitals from small letters."
    return ko, en


def readable(name: str) -> str:
    """A file name as a learner can read it, in NFC.

    Names that are not UTF-8 reach Python with "surrogate escapes" (they cannot be printed, written to JSON
    or hashed as text). A zip made on a Korean Windows computer stores names in CP949: those are decoded as
    CP949; anything else undecodable becomes ``�``. macOS writes Hangul decomposed (NFD): normalized to NFC, so
    names that look the same are the same.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogateescape")
        try:
            name = raw.decode("cp949")
        except UnicodeDecodeError:
            name = raw.decode("utf-8", "replace")
    return unicodedata.normalize("NFC", name)


class VggTeachError(Exception):
    """Base of every error the course raises on purpose; the message says what to do, in both languages."""


class UsageError(VggTeachError, ValueError):
    """A bad argument or setting: an unknown name, a number out of range."""


class DataError(VggTeachError, ValueError):
    """The data cannot be used as given; the message says what to fix."""


class CheckpointError(VggTeachError, ValueError):
    """A checkpoint cannot be read, or was made by another run than the one resuming from it."""


class PretrainedWeightsError(VggTeachError, RuntimeError):
    """The pretrained weights could not be loaded; the message says what to do."""


class TrainingError(VggTeachError, RuntimeError):
    """Training stopped; the message says why and what to change."""


class DivergenceError(TrainingError):
    """The loss, the test loss or the weights became NaN or infinite."""


class OutOfMemoryError(TrainingError):
    """The GPU (or the CPU, or Apple's MPS) ran out of memory."""


class OutputWriteError(TrainingError):
    """A checkpoint or a result file could not be written (disk full, folder gone); the previous file is intact."""
