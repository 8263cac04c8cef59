"""The explorer in headless Chromium (driven by selenium and the system's chromedriver): after
``carbon-ticket demo``, find the Winter Games retirement in the register, open its certificate
page and see the page's own JavaScript verify it; give the verify page a tampered bundle file and
see it refused with the reason.

Chromium and chromedriver come from the distribution (``.ci/run`` installs them); under CI the
test fails when they are missing instead of skipping. With ``EXPLORER_SCREENSHOTS=DIR`` it saves
a screenshot of each page into DIR (docs/explorer/ holds the committed ones).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.cli.bundles import tampered
from tests.cli.explorer_harness import GAMES_EVENT, DemoChain, running_explorer

pytestmark = pytest.mark.slow

WAIT_S = 60  # the longest a page may take to settle (a wait, not an assertion on time)


def _need(condition: bool, what: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing, and CI must run the browser test")
        pytest.skip(f"{what} is missing")


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    _need(False, " or ".join(names))
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _need(False, "selenium")
    chromium = _binary("chromium", "chromium-browser", "google-chrome")
    driver_path = _binary("chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1280,1000", "--no-first-run",
                     "--disable-background-networking", "--disable-extensions"):  # fmt: skip
        options.add_argument(argument)
    # An explicit driver path: selenium never looks for (or downloads) a driver itself.
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def url(demo_devnet: DemoChain) -> Iterator[str]:
    with running_explorer(demo_devnet.endpoint, demo_devnet.genesis()) as base:
        yield base


def _screenshot(driver: Any, name: str) -> None:
    folder = os.environ.get("EXPLORER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        # The whole page, not just the window.
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, max(700, min(int(height) + 200, 2600)))
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))
        driver.set_window_size(1280, 1000)


def _gone(element: Any) -> Callable[[Any], bool]:
    """A wait condition: ``element``'s page has been replaced by the one a click opened.

    Selenium's ``staleness_of`` knows only StaleElementReferenceException; mid-navigation
    chromedriver may instead answer an "unhandled inspector error: Node with given id does not
    belong to the document" (seen once in CI), which also means the old page is gone.
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def replaced(_driver: Any) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    return replaced


def _verdict(driver: Any) -> tuple[str, str]:
    """Wait until the verification panel has settled; its state and verdict line."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(d: Any) -> str | Literal[False]:
        state = d.find_element(By.ID, "verification").get_attribute("data-state")
        return state if state in ("verified", "refused") else False

    state = WebDriverWait(driver, WAIT_S).until(settled)
    return state, driver.find_element(By.ID, "verdict").text


def test_the_winter_games_certificate_verifies_in_the_browser(
    browser: Any, url: str, demo_devnet: DemoChain
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url + "/")
    assert demo_devnet.info.chain_id in browser.find_element(By.TAG_NAME, "header").text
    assert browser.find_elements(By.CSS_SELECTOR, "table.blocks tbody tr")
    _screenshot(browser, "home")

    browser.get(url + "/validators")
    validators = browser.find_element(By.CSS_SELECTOR, "table.validators").text
    assert all(v.name in validators for v in demo_devnet.genesis().validators)
    _screenshot(browser, "validators")

    browser.get(url + "/projects")
    assert demo_devnet.project_id in browser.find_element(By.CSS_SELECTOR, "table.projects").text
    _screenshot(browser, "projects")
    link = browser.find_element(By.LINK_TEXT, demo_devnet.project_id)
    link.click()
    WebDriverWait(browser, WAIT_S).until(_gone(link))
    assert demo_devnet.batch_id in browser.find_element(By.CSS_SELECTOR, "table.batches").text
    _screenshot(browser, "project")

    # Find the Games in the register, by event, through the search form.
    browser.get(url + "/retirements")
    browser.find_element(By.ID, "event").send_keys(GAMES_EVENT)
    unfiltered = browser.find_element(By.CSS_SELECTOR, "table.register")
    browser.find_element(By.ID, "search").click()
    # A click does not wait for the page it opens: wait until the old table is gone.
    WebDriverWait(browser, WAIT_S).until(_gone(unfiltered))
    # Every row is of the Games (other tests of this session's devnet may retire for them too).
    rows = browser.find_elements(By.CSS_SELECTOR, "table.register tbody tr")
    assert rows and all("14th National Winter Games" in row.text for row in rows)
    _screenshot(browser, "register")
    (ours,) = [row for row in rows if demo_devnet.games_certificate in row.text]
    ours.find_element(By.LINK_TEXT, demo_devnet.games_certificate).click()
    WebDriverWait(browser, WAIT_S).until(_gone(ours))

    state, verdict = _verdict(browser)
    assert state == "verified", verdict
    assert f"certificate {demo_devnet.games_certificate} is valid" in verdict
    proven = browser.find_element(By.ID, "proven").text
    assert "retired 5000 tCO2e" in proven and "signed by 1 of 1 voting power" in proven
    assert demo_devnet.genesis().hash().hex() in proven  # recomputed by the browser
    _screenshot(browser, "certificate")


def test_a_tampered_bundle_file_is_refused_in_the_browser(
    browser: Any, url: str, demo_devnet: DemoChain, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    bundle = demo_devnet.bundle(demo_devnet.games_certificate)
    good, bad = tmp_path / "good.json", tmp_path / "tampered.json"
    good.write_text(json.dumps(bundle))

    def more(b: dict[str, Any]) -> None:
        b["certificate"]["amount_grams"] *= 2  # a doctored certificate sent by email

    bad.write_text(json.dumps(tampered(bundle, more)))

    browser.get(url + "/verify")
    browser.find_element(By.ID, "bundle-file").send_keys(str(good))
    state, verdict = _verdict(browser)
    assert state == "verified", verdict

    browser.get(url + "/verify")
    browser.find_element(By.ID, "bundle-file").send_keys(str(bad))
    state, verdict = _verdict(browser)
    assert state == "refused"
    assert "NOT verified" in verdict and "certificate field amount_grams" in verdict
    _screenshot(browser, "verify-refused")

    # The same file dropped on the drop zone (a drop event carrying it, as a file manager sends).
    browser.get(url + "/verify")
    browser.execute_script(DROP, bad.read_text(), bad.name)
    state, verdict = _verdict(browser)
    assert state == "refused"
    assert "certificate field amount_grams" in verdict


DROP = """
const [text, name] = arguments;
const data = new DataTransfer();
data.items.add(new File([text], name, {type: "application/json"}));
const zone = document.getElementById("dropzone");
zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
"""
