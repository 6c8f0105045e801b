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
        └── OutOfMemoryError    the device ran out of memory

``UsageError``, ``DataError`` and ``CheckpointError`` are also ``ValueError``s; ``TrainingError`` and
``PretrainedWeightsError`` are ``RuntimeError``s, as Python code expects of such failures.
"""

from __future__ import annotations

__all__ = ["bilingual", "smoke_note", "VggTeachError", "UsageError", "DataError", "CheckpointError",
           "PretrainedWeightsError", "TrainingError", "DivergenceError", "OutOfMemoryError"]


def bilingual(korean: str, english: str) -> str:
    """A message in Korean, then in English, on two lines (the course's convention)."""
    return f"{korean}\n{english}"


def smoke_note(korean: str, english: str) -> str:
    """A boxed, hard-to-miss note (Korean, then English) for what smoke mode or a stand-in replaced."""
    rule = "=" * 78
    return f"{rule}\n⚠ {korean}\n⚠ {english}\n{rule}"


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
