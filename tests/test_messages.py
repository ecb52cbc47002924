import pytest

from mnist_classifier.messages import first_line, latest_model


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


def test_a_script_says_which_model_inference_now_reads():
    said = latest_model("2026-12-06T01.20.31.875Z", "accurate, seed 43")

    assert "is now 2026-12-06T01.20.31.875Z (accurate, seed 43)" in said
    assert "`--load-versions classifier:<version>` reads another" in said
