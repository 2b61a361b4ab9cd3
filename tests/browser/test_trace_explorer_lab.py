"""The trace explorer notebook in JupyterLab: run it, look at Phoenix inside it.

The notebook is pointed at the test session's Phoenix server and a project of
its own, so it makes its sample traces there first. The check is what a person
sees: the inline frame loads Phoenix's UI on that project, with its traces
listed, and Phoenix's REST API answers for the same project.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from llmbench.phoenix import PhoenixHandle

if TYPE_CHECKING:
    from conftest import LabPage

pytest_plugins = ["phoenix_fixtures"]

NOTEBOOK = "trace_explorer.ipynb"


def phoenix_get(url: str) -> Any:
    """GET a Phoenix REST endpoint and decode its JSON (no proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.browser
@pytest.mark.phoenix
def test_the_inline_phoenix_view_shows_the_projects_traces(
    lab_page: LabPage, phoenix_server: PhoenixHandle
) -> None:
    page = lab_page.page
    project = f"lab-{uuid.uuid4().hex[:8]}"
    path = lab_page.copy_notebook(
        NOTEBOOK, {"phoenix_url": phoenix_server.url, "project": project}
    )
    open_s = lab_page.open_notebook(path)

    clicked = lab_page.run_all()
    frame_element = page.locator(".jp-OutputArea-output iframe")
    frame_element.wait_for(state="attached", timeout=120_000)
    frame_s = time.monotonic() - clicked
    lab_page.wait_until_all_ran(timeout_s=120)
    all_ran_s = time.monotonic() - clicked
    frame_element.scroll_into_view_if_needed()
    phoenix = frame_element.content_frame
    phoenix.get_by_text(project).first.wait_for(timeout=30_000)
    stored = phoenix_get(f"{phoenix_server.url}/v1/projects/{project}/spans?limit=50")
    names = {span["name"] for span in stored["data"]}
    rows = phoenix.get_by_role("row")
    listed = rows.filter(has_text=sorted(names)[0])
    listed.first.wait_for(timeout=30_000)
    ui_s = time.monotonic() - clicked
    lab_page.screenshot("trace_explorer-phoenix")
    lab_page.screenshot("trace_explorer-phoenix-frame", frame_element)
    lab_page.save()

    src = frame_element.get_attribute("src") or ""
    projects = phoenix_get(f"{phoenix_server.url}/v1/projects")["data"]
    ours = next(p for p in projects if p["name"] == project)
    assert src.startswith(f"{phoenix_server.url}/projects/{ours['id']}")
    assert frame_element.bounding_box()["height"] >= 500
    assert lab_page.overflow_px(frame_element.locator("xpath=..")) <= 0.5
    assert stored["data"]
    assert listed.count() >= 1
    assert lab_page.error_outputs(path) == []
    assert lab_page.widgets_shown_as_text() == []
    assert lab_page.page_errors == []
    assert [
        url
        for url in lab_page.foreign_requests()
        if not url.startswith(phoenix_server.url)
    ] == []
    lab_page.record(
        "trace_explorer",
        {
            "open_to_idle_kernel_s": round(open_s, 2),
            "run_all_to_frame_s": round(frame_s, 2),
            "run_all_to_last_cell_s": round(all_ran_s, 2),
            "run_all_to_phoenix_traces_shown_s": round(ui_s, 2),
            "outputs_wider_than_the_notebook": lab_page.outputs_overflowing(),
        },
    )
