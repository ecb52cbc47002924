"""Project settings: https://docs.kedro.org/en/stable/configure/configuration_basics/"""

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment (conf/test, conf/accurate) overrides only the nested keys it sets.
    "merge_strategy": {"parameters": "soft"},
}
