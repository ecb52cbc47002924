"""The data_processing pipeline: raw IDX arrays in, model-ready arrays out."""

from kedro.pipeline import Node, Pipeline

from .nodes import prepare_model_input, split_validation_set, validate_digits


def create_pipeline(**kwargs) -> Pipeline:
    """Validate, split, then scale and one-hot encode each part."""
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
                ["validated_test_images", "validated_test_labels"],
                name="validate_test_digits",
            ),
            Node(
                split_validation_set,
                [
                    "validated_train_images",
                    "validated_train_labels",
                    "params:data_processing",
                ],
                [
                    "split_train_images",
                    "split_train_labels",
                    "split_validation_images",
                    "split_validation_labels",
                ],
                name="split_validation_set",
            ),
            Node(
                prepare_model_input,
                ["split_train_images", "split_train_labels", "params:dataset"],
                ["train_x", "train_y"],
                name="prepare_train_input",
            ),
            Node(
                prepare_model_input,
                [
                    "split_validation_images",
                    "split_validation_labels",
                    "params:dataset",
                ],
                ["validation_x", "validation_y"],
                name="prepare_validation_input",
            ),
            Node(
                prepare_model_input,
                ["validated_test_images", "validated_test_labels", "params:dataset"],
                ["test_x", "test_y"],
                name="prepare_test_input",
            ),
        ]
    )
