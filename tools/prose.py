"""Reading the prose of a notebook's Markdown: what counts as text, whether it is bilingual, glossed terms.

Used by :mod:`tools.nblint` (whose glossary rule is :func:`glossary_problems`). Code fences, `code spans`,
URLs, LaTeX, HTML tags and solution markers are never prose.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from tools.glossary import GLOSSARY, Term

__all__ = ["prose", "h1_lines", "split_headings", "words", "is_bilingual_text", "is_glossed", "gloss_span",
           "glossary_problems", "FUNCTION_WORDS", "HANGUL", "WORD", "ATX_HEADING", "FENCE"]

HANGUL = re.compile(r"[\uac00-\ud7a3]")
WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
#: Common English function words: a cell whose Latin words include none of these is a list of
#: identifiers or glossary terms, not an English sentence.
FUNCTION_WORDS = frozenset("""
    the an and or but of to in on at by for with from into onto as is are was were be been being it its
    this that these those there here your you we our us they their them he she his her not no nor each every
    all any some both only also than then so if when while where what which who whom whose how why can could
    will would should may might must do does did has have had one more most same other such up out about
    after before over under until again just too very
""".split())

FENCE = re.compile(r"^[ \t]{0,3}(```|~~~).*?^[ \t]{0,3}\1[^\n]*$", re.S | re.M)
_SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*$", re.M)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CODE_SPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
_DISPLAY_MATH = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\s)[^$\n]+?(?<![\s\\])\$(?!\$)|\\\(.+?\\\)")
_LINK = re.compile(r"!?\[([^\[\]]*)\]\([^()\s]*(?:\s+\"[^\"]*\")?\)")
_URL = re.compile(r"<?https?://[^\s<>)]+>?")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_ENTITY = re.compile(r"&[A-Za-z]+;|&#\d+;")
ATX_HEADING = re.compile(r"^[ \t]{0,3}(#{1,6})(?:[ \t]+|$)(.*)$")


def prose(markdown: str) -> str:
    """The human-language text of a Markdown cell: code, math, URLs, HTML and solution markers removed.

    Link and image texts stay (they are read); their targets go. Line structure is kept, so
    headings can still be told from paragraphs.
    """
    text = _SOLUTION_MARKER.sub("", markdown)
    text = FENCE.sub("", text)
    text = _HTML_COMMENT.sub("", text)
    text = _CODE_SPAN.sub(" ", text)
    text = _DISPLAY_MATH.sub(" ", text)
    text = _INLINE_MATH.sub(" ", text)
    while True:
        new = _LINK.sub(r"\1", text)
        if new == text:
            break
        text = new
    text = _URL.sub(" ", text)
    text = _HTML_TAG.sub(" ", text)
    return _ENTITY.sub(" ", text)


def split_headings(text: str) -> tuple[list[str], str]:
    """``(headings, body)``: the ATX heading texts of ``text`` and everything else."""
    headings, body = [], []
    for line in text.splitlines():
        m = ATX_HEADING.match(line)
        if m:
            headings.append(m.group(2).strip().rstrip("#").strip())
        else:
            body.append(line)
    return headings, "\n".join(body)


def words(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if len(w) >= 2]


def is_bilingual_text(text: str) -> tuple[bool, str]:
    """Whether prose ``text`` has Korean and an English sentence; if not, what is missing."""
    missing = []
    if not HANGUL.search(text):
        missing.append("no Korean (Hangul) text")
    found = words(text)
    if len(found) < 3:
        missing.append(f"only {len(found)} English word(s) (need at least 3)")
    elif not any(w.lower() in FUNCTION_WORDS for w in found):
        missing.append("English words but no English sentence (no word like 'the', 'is', 'of', 'to')")
    return not missing, "; ".join(missing)


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


#: What may follow a term before its parenthesised English: nothing, the ending that makes it a modifier
#: ("사전 학습된(pretrained)"), or up to two more Korean words of a compound ("합성곱 계층(convolutional layer)"
#: glosses 합성곱 and 계층).
_GLOSS = re.compile(r"(?:된|한|하는)?(?:[ \t][\uac00-\ud7a3]+){0,2}?[ \t]?\(([^()]*)\)")


def gloss_span(term: Term, line: str, end: int) -> tuple[int, int] | None:
    """Where the parentheses that gloss a use of ``term`` ending at ``line[end]`` are (start, stop), or ``None``."""
    m = _GLOSS.match(line, end)
    if not m:
        return None
    inside = _normalise(m.group(1))
    if not any(_normalise(en) in inside for en in (term.en, *term.also)):
        return None
    return m.start(1) - 1, m.end(1) + 1


def is_glossed(term: Term, after: str) -> bool:
    """Whether the text right ``after`` a use of ``term`` gives its English in parentheses."""
    return gloss_span(term, after, 0) is not None


def glossary_problems(cells: Iterable[tuple[int, str]], terms: Sequence[Term] = GLOSSARY) -> list[tuple[int, str]]:
    """``(cell index, message)`` for every glossary problem in a notebook's Markdown ``cells`` (index, source).

    A forbidden variant may appear once on purpose, inside the gloss at its term's first use in running text
    ("계층(layer, 흔히 레이어라고도 합니다)"), so that learners know the word other material uses; anywhere else it
    is reported. The first use of a term in running text (not a heading) must be glossed ``한글(English)``.
    """
    glossed: set[str] = set()
    used_in_text: set[str] = set()  # terms already used in running text (headings do not count)
    reported: set[str] = set()
    problems: list[tuple[int, str]] = []
    for i, markdown in cells:
        text = prose(markdown)
        flagged: set[str] = set()
        for line in text.splitlines():
            heading = bool(ATX_HEADING.match(line))
            first_glosses: list[tuple[int, int, Term]] = []
            for term in terms:
                for m in re.finditer(re.escape(term.ko), line):
                    span = gloss_span(term, line, m.end())
                    if not heading and term.ko not in used_in_text:
                        used_in_text.add(term.ko)
                        if span is not None:
                            first_glosses.append((*span, term))
                    if span is not None:
                        glossed.add(term.ko)
                    elif not heading and term.ko not in glossed and term.ko not in reported:
                        reported.add(term.ko)
                        problems.append((i, f"first use of {term.ko!r} in this notebook's prose needs its "
                                            f"English: write '{term}' here (or at an earlier use)"))
            for term in terms:
                for bad in term.forbidden:
                    for m in re.finditer(re.escape(bad), line):
                        mention = any(t is term and lo < m.start() and m.end() < hi for lo, hi, t in first_glosses)
                        if not mention and bad not in flagged:
                            flagged.add(bad)
                            problems.append((i, f"{bad!r} is not the course's word: write {term.ko!r} ({term}) — "
                                                f"to name the word other material uses, do it once, inside the "
                                                f"first gloss: '{term.ko}({term.en}, 흔히 {bad}라고도 합니다)' — "
                                                f"see tools/glossary.py"))
    return problems


_H1_HTML = re.compile(r"<h1[\s>]", re.I)
_SETEXT_H1 = re.compile(r"^[ \t]{0,3}=+[ \t]*$")


def h1_lines(markdown: str) -> list[str]:
    text = FENCE.sub("", markdown)
    found: list[str] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = ATX_HEADING.match(line)
        if m and len(m.group(1)) == 1:
            found.append(line.strip())
        elif _SETEXT_H1.match(line) and i > 0 and lines[i - 1].strip() and "|" not in lines[i - 1]:
            found.append(f"{lines[i - 1].strip()} / {line.strip()}")
    found += [m.group(0) for m in _H1_HTML.finditer(text)]
    return found
