"""The rules of :mod:`tools.nblint`, by id, with what each checks (``python -m tools.nblint --rules``)."""

__all__ = ["RULES"]

#: rule id → what it checks (``python -m tools.nblint --rules``).
RULES: dict[str, str] = {
    "json": "the file is a readable nbformat 4 notebook",
    "canonical": "the file text equals tools.authoring.canonical() of itself (nbformat 4.5, indent 1, "
                 "sorted keys, trailing newline) — run `python -m tools.authoring build`",
    "cell-ids": "every cell has an id, ids are unique, and a lesson has exactly its solution's ids, in order",
    "pair": "every solutions/NN_name.ipynb has lessons/NN_name.ipynb and vice versa",
    "tags": "exactly one Markdown cell tagged 'badges' and one code cell tagged 'setup' (their content is "
            "generated); every 'exercise' cell holds a solution region (solutions/) or its stub (lessons/)",
    "h1": "exactly one H1 heading in the whole notebook, in its first cell (the title)",
    "badge": "an Open-in-Colab badge, and in the badges cell an Open-in-Kaggle link and a GitHub link, all "
             "pointing at this very file (lessons/… or solutions/…, branch main) of the repository in pyproject.toml",
    "outputs": "lessons/ carry no outputs and no execution counts",
    "kernelspec": "metadata.kernelspec is the python3 kernel",
    "execution-counts": "solutions/ were run top to bottom once: code cells counted 1, 2, 3 … with none unexecuted",
    "error-output": "no error output stored in solutions/",
    "gpu": "metadata.accelerator == 'GPU' and metadata.colab.gpuType exactly when metadata.vgg_teach.gpu is "
           "true; the lessons of GPU_LESSONS (05 training, 07 several GPUs) ask for a GPU",
    "bilingual": "every Markdown prose cell has Korean (Hangul) and an English sentence (≥ 3 English words, "
                 "one of them a common function word such as 'the', 'is', 'of'); every heading has both "
                 "languages (code, URLs and LaTeX do not count)",
    "glossary": "Markdown prose uses the course glossary (tools.glossary): no forbidden variant (except once, "
                "inside the gloss of the term's first use: 계층(layer, 흔히 레이어라고도 합니다)), and the first use "
                "of a term in running text is written 한글(English)",
    "spelling": "prose (Markdown, and a code cell's comments and strings) uses US English spelling, as PyTorch's "
                "documentation does: no British form from tools.spelling (normalise, colour, centre, initialised …)",
}
