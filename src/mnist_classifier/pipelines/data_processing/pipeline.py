"""The data_processing pipeline: raw IDX arrays in, checked images and targets out."""

from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from .nodes import one_hot_labels, split_validation_set, validate_digits

#: Tag of the nodes that make the test set; the evaluate pipeline runs just these.
TEST_SET = "test_set"


def create_pipeline(**kwargs) -> Pipeline:
    """Validate, split off the validation set, then one-hot encode the labels to fit."""
    return Pipeline(
        [
            _validate("train", ["validated_train_images", "validated_train_labels"]),
            _validate("test", ["test_images", "test_labels"], tags=[TEST_SET]),
            Node(
                split_validation_set,
                [
                    "validated_train_images",
                    "validated_train_labels",
                    "params:data_processing",
                ],
                [
                    "train_images",
                    "train_labels",
                    "validation_images",
                    "validation_labels",
                ],
                name="split_validation_set",
            ),
            Node(
                one_hot_labels,
                ["train_labels", "params:dataset"],
                "train_targets",
                name="encode_train_labels",
            ),
            Node(
                one_hot_labels,
                ["validation_labels", "params:dataset"],
                "validation_targets",
                name="encode_validation_labels",
            ),
        ]
    )


def _validate(split: str, outputs: list[str], tags: list[str] | None = None) -> Node:
    """``validate_digits`` on the raw ``split`` set, its errors naming its entries."""
    inputs = [f"raw_{split}_images", f"raw_{split}_labels"]
    # update_wrapper gives the partial validate_digits' name (Kedro's logs) and its
    # annotations: Kedro's parameter validation reads them with get_type_hints, which
    # a bare partial fails, and the evaluate pipeline's params:dataset would then
    # reach the node as a dict, not DatasetParams.
    named = partial(validate_digits, source=" and ".join(inputs))
    return Node(
        update_wrapper(named, validate_digits),
        [*inputs, "params:dataset"],
        outputs,
        name=f"validate_{split}_digits",
        tags=tags,
    )
