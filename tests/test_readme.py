"""The README's interactive example runs as written (doctest), and its commands exist."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_session_runs_as_shown() -> None:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(README.read_text(), {}, "README.md", str(README), 0)
    assert test.examples, "the README lost its >>> session"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.IGNORE_EXCEPTION_DETAIL)
    runner.run(test)
    assert runner.failures == 0


def test_the_two_commands_exist_and_ci_calls_the_test_one() -> None:
    root = README.parent
    text = README.read_text()
    assert "./scripts/demo" in text and "./scripts/test" in text
    for script in ("scripts/demo", "scripts/test", ".ci/run"):
        assert os.access(root / script, os.X_OK), script
    assert "./scripts/test" in (root / ".ci/run").read_text()
