"""The data_processing pipeline: raw IDX arrays in, checked images and targets out."""

from kedro.pipeline import Node, Pipeline

from .nodes import one_hot_labels, split_validation_set, validate_digits

#: Tag of the nodes that make the test set; the evaluate pipeline runs just these.
TEST_SET = "test_set"


def create_pipeline(**kwargs) -> Pipeline:
    """Validate, split off the validation set, then one-hot encode the labels to fit."""
    return Pipeline(
        [
            Node(
                validate_digits,
                ["raw_train_images", "raw_train_labels", "params:dataset"],
                ["validated_train_images", "validated_train_labels"],
                name="validate_train_digits",
            ),
            Node(
                validate_digits,
                ["raw_test_images", "raw_test_labels", "params:dataset"],
                ["test_images", "test_labels"],
                name="validate_test_digits",
                tags=[TEST_SET],
            ),
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
