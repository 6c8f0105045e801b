"""One English spelling for the course's prose: US English, as PyTorch's and torchvision's documentation write it.

The API already speaks it (``nn.BatchNorm2d`` is "batch normalization", ``transforms.Normalize``), and so
does the glossary. :mod:`tools.nblint`'s ``spelling`` rule reports every British form listed here in the
Markdown prose of a notebook and in the comments and strings of its code cells (identifiers and `code spans`
are not prose: names such as ``centre_box`` keep their spelling). :func:`uk_spellings` finds them; :data:`UK_TO_US`
is the list, built from word stems so that every inflection is covered.
"""

from __future__ import annotations

import re

__all__ = ["UK_TO_US", "uk_spellings"]

#: -ise verbs whose British forms (-ise, -ised, -ising, -isation …) become -ize in US English.
_IZE_STEMS = (
    "normal", "renormal", "initial", "summar", "regular", "local", "recogn", "organ", "optim", "visual",
    "standard", "minim", "maxim", "util", "real", "general", "parametr", "serial", "custom", "categor",
    "special", "memor", "token", "vector", "random", "linear", "quant", "stabil", "character", "emphas",
    "priorit", "synchron", "author", "legal", "modern", "capital", "critic", "apolog", "final", "neutral",
    "hypothes",
)
_IZE_SUFFIXES = {"ise": "ize", "ises": "izes", "ised": "ized", "ising": "izing", "isation": "ization",
                 "isations": "izations", "iser": "izer", "isers": "izers"}

#: -our words (colour → color): the stem, then the endings they take.
_OUR_STEMS = ("col", "behavi", "fav", "hon", "neighb", "lab", "flav", "harb", "hum", "rum", "vap", "vig",
              "sav", "endeav", "arm")
_OUR_ENDINGS = ("our", "ours", "oured", "ouring", "ourful", "ourable", "ourite", "ourites", "ourhood",
                "ourhoods", "ourless")

#: Other words, with their inflections where they have them.
_OTHER = {
    "centre": "center", "centres": "centers", "centred": "centered", "centring": "centering",
    "fibre": "fiber", "fibres": "fibers", "litre": "liter", "litres": "liters", "metre": "meter",
    "metres": "meters", "theatre": "theater", "calibre": "caliber",
    "grey": "gray", "greys": "grays", "greyed": "grayed", "greyscale": "grayscale", "greyish": "grayish",
    "learnt": "learned",
    "modelled": "modeled", "modelling": "modeling", "labelled": "labeled", "labelling": "labeling",
    "travelled": "traveled", "travelling": "traveling", "cancelled": "canceled", "cancelling": "canceling",
    "signalled": "signaled", "signalling": "signaling", "levelled": "leveled", "levelling": "leveling",
    "fuelled": "fueled", "tunnelled": "tunneled", "channelled": "channeled", "marshalling": "marshaling",
    "analyse": "analyze", "analysed": "analyzed", "analysing": "analyzing", "paralyse": "paralyze",
    "catalyse": "catalyze", "catalogue": "catalog", "catalogues": "catalogs", "programme": "program",
    "programmes": "programs", "licence": "license", "licences": "licenses", "defence": "defense",
    "offence": "offense", "whilst": "while", "amongst": "among", "artefact": "artifact",
    "artefacts": "artifacts", "sceptical": "skeptical", "fulfil": "fulfill", "skilful": "skillful",
    "enrol": "enroll", "aluminium": "aluminum", "tyre": "tire", "tyres": "tires", "cheque": "check",
    "practise": "practice", "practised": "practiced", "practising": "practicing",
}


def _table() -> dict[str, str]:
    table = dict(_OTHER)
    for stem in _IZE_STEMS:
        table.update({stem + uk: stem + us for uk, us in _IZE_SUFFIXES.items()})
    for stem in _OUR_STEMS:
        table.update({stem + end: stem + "or" + end[3:] for end in _OUR_ENDINGS})
    return table


#: British form → US form, lower case.
UK_TO_US: dict[str, str] = _table()

_WORD = re.compile(r"[A-Za-z]+")


def uk_spellings(text: str) -> list[tuple[str, str]]:
    """``(british, us)`` for each British spelling in ``text``, in order of first appearance, each once."""
    found: dict[str, str] = {}
    for m in _WORD.finditer(text):
        word = m.group(0)
        us = UK_TO_US.get(word.lower())
        if us is not None and word not in found:
            found[word] = us.capitalize() if word[0].isupper() else us
    return list(found.items())
