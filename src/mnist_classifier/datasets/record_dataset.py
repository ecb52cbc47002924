"""``RecordDataset``: a JSON file that holds one Pydantic model, loaded as that model.

kedro-datasets' ``json.JSONDataset`` loads and saves plain dicts, so a record saved by
one node would reach the next node, a hook or a script as a dict whose keys each of them
spells again. This dataset keeps the file the same JSON and hands over the model:
``model_dump(mode="json")`` on save, ``model_validate`` on load, so a file that does not
match the model fails its load with the field that is wrong.
"""

from __future__ import annotations

from typing import Any

from kedro.io.core import DatasetError
from kedro.utils import load_obj
from kedro_datasets.json import JSONDataset
from pydantic import BaseModel


class RecordDataset(JSONDataset):
    """A JSON file holding one record of the Pydantic model ``record``.

    Example catalog entry (inside an ``AtomicDataset``, which versions it):

    ```yaml
    metrics:
      type: mnist_classifier.datasets.AtomicDataset
      dataset:
        type: mnist_classifier.datasets.RecordDataset
        record: mnist_classifier.classifier.Evaluation
        save_args: {indent: 2}
      filepath: data/08_reporting/mnist/metrics.json
      versioned: true
    ```
    """

    def __init__(self, *, record: str | type[BaseModel], **kwargs: Any) -> None:
        """Creates the dataset.

        Args:
            record: The Pydantic model, or its import path.
            **kwargs: ``json.JSONDataset``'s arguments (``filepath``, ``save_args``...).

        Raises:
            DatasetError: If ``record`` is not a Pydantic model.
        """
        model = load_obj(record) if isinstance(record, str) else record
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise DatasetError(
                f"RecordDataset for '{kwargs.get('filepath')}': 'record' must name a "
                f"Pydantic model, got {record!r}."
            )
        self._record = model
        super().__init__(**kwargs)

    def load(self) -> BaseModel:
        return self._record.model_validate(super().load())

    def save(self, data: BaseModel) -> None:
        if not isinstance(data, self._record):
            raise DatasetError(
                f"RecordDataset for '{self._filepath}' saves a "
                f"{self._record.__name__}, got {type(data).__name__}."
            )
        super().save(data.model_dump(mode="json"))

    def _describe(self) -> dict[str, Any]:
        return super()._describe() | {"record": self._record.__name__}
