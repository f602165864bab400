"""What the CLI tests share: run ``drugforge`` in-process and check one-line errors."""

from __future__ import annotations

import pytest

from drugforge.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``drugforge ARGV``."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, text: str) -> None:
    """The bad-input contract: exit code 2 and one ``drugforge: error:`` line containing ``text``."""
    assert code == 2, err
    assert err.startswith("drugforge: error: ") and err.count("\n") == 1, err
    assert text in err, err
