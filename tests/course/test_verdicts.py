"""The one rule for check cells (tools/verdicts.py) that nbval's runs and the offline lesson runs share."""

from __future__ import annotations

import pytest

from tools.verdicts import check_cell_problem
from vgg_teach import checks as feedback
from vgg_teach.checks import FAILED_MARK, PASSED_MARK, PENDING_MARK


def out(*texts: str) -> list[dict]:
    return [{"output_type": "stream", "name": "stdout", "text": t} for t in texts]


@pytest.mark.parametrize(("folder", "outputs", "wrong"), [
    ("solutions", out(f"{PASSED_MARK}: 잘했습니다"), False),
    ("solutions", out(f"{PENDING_MARK}: train_step"), True),
    ("solutions", out(f"{FAILED_MARK}: shape", f"{PASSED_MARK}: later"), True),  # the first mark is the verdict
    ("solutions", out("no verdict printed"), True),
    ("lessons", out(f"{PENDING_MARK}: 아직"), False),
    ("lessons", out(f"{FAILED_MARK}: 다시"), False),
    ("lessons", out(f"{PENDING_MARK}: part 1", f"{PASSED_MARK}: part 2"), True),  # any ✅ in a stub's check
    ("lessons", out("nothing"), True),
])
def test_the_rule(folder, outputs, wrong):
    assert (check_cell_problem(folder, outputs) is not None) is wrong


def test_a_rendered_check_result_is_read_from_its_html_too():
    result = feedback.CheckResult("demo")
    result.todo("아직 쓰지 않았습니다", "not written yet")
    html = [{"output_type": "display_data", "data": {"text/html": result._repr_html_()}}]
    assert check_cell_problem("lessons", html) is None
    assert check_cell_problem("solutions", html) is not None
