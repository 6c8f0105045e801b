"""The course's authoring tools — for instructors and CI, never installed with the ``vgg_teach`` package.

Run from the repository root, one command each:

- ``python -m tools.authoring build|execute|check`` — generate ``lessons/`` from ``solutions/`` (:mod:`.authoring`);
- ``python -m tools.nblint`` — notebook hygiene: canonical JSON, badges, bilingual prose, glossary (:mod:`.nblint`);
- :mod:`.project` — what pyproject.toml says (URL, release, the setup cell's installs), standard library only;
- ``python -m tools.glossary`` — the glossary as a Markdown table (:mod:`.glossary`).
"""
