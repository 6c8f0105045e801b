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

import re
import unicodedata


def bilingual(korean: str, english: str) -> str:
    """A message in Korean, then in English, on two lines (the course's convention)."""
    return f"{korean}\n{english}"


def smoke_note(korean: str, english: str) -> str:
    """A boxed, hard-to-miss note (Korean, then English) for what smoke mode or a stand-in replaced."""
    rule = "=" * 78
    return f"{rule}\n⚠ {korean}\n⚠ {english}\n{rule}"


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
