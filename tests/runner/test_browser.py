"""The report in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
driven by selenium) with the network off opens a generated ``report.html`` and finds that the
page requests nothing, shows every claim with its verdict, draws every figure at a non-zero size,
links every claim row to its section, and logs no console error. A screenshot is kept as a test
artefact (``$PGDLAB_ARTIFACTS``, default ``reports/test-artifacts/``).

``.ci/run`` installs Chromium and its driver; where they are missing the test is skipped with
the reason (a developer machine without a browser).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from runner import cli, store

from .test_cli_e2e import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run)"
)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    spec = ROOT / "specs" / "polynomial_regression.yaml"  # claims of every outcome, figures
    code = cli.main(["run", str(spec), "--profile", "smoke", "--out", str(out)])
    assert code in (cli.EXIT_OK, cli.EXIT_CLAIM_FAILED)
    (run_dir,) = store.run_dirs(out)
    return run_dir / "report.html"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,2000",
        # the network is off: every host resolves to nothing, and no proxy is reachable
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=http://127.0.0.1:9",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    from selenium.common.exceptions import WebDriverException

    try:
        driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    except WebDriverException as error:  # the machine's browser, not the report, is broken
        pytest.skip(f"headless Chromium did not start: {error.msg}")
    yield driver
    driver.quit()


def test_report_in_headless_chromium(report, browser):
    from selenium.webdriver.common.by import By

    url = report.resolve().as_uri()
    browser.get(url)

    # 1. no request beyond the file itself (inline SVG, inline CSS, no scripts, no fonts)
    requests = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    assert requests and all(r == url or r.startswith(("data:", "about:")) for r in requests), (
        requests
    )

    # 2. every claim of claims.json has a row with its verdict and a section
    claims = json.loads((report.parent / "claims.json").read_text())["claims"]
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.claim-row")
    by_id = {r.get_attribute("data-claim"): r for r in rows}  # failures are listed first
    assert sorted(by_id) == sorted(c["id"] for c in claims) and len(rows) == len(claims)
    for claim in claims:
        row = by_id[claim["id"]]
        assert row.is_displayed()
        assert claim["verdict"] in row.text

    # 3. every figure renders with a non-zero size
    figures = browser.find_elements(By.CSS_SELECTOR, "svg")
    assert figures
    for svg in figures:
        size = svg.size
        assert size["width"] > 0 and size["height"] > 0

    # 4. the anchors from the table to the claim sections work
    for row in rows:
        link = row.find_element(By.CSS_SELECTOR, "a")
        target = link.get_attribute("href").split("#", 1)[1]
        browser.execute_script("arguments[0].click();", link)
        assert browser.execute_script("return location.hash") == f"#{target}"
        section = browser.find_element(By.ID, target)
        assert section.tag_name == "section" and section.is_displayed()

    # 5. no console errors
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors

    artifacts = Path(os.environ.get("PGDLAB_ARTIFACTS", ROOT / "reports" / "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    browser.get(url)
    assert browser.save_screenshot(str(artifacts / "report.png"))
