"""What a learner reads from the package: one English spelling — the messages, titles and docstrings of vgg_teach
use US spelling, as the lessons' prose does (tools/spelling.py); identifiers keep their names (``centre_box``,
``COLOURS``) and a quotation its source's spelling (the VGG paper writes "initialised") — and Korean particles chosen
for the word they follow (``josa``), never a placeholder such as 을(를)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tools.prose import prose
from tools.spelling import uk_spellings

PACKAGE = Path(__file__).resolve().parents[2] / "vgg_teach"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WITH_UNDERSCORE = re.compile(r"\w*_\w*")
_QUOTATION = re.compile(r'"[^"]*"|“[^”]*”')
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


def test_the_scan_finds_a_british_message_and_spares_names_and_quotations():
    source = ('def f(centre_box):\n    """Colours of the ``centre`` box."""\n'
              '    raise ValueError(f"num_classes is honoured at {centre_box}")\n'
              'QUOTE = \'the paper: "we initialised the first four layers"\'\n__all__ = ["COLOURS"]\n')
    assert british_in(source) == [(2, "Colours", "Colors"), (3, "honoured", "honored")]
