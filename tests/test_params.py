"""Rules of the parameter schemas that no node's test covers."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mnist_classifier.params import DatasetParams


@pytest.mark.parametrize(
    "names", [["a", "b", "a"], ["a", " "], ["accuracy", "b"], ["macro avg", "b"]]
)
def test_class_names_that_would_share_a_report_row_are_refused(names):
    with pytest.raises(ValidationError, match=r"class_names\n.*give each class a name"):
        DatasetParams(name="x", class_names=names)


def test_distinct_class_names_are_kept_as_given():
    names = ["T-shirt/top", "Trouser", "Accuracy"]
    assert DatasetParams(name="x", class_names=names).class_names == names
