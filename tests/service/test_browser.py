"""The page in a real browser: Debian's chromium, headless, driven by Playwright, against the loopback.

It uploads an example patient, checks the verdict and a reason, records a person's
confirmation, screens again, and keeps screenshots in tests/artifacts/ (git-ignored).
Playwright only drives the system's chromium: no browser is ever downloaded.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .support import EXAMPLES, ROOT, serve

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SCREENING_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
AS_OF = "2026-11-23"
LUPUS = "Phase-II-Lupus-MSC"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), as .ci/run does")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a new, empty profile
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("browser")) as s:
        yield s


def test_upload_screen_confirm_and_screen_again(browser, server):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page()
    page.goto(server.url + "/")
    assert page.title() == "Screen a patient"
    # keyboard: the first Tab reaches the skip link, the next ones the navigation and then the form
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(5):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "trial"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"  # focus is visible
    for box in page.locator("input[name=trial]").all():  # only the lupus trial
        if box.get_attribute("value") != LUPUS:
            box.uncheck()
    page.get_by_label("Patient file (native profile or FHIR R4 Bundle, JSON)").set_input_files(
        str(EXAMPLES / LUPUS / "pending-confirmation.json"))
    page.get_by_label("Screening date").fill(AS_OF)
    page.get_by_role("button", name="Screen", exact=True).click()
    page.wait_for_load_state()

    verdict = page.locator(".verdict")
    assert verdict.count() == 1
    assert verdict.get_attribute("data-verdict") == "undetermined"
    assert "eligible pending confirmation of: exc-4a, exc-4d, exc-4f" in verdict.inner_text()
    inc2c = page.locator(f"tr[id='{LUPUS}-inc-2c']")
    assert inc2c.locator(".status").inner_text() == "pass"
    assert "UPC ratio 150 mg/mmol (1.33 mg/mg) on 2026-11-10 [Observation/upcr-1]" in inc2c.inner_text()
    # the colours are the terminal table's: pass green, unknown yellow
    assert inc2c.locator(".status").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(220, 252, 231)"
    exc4a = page.locator(f"tr[id='{LUPUS}-exc-4a']")
    assert exc4a.locator(".status").inner_text() == "unknown"
    assert exc4a.locator(".status").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(254, 243, 199)"
    assert "a person: whether a coexisting disease is uncontrolled" in exc4a.inner_text()
    page.screenshot(path=str(ARTIFACTS / "page-screened.png"), full_page=True)

    # record the confirmations with the keyboard-reachable radio buttons, then screen again
    form = page.locator("#confirm-form")
    form.locator(f"fieldset:has-text('{LUPUS}/exc-4a')").get_by_label("does not hold").check()
    form.locator(f"fieldset:has-text('{LUPUS}/exc-4d')").get_by_label("does not hold").check()
    form.locator(f"fieldset:has-text('{LUPUS}/exc-4f')").get_by_label("does not hold").check()
    form.get_by_label("Confirmed by (name and role)").fill("Dr A. Investigator, PI")
    form.get_by_role("button", name="Record and screen again").click()
    page.wait_for_load_state()

    verdict = page.locator(".verdict")
    assert verdict.get_attribute("data-verdict") == "eligible"
    assert "eligible: all 19 criteria pass" in verdict.inner_text()
    assert "confirmed by Dr A. Investigator, PI" in page.locator("#confirmations").inner_text()
    exc4a = page.locator(f"tr[id='{LUPUS}-exc-4a']")
    assert exc4a.locator(".status").inner_text() == "pass: not excluded"  # an exclusion says so in words
    page.screenshot(path=str(ARTIFACTS / "page-confirmed.png"), full_page=True)
    assert (ARTIFACTS / "page-confirmed.png").stat().st_size > 10_000
