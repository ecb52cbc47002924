"""The TensorFlow set-up hook applies params:tensorflow before TensorFlow starts."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from mnist_classifier.hooks import TensorFlowSetupHook


@pytest.fixture
def clean_environment(monkeypatch):
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    return monkeypatch


def run_hook(params: dict) -> None:
    context = SimpleNamespace(config_loader={"parameters": params})
    TensorFlowSetupHook().after_context_created(context)


@pytest.mark.parametrize(("cores", "expected"), [(1, "1"), (2, "1"), (16, None)])
def test_inter_op_threads_follow_the_core_count_by_default(
    clean_environment, cores, expected
):
    clean_environment.setattr("mnist_classifier.params.available_cores", lambda: cores)
    run_hook({"tensorflow": {"inter_op_threads": None}})
    assert os.environ.get("TF_NUM_INTEROP_THREADS") == expected


def test_the_parameter_and_then_the_environment_win(clean_environment):
    run_hook({"tensorflow": {"inter_op_threads": 3}})
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "3"
    clean_environment.setenv("TF_NUM_INTEROP_THREADS", "5")
    run_hook({"tensorflow": {"inter_op_threads": 3}})
    assert os.environ["TF_NUM_INTEROP_THREADS"] == "5"


def test_a_bad_value_is_refused_naming_the_field(clean_environment):
    with pytest.raises(ValueError, match="inter_op_threads"):
        run_hook({"tensorflow": {"inter_op_threads": 0}})
