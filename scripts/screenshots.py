"""Screenshots of the web app's main pages into ``docs/screenshots/`` (rerun after UI changes).

    PYTHONPATH=src python scripts/screenshots.py [--out docs/screenshots]

Starts ``drugforge serve`` on a temporary data folder with three models (copies of shipped
panel models, so that the Models page has real cards), creates a key, and drives Debian's Chromium
(the tests' Playwright set-up, ``tests/browser.py``) at 1366x768 through: the Molecules table
(the example molecules, one invalid), a molecule page, a finished screen job with its result,
and the Models page and one model card.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from playwright.sync_api import Page, sync_playwright

from browser import VIEWPORT, chromium
from drugforge.molecules.panel import PANEL_DIR
from serving import ServerProcess, make_key

LIBRARY = """smiles,name
CC(=O)Oc1ccccc1C(=O)O,aspirin
CN1C=NC2=C1C(=O)N(C(=O)N2C)C,caffeine
CC(C)Cc1ccc(cc1)C(C)C(=O)O,ibuprofen
CC(=O)Nc1ccc(O)cc1,paracetamol
OC(=O)c1ccccc1O,salicylic acid
CN1CCC[C@H]1c1cccnc1,nicotine
COc1ccc2[nH]cc(CCNC(C)=O)c2c1,melatonin
Clc1ccc(cc1)C(c1ccccc1)N1CCN(CC1)CCOCC(=O)O,cetirizine
CC(C)NCC(O)COc1cccc2ccccc12,propranolol
O=C(O)Cc1ccccc1Nc1c(Cl)cccc1Cl,diclofenac
CN(C)CCCN1c2ccccc2CCc2ccccc21,imipramine
C1CC,broken
"""


def _settle(page: Page) -> None:
    """Scroll through the page so lazy depictions load, then back to the top."""
    height = page.evaluate("document.body.scrollHeight")
    for y in range(0, int(height) + 600, 600):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(150)
        # tables scroll inside their own box: run through it too, then back to its top
        page.evaluate("document.querySelectorAll('.table-wrap').forEach(t => t.scrollTop = t.scrollHeight)")
        page.wait_for_timeout(150)
        page.evaluate("document.querySelectorAll('.table-wrap').forEach(t => t.scrollTop = 0)")
    page.wait_for_function("[...document.images].every(i => i.complete && !i.classList.contains('loading'))")
    page.evaluate("window.scrollTo(0, 0)")


def take(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="drugforge-shots-") as tmp:
        data = Path(tmp)
        for group, name in (("esol", "esol-solubility"), ("bbbp", "bbb-penetration"),
                            ("freesolv", "hydration-free-energy")):
            shutil.copytree(PANEL_DIR / group / "model", data / "models" / name)
        key = make_key(data, "screenshots")
        library = data / "library.csv"
        library.write_text(LIBRARY)
        server = ServerProcess(data).start()
        try:
            with sync_playwright() as p, chromium(p) as browser:
                page = browser.new_page(viewport=VIEWPORT)
                url = server.url

                def shot(name: str, full: bool = False) -> None:
                    path = out / f"{name}.png"
                    page.screenshot(path=str(path), full_page=full)
                    shots.append(path)

                page.goto(f"{url}/")
                page.click("text=Load example")
                page.click("#run-profile")
                page.wait_for_selector("#results tbody tr")
                _settle(page)
                shot("molecules", full=True)

                page.click("#results tbody tr.clickable >> text=benzylidene-rhodanine")
                page.wait_for_selector("#endpoints")
                _settle(page)
                shot("molecule", full=True)

                page.goto(f"{url}/#/jobs")
                page.fill("#api-key", key)
                page.click("#save-key")
                page.set_input_files("#screen-library", str(library))
                page.fill("#screen-filter", "mw<=500")
                page.fill("#screen-top", "10")
                page.click("#screen-form button[type=submit]")
                page.wait_for_selector(".job.done", timeout=120_000)
                page.click(".job.done >> text=View result")
                page.wait_for_selector("#job-result tbody tr")
                _settle(page)
                shot("jobs", full=True)

                page.goto(f"{url}/#/models")
                page.wait_for_selector(".model-card")
                shot("models")
                page.click(".model-card >> text=esol-solubility")
                page.wait_for_selector(".plots img")
                shot("model-card", full=True)
        finally:
            server.stop()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    for path in take(args.out):
        print(path)


if __name__ == "__main__":
    main()
