"""TensorFlow's thread pools, sized for the machine before TensorFlow starts.

TensorFlow reads them from the environment when it is first imported, which happens in
the first node that trains or predicts, after this hook has run. Its start-up notices
are hidden where it is imported (``mnist_classifier.startup.import_keras``).
"""

from __future__ import annotations

import logging
import os

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl

from mnist_classifier.params import TensorFlowParams

logger = logging.getLogger(__name__)


class TensorFlowSetupHook:
    """Applies ``params:tensorflow`` before any node runs.

    With one inter-op thread (the default up to 2 cores), TensorFlow runs the ops of a
    training step one after another, each on every core, instead of several at once
    fighting over two cores (docs/experiments.md). Variables already in the environment
    win over the parameters.
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Sets the variables TensorFlow reads when it starts."""
        # Its own group from the configuration: ``context.params`` would validate every
        # pipeline's parameters, not only this run's.
        parameters = context.config_loader["parameters"]
        params = TensorFlowParams.model_validate(parameters.get("tensorflow", {}))
        threads = params.inter_op_threads_for()
        if threads is not None:
            os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(threads))
