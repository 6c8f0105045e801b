"""What a learner reads from the package: one English spelling — the messages, titles and docstrings of vgg_teach
use US spelling, as the lessons' prose does (tools/spelling.py); identifiers keep their names (``centre_box``,
``COLOURS``) and a quotation its source's spelling (the VGG paper writes "initialised") — and Korean particles chosen
for the word they follow (``josa``), never a placeholder such as 을(를)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from tools.prose import prose
from tools.spelling import uk_spellings
from vgg_teach.errors import particle

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "vgg_teach"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WITH_UNDERSCORE = re.compile(r"\w*_\w*")
_QUOTATION = re.compile(r'"[^"]*"|“[^”]*”')
#: A particle written by hand right after a name or number: fc6는, `--resume`을 … (not after a closing parenthesis,
#: which usually closes a gloss: 계층(layers)을)
_HAND_PARTICLE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.]*[A-Za-z0-9]|[A-Za-z0-9])`?(은|는|이|가|을|를|과|와)"
                            r"(?=[\s,.:;)\]!?/\\\"']|$)")
_PLACEHOLDER = re.compile(r"\((으|이)\)|[을이은와]\([를가는과]\)")  # 을(를), (으)로, (이)라 …


def _read_text(value: str) -> str:
    """The words of a string constant that a learner reads: code spans, identifiers and quotations left out."""
    if _IDENTIFIER.fullmatch(value):
        return ""
    return _WITH_UNDERSCORE.sub(" ", _QUOTATION.sub(" ", prose(value)))


def british_in(source: str) -> list[tuple[int, str, str]]:
    """``(line, british, us)`` for every British spelling in the string constants of ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, uk, us) for uk, us in uk_spellings(_read_text(node.value))]
    return found


def test_the_package_speaks_us_english_and_chooses_its_korean_particles():
    found = {str(p.relative_to(PACKAGE)): spots for p in sorted(PACKAGE.rglob("*.py"))
             if (spots := british_in(p.read_text(encoding="utf-8")))}
    assert not found, found
    placeholders = {str(p.relative_to(PACKAGE)): len(spots) for p in sorted(PACKAGE.rglob("*.py"))
                    if (spots := _PLACEHOLDER.findall(p.read_text(encoding="utf-8")))}
    assert not placeholders, placeholders


def misfit_particles(text: str) -> list[str]:
    """Particles written by hand after a name or number that do not fit how it is read (fc6 is fc육: fc6은)."""
    return [m.group(0) for m in _HAND_PARTICLE.finditer(text) if particle(m.group(1), m.group(2)) != m.group(2)]


def test_particles_written_by_hand_fit_the_word_in_the_package_and_the_lessons():
    texts = {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):  # lessons/ is made from these
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        texts.update({f"{path.name} cell {i}": "".join(c["source"]) for i, c in enumerate(cells)})
    misfits = {where: found for where, text in texts.items() if (found := misfit_particles(text))}
    assert not misfits, misfits


def test_the_particle_scan_reads_names_and_numbers_as_a_korean_does():
    assert misfit_particles("fc6는 7×7이고 `--resume`를 붙이면 None를") == ["fc6는", "resume`를", "None를"]
    assert not misfit_particles("fc6은 7×7이고 `--resume`을 붙이면 None을 이미지가, 계층(layers)을")


def test_the_scan_finds_a_british_message_and_spares_names_and_quotations():
    source = ('def f(centre_box):\n    """Colours of the ``centre`` box."""\n'
              '    raise ValueError(f"num_classes is honoured at {centre_box}")\n'
              'QUOTE = \'the paper: "we initialised the first four layers"\'\n__all__ = ["COLOURS"]\n')
    assert british_in(source) == [(2, "Colours", "Colors"), (3, "honoured", "honored")]
