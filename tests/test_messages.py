import pytest

from mnist_classifier.messages import first_line


@pytest.mark.parametrize(
    "error, line",
    [
        (ValueError("bad file\n  at line 3"), "bad file"),
        (ValueError("\n  spaced out  \n"), "spaced out"),
        (OSError(), "OSError"),  # no message: the type says what it was
        (ValueError("x" * 300), "x" * 200),
    ],
)
def test_an_error_is_told_in_its_first_line(error, line):
    assert first_line(error) == line
