"""One set of real services and one Chromium per test module.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright; no browser is ever downloaded
(never `playwright install`). Without it the tests skip, saying so; CI installs it."""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import scenario
from tests.support import ROOT, ServiceProcess, wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# ORG1: 7 episodes (2 discharged, 2 more in treatment, 3 triaged only); ORG2: 3 in treatment.
EPISODES = {"ORG1": [4, 4, 3, 3, 1, 1, 1], "ORG2": [3, 3, 3]}


@pytest.fixture(scope="module")
def system() -> Iterator[dict[str, ServiceProcess]]:
    """Referral, journey and reporting as real processes, with the scenario recorded through
    their APIs and the reporting service caught up with it."""
    folder = Path(tempfile.mkdtemp(prefix="tj-browser-"))
    env = {"TJ_DATA_DIR": str(folder), "TJ_FOLLOW_INTERVAL_SECONDS": "0.1"}
    processes = {name: ServiceProcess(name, env) for name in ("referral", "journey", "reporting")}
    urls = {
        "TJ_REFERRAL_URL": processes["referral"].url,
        "TJ_JOURNEY_URL": processes["journey"].url,
    }
    for process in processes.values():
        process.env.update(urls)
    try:
        for process in processes.values():
            process.start()
        scenario.record(processes["referral"].url, processes["journey"].url, EPISODES)
        wait_until(lambda: scenario.caught_up(processes["reporting"].url), timeout=60)
        yield processes
    finally:
        for process in processes.values():
            process.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(
            "no Chromium at /usr/bin/chromium (apt-get install -y chromium; make test and "
            ".ci/run install it)"
        )
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
