"""kedro-viz as a person sees it: the real `kedro viz run` page in headless Chromium.

Marked ``browser`` (tests/browser.py says when it runs). Everything runs in a temporary
copy of the project.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.project import configure_project
from PIL import Image
from playwright.sync_api import BrowserContext, Page, sync_playwright

from mnist_classifier.pipeline_registry import register_pipelines
from mnist_classifier.settings import CONFIG_LOADER_ARGS
from tests.browser import CHROMIUM_ARGS, find_chromium
from tests.servers import free_port, left_running, stop_group, wait_until_up

pytestmark = pytest.mark.browser

KEDRO = Path(sys.executable).with_name("kedro")
# What a person would switch on in kedro-viz's settings, where it keeps them: names
# in plain English ("Train Model"), no pop-up tour of new features.
VIZ_SETTINGS = "{isPrettyName: true, showFeatureHints: false}"
GRAPH_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def chromium() -> Path:
    return find_chromium()


@pytest.fixture
def expected(project_copy: Path) -> dict[str, dict[str, str]]:
    """For each registered pipeline: every node, dataset and parameter kedro-viz should
    draw, mapped to its kind ("task", "data" or "parameters")."""
    configure_project("mnist_classifier")
    return {
        name: {node.name: "task" for node in pipeline.nodes}
        | {
            dataset: "parameters" if dataset.startswith("params:") else "data"
            for dataset in pipeline.datasets()
        }
        for name, pipeline in register_pipelines().items()
    }


@pytest.fixture
def catalog_config(project_copy: Path) -> dict[str, dict]:
    """The catalog entries (type, kedro-viz layer) of the environment kedro-viz shows,
    read as the project reads them (its resolvers: ``${folder_key:...}``)."""
    return OmegaConfigLoader(
        conf_source=str(project_copy / "conf"), **CONFIG_LOADER_ARGS
    )["catalog"]


@pytest.fixture
def viz_url(project_copy: Path) -> Iterator[str]:
    """Starts `kedro viz run` on a free loopback port; stops it by its process id."""
    port = free_port()
    log = (project_copy / "kedro-viz.log").open("w")
    server = subprocess.Popen(
        [
            KEDRO,
            "viz",
            "run",
            "--no-browser",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the server and its workers
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(
            f"{url}/api/main", server, (project_copy / "kedro-viz.log").read_text
        )
        yield url
    finally:
        stop_group(server)
        log.close()
    assert left_running(server.pid) == []


@pytest.fixture
def browser(chromium: Path, tmp_path: Path) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile that may read file:// pages from disk."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=tmp_path / "chromium-profile",
            executable_path=chromium,
            args=[*CHROMIUM_ARGS, "--allow-file-access-from-files"],
            viewport={"width": 1600, "height": 1000},
        )
        context.add_init_script(
            f"window.localStorage.setItem('KedroViz', JSON.stringify({VIZ_SETTINGS}))"
        )
        try:
            yield context
        finally:
            context.close()


def open_pipeline(page: Page, site: str, pipeline: str, names: set[str]) -> None:
    """Opens one pipeline with nodes, datasets and parameters shown; waits for them."""
    page.goto(f"{site}?pid={pipeline}&types=nodes,datasets,parameters")
    page.wait_for_function(
        """names => {
            const drawn = new Set([...document.querySelectorAll(
                "svg .pipeline-node[data-node-fullname]")].map(
                node => node.dataset.nodeFullname));
            return names.every(name => drawn.has(name));
        }""",
        arg=sorted(names),
        timeout=GRAPH_TIMEOUT_MS,
    )


def drawn_nodes(page: Page) -> dict[str, tuple[str, str]]:
    """Each node drawn in the graph: full name -> (kind, label shown)."""
    return {
        node["name"]: (node["kind"], node["label"])
        for node in page.eval_on_selector_all(
            "svg .pipeline-node[data-node-fullname]",
            """nodes => nodes.map(node => ({
                name: node.dataset.nodeFullname,
                kind: node.dataset.nodeType,
                label: node.querySelector(".pipeline-node__text").textContent,
            }))""",
        )
    }


def words(name: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", name.lower())


def test_viz_run_shows_every_pipeline_in_plain_english(
    viz_url: str,
    browser: BrowserContext,
    expected: dict[str, dict[str, str]],
    catalog_config: dict[str, dict],
    tmp_path: Path,
):
    assert {"__default__", "data_processing", "training", "reporting", "inference"} <= (
        expected.keys()
    )
    page = browser.new_page()
    for pipeline, kinds in sorted(expected.items()):
        open_pipeline(page, f"{viz_url}/", pipeline, set(kinds))

        drawn = drawn_nodes(page)
        assert {name: kind for name, (kind, _) in drawn.items()} == kinds, pipeline
        for name, (_, label) in drawn.items():
            assert "_" not in label and words(label) == words(name), (name, label)

        layers = {
            catalog_config[name]["metadata"]["kedro-viz"]["layer"]
            for name, kind in kinds.items()
            if kind == "data" and name in catalog_config
        }
        shown = page.locator(".pipeline-layer-name").all_text_contents()
        assert set(shown) == layers and shown, pipeline

        # A dataset's details name its catalog type.
        dataset = min(
            name
            for name, kind in kinds.items()
            if kind == "data" and name in catalog_config
        )
        page.locator(f'svg .pipeline-node[data-node-fullname="{dataset}"]').click()
        details = page.locator(".pipeline-metadata")
        dataset_type = catalog_config[dataset]["type"].rsplit(".", 1)[-1]
        details.get_by_text(dataset_type).wait_for(timeout=GRAPH_TIMEOUT_MS)

        screenshot = tmp_path / f"kedro-viz-{pipeline}.png"
        page.screenshot(path=screenshot)
        with Image.open(screenshot) as image:
            assert image.size == (1600, 1000)


def test_viz_build_is_a_static_site_that_opens_from_disk(
    project_copy: Path, browser: BrowserContext, expected: dict[str, dict[str, str]]
):
    subprocess.run(
        [KEDRO, "viz", "build"], check=True, capture_output=True, timeout=300
    )
    index = project_copy / "build" / "index.html"
    assert index.is_file()

    page = browser.new_page()
    for pipeline in ["__default__", "inference"]:
        open_pipeline(page, index.as_uri(), pipeline, set(expected[pipeline]))
        assert set(drawn_nodes(page)) == set(expected[pipeline])
