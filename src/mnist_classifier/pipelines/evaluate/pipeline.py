"""The evaluate pipeline: any saved model version in, the reporting pipeline's report out.

``kedro run --pipelines evaluate --load-versions classifier:<version>`` reads and checks
the test set as ``data_processing`` does, then reports on that version exactly as
``reporting`` does after training (its training curves come from the model's card). It
reuses both pipelines' nodes: nothing here can drift from what a training run reports.
"""

from kedro.pipeline import Pipeline

from mnist_classifier.pipelines import data_processing, reporting
from mnist_classifier.pipelines.data_processing.pipeline import TEST_SET


def create_pipeline(**kwargs) -> Pipeline:
    """The test set's nodes of ``data_processing``, then all of ``reporting``."""
    return (
        data_processing.create_pipeline().only_nodes_with_tags(TEST_SET)
        + reporting.create_pipeline()
    )
