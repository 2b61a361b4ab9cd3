"""Fixtures for driving JupyterLab in headless Chromium, as a person would.

One JupyterLab server (from this environment, on 127.0.0.1 with a token) and
one Chromium serve every browser test of the session; each test gets a fresh
browser context and copies its notebook into the server's own temporary root.
Chromium is Debian's (`scripts/install-browser.sh` installs it); Playwright
drives it and never downloads a browser of its own. The tests skip, saying
why, only when /usr/bin/chromium is missing.

Screenshots and timings go to ``test-output/browser/`` at the project root;
the session's summary names the folder.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest

from llmbench import config
from llmbench.jupyter_setup import KERNEL_NAME
from llmbench.lab import LabServer, start_lab

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = PROJECT_ROOT / "notebooks"
OUTPUT_DIR = PROJECT_ROOT / "test-output" / "browser"
CHROMIUM = Path("/usr/bin/chromium")

#: Chromium as this machine runs it: root needs --no-sandbox, there is no GPU,
#: and the closed network refuses Google's background services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: A laptop screen, with JupyterLab's file browser left open.
VIEWPORT = {"width": 1280, "height": 800}

#: Environment variables that could carry a provider's credentials.
KEY_MARKERS = ("API_KEY", "_TOKEN", "SECRET", "ACCESS_KEY")

#: True when every code cell shows an execution count (none queued or running).
ALL_CELLS_RAN = """() => {
  const prompts = [...document.querySelectorAll(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Name the folder of screenshots when a browser test wrote any."""
    if OUTPUT_DIR.is_dir() and any(OUTPUT_DIR.glob("*.png")):
        terminalreporter.write_line(f"browser screenshots and timings: {OUTPUT_DIR}")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; skips the browser tests when it is not installed."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(
            f"{CHROMIUM} is missing: run `bash scripts/install-browser.sh` as root "
            "(it installs Debian's chromium package) to run the browser tests"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """``test-output/browser/`` at the project root (git-ignored)."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def lab_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state folder of the server's kernels (cache, runs, Phoenix)."""
    return tmp_path_factory.mktemp("lab-state")


@pytest.fixture(scope="session")
def lab(
    chromium: Path, lab_state: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1 serving a temporary folder; stopped at the end."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not any(marker in name for marker in KEY_MARKERS)
    }
    env.update(config.OFFLINE_DEFAULTS)
    env["LLMBENCH_STATE_DIR"] = str(lab_state)
    env["LLMBENCH_PROJECT_ROOT"] = str(PROJECT_ROOT)
    root = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")

    server = start_lab(root, env=env, home=home)
    kernels = server.api("api/kernelspecs")["kernelspecs"]
    assert KERNEL_NAME in kernels, "no `llmbench` kernel: run `make setup`"
    yield server
    server.stop()

    assert not server.running(), "JupyterLab is still running after stop()"


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    """Headless Debian Chromium under Playwright (a fresh temporary profile).

    Module-scoped on purpose: Playwright's sync API keeps an asyncio loop
    running on the main thread while it is open, and every later test that
    calls asyncio.run() would find it.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@dataclass
class LabPage:
    """A browser tab on JupyterLab, with the steps a person takes in it.

    Attributes:
        page: The Playwright page.
        lab: The server it talks to.
        output_dir: Where screenshots go.
        requests: Every URL the page asked for.
        page_errors: Uncaught JavaScript errors on the page.
    """

    page: Page
    lab: LabServer
    output_dir: Path
    requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def panel(self) -> Locator:
        """The notebook in front (JupyterLab hides the others)."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    def copy_notebook(self, name: str, parameters: dict[str, Any] | None = None) -> str:
        """Put `notebooks/<name>` in the server's root, with `parameters` set.

        The parameters go in a cell after the ``parameters`` cell, as
        papermill injects them; returns the notebook's path on the server.
        """
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        if parameters:
            at = next(
                i
                for i, cell in enumerate(nb.cells)
                if "parameters" in cell.metadata.get("tags", [])
            )
            source = "\n".join(
                f"{key} = {value!r}" for key, value in parameters.items()
            )
            injected = nbformat.v4.new_code_cell(source)
            injected.metadata["tags"] = ["injected-parameters"]
            nb.cells.insert(at + 1, injected)
        nbformat.write(nb, self.lab.root_dir / name)
        return name

    def open_notebook(self, path: str, timeout_s: float = 60.0) -> float:
        """Open a notebook and wait until its kernel is idle; returns seconds.

        The notebook names the ``llmbench`` kernel, so JupyterLab starts it
        without asking; a "Select Kernel" dialog fails the test.
        """
        started = time.monotonic()
        workspace = re.sub(r"\W", "-", path)
        self.page.goto(self.lab.lab_url(path, workspace=workspace))
        self.panel.wait_for(timeout=timeout_s * 1000)
        kernel = self._wait_for_kernel(path, started + timeout_s)
        assert kernel["name"] == KERNEL_NAME
        self.page.get_by_text(re.compile(r"\| Idle$")).first.wait_for()

        assert self.page.locator(".jp-Dialog").count() == 0, self._dialog_text()
        return time.monotonic() - started

    def run_all(self) -> float:
        """Choose Run > Run All Cells in the menu bar; returns the click's time."""
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        return time.monotonic()

    def wait_until_all_ran(self, timeout_s: float = 90.0) -> None:
        """Wait until every code cell shows an execution count."""
        self.page.wait_for_function(ALL_CELLS_RAN, timeout=timeout_s * 1000)

    def save(self) -> None:
        """Save the notebook with the toolbar button and wait until it is saved."""
        self.panel.locator(
            ".jp-NotebookPanel-toolbar [data-command='docmanager:save']"
        ).click()
        self.page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(
            state="detached", timeout=15_000
        )

    def error_outputs(self, path: str) -> list[str]:
        """Errors the notebook shows: error outputs and tracebacks on stderr.

        Reads both the saved notebook (call `save` first) and the page, so an
        error is found whether or not its cell is scrolled into view.
        """
        nb = self.lab.api(f"api/contents/{path}?content=1")["content"]
        found = [
            f"{output['ename']}: {output['evalue']}"
            for cell in nb["cells"]
            if cell["cell_type"] == "code"
            for output in cell["outputs"]
            if output["output_type"] == "error"
        ]
        stderr = self.panel.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).all_text_contents()
        found += [
            text for text in stderr if re.search(r"Traceback|Error|Exception", text)
        ]
        return found

    def widgets_shown_as_text(self) -> list[str]:
        """Outputs that show a widget's text form instead of the widget."""
        texts = self.panel.locator(".jp-OutputArea-output").all_text_contents()
        pattern = re.compile(
            r"^\s*(VBox|HBox|Dropdown|HTML|FloatProgress)\(|Error displaying widget"
            r"|Loading widget\.\.\."
        )
        return [text[:120] for text in texts if pattern.search(text)]

    def overflow_px(self, locator: Locator) -> float:
        """How far anything inside `locator` reaches past its right edge, in px."""
        return float(
            locator.evaluate(
                """(box) => {
                  const right = box.getBoundingClientRect().right;
                  let worst = 0;
                  for (const el of box.querySelectorAll('*')) {
                    const r = el.getBoundingClientRect();
                    if (r.width > 0) worst = Math.max(worst, r.right - right);
                  }
                  return worst;
                }"""
            )
        )

    def outputs_overflowing(self) -> list[dict[str, Any]]:
        """Every output whose content is wider than the output area."""
        found: list[dict[str, Any]] = self.panel.evaluate(
            """(panel) => [...panel.querySelectorAll('.jp-OutputArea-output')]
              .map((el, index) => ({index, mime: el.getAttribute('data-mime-type'),
                                    content_px: el.scrollWidth, area_px: el.clientWidth,
                                    text: (el.querySelector('caption') || el)
                                            .textContent.trim().slice(0, 80)}))
              .filter(o => o.content_px > o.area_px + 1)"""
        )
        return found

    def screenshot(self, name: str, locator: Locator | None = None) -> Path:
        """Save a PNG of the page (or of `locator`) under the output folder."""
        path = self.output_dir / f"{name}.png"
        if locator is None:
            self.page.screenshot(path=str(path))
        else:
            locator.screenshot(path=str(path))
        return path

    def foreign_requests(self) -> list[str]:
        """Requests the page made anywhere but the local server."""
        return [
            url
            for url in self.requests
            if not url.startswith((self.lab.url, "data:", "blob:"))
        ]

    def page_config(self) -> dict[str, Any]:
        """The settings the server gave the page (JupyterLab's page config)."""
        text = self.page.locator("#jupyter-config-data").text_content() or "{}"
        config_data: dict[str, Any] = json.loads(text)
        return config_data

    def record(self, name: str, facts: dict[str, Any]) -> Path:
        """Save a test's measurements as ``<name>.json`` beside its screenshots."""
        path = self.output_dir / f"{name}.json"
        path.write_text(json.dumps(facts, indent=2) + "\n")
        return path

    def _wait_for_kernel(self, path: str, deadline: float) -> dict[str, Any]:
        """The notebook's kernel once it is idle and the page is connected."""
        while time.monotonic() < deadline:
            for session in self.lab.api("api/sessions"):
                kernel = session.get("kernel") or {}
                if (
                    session["path"] == path
                    and kernel.get("execution_state") == "idle"
                    and kernel.get("connections", 0) > 0
                ):
                    return dict(kernel)
            assert self.page.locator(".jp-Dialog").count() == 0, self._dialog_text()
            time.sleep(0.2)
        raise AssertionError(f"no idle kernel for {path}: {self._dialog_text()}")

    def _dialog_text(self) -> str:
        dialogs = self.page.locator(".jp-Dialog")
        return "dialog shown: " + " | ".join(dialogs.all_inner_texts())


@pytest.fixture
def lab_page(browser: Browser, lab: LabServer, output_dir: Path) -> Iterator[LabPage]:
    """A fresh browser context and tab on the session's JupyterLab."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    driver = LabPage(page=page, lab=lab, output_dir=output_dir)
    page.on("request", lambda request: driver.requests.append(request.url))
    page.on("pageerror", lambda error: driver.page_errors.append(str(error)))
    yield driver
    context.close()

    # Shut down the test's kernels, so the next test starts from a quiet server.
    for session in lab.api("api/sessions"):
        lab.api(f"api/sessions/{session['id']}", method="DELETE")
