"""Make the project's environment a good Jupyter citizen; run by ``make setup``.

- Registers this environment's Python as the kernel ``llmbench`` (inside the
  environment, so papermill, nbval and JupyterLab from it all find the same
  kernel, and every notebook names it: no "Select Kernel" dialog).
- Turns off JupyterLab's news announcements, which call home.
- Keeps the Jupyter server on 127.0.0.1 unless the user says otherwise, and
  its extension manager read-only (it would otherwise search PyPI).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

KERNEL_NAME = "llmbench"
KERNEL_DISPLAY_NAME = "Python (llmbench)"


def install_kernel() -> Path:
    """Register the kernel under this environment's prefix; returns its folder."""
    from ipykernel.kernelspec import install

    return Path(
        install(
            kernel_name=KERNEL_NAME,
            display_name=KERNEL_DISPLAY_NAME,
            prefix=sys.prefix,
        )
    )


def _merge_json(path: Path, settings: dict[str, object]) -> None:
    current = json.loads(path.read_text()) if path.exists() else {}
    for key, value in settings.items():
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            current[key].update(value)
        else:
            current[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n")


def configure_jupyter() -> None:
    """Write the lab and server settings described in the module docstring."""
    etc = Path(sys.prefix) / "etc" / "jupyter"
    _merge_json(
        etc / "labconfig" / "page_config.json",
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}},
    )
    _merge_json(
        etc / "jupyter_server_config.d" / "llmbench.json",
        {
            "ServerApp": {"ip": "127.0.0.1", "open_browser": False},
            # The extension manager would search PyPI when opened.
            "LabApp": {"extension_manager": "readonly"},
        },
    )


def main() -> None:
    """Install the kernel and the settings, quietly."""
    folder = install_kernel()
    configure_jupyter()
    logger.info("kernel %s installed in %s", KERNEL_NAME, folder)


if __name__ == "__main__":
    main()
