"""The web app's data endpoints and static files against ``drugforge serve`` on localhost."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from drugforge.api.web import report_plots
from drugforge.core.errors import InvalidSmilesError
from drugforge.molecules.depict import depict_svg
from drugforge.molecules.details import molecule_details, training_sets
from drugforge.molecules.panel import PANEL_DIR, ad_bits
from serving import ServerProcess

RHODANINE = "O=C1C(=Cc2ccccc2)SC(=S)N1"  # PAINS ene_rhod_A, NIH rhodanine, two Brenk alerts
SDF_RECORD = "{name}\n  drugforge\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\n" \
    "    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n" \
    "    1.2000    0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n" \
    "  1  2  1  0\nM  END\n$$$$\n"  # fmt: skip


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("web")
    shutil.copytree(PANEL_DIR / "esol" / "model", data / "models" / "esol-solubility")
    server = ServerProcess(data).start()
    yield server.url
    server.stop()


def test_depict_is_an_svg_and_shades_alert_atoms_only_when_asked(url: str) -> None:
    plain = httpx.get(f"{url}/v1/depict", params={"smiles": RHODANINE, "width": 240, "height": 180})
    assert plain.status_code == 200
    assert plain.headers["content-type"] == "image/svg+xml"
    assert plain.text.startswith("<svg") and "width='240px' height='180px'" in plain.text
    assert "#F48C8C" not in plain.text
    shaded = httpx.get(f"{url}/v1/depict", params={"smiles": RHODANINE, "highlight": "alerts"})
    assert shaded.status_code == 200 and "fill:#F48C8C" in shaded.text  # the first alert's colour


def test_depict_rejects_bad_input_with_one_line(url: str) -> None:
    r = httpx.get(f"{url}/v1/depict", params={"smiles": "C1CC"})
    assert r.status_code == 400 and r.json() == {"error": "invalid SMILES 'C1CC'"}
    assert httpx.get(f"{url}/v1/depict", params={"smiles": "CCO", "width": 5}).status_code == 422
    r = httpx.get(f"{url}/v1/depict", params={"smiles": "CCO", "highlight": "bonds"})
    assert r.status_code == 422


def test_depict_svg_checks_atom_indices_and_smiles() -> None:
    with pytest.raises(ValueError, match="atom index 3 is outside the molecule"):
        depict_svg("CCO", highlight=[[0, 3]])
    with pytest.raises(InvalidSmilesError):
        depict_svg("C1CC")
    with pytest.raises(ValueError, match="width must be between"):
        depict_svg("CCO", width=2)


def test_molecule_page_data(url: str) -> None:
    r = httpx.get(f"{url}/v1/molecule", params={"smiles": RHODANINE, "k": 3}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    profile = httpx.post(f"{url}/v1/profile", json={"smiles": [RHODANINE]}, timeout=60).json()
    assert body["profile"] == profile["rows"][0]  # the same row POST /v1/profile gives
    alerts = {(a["family"], a["name"]): a["atoms"] for a in body["alerts"]}
    assert alerts[("PAINS", "ene_rhod_A(235)")] == [0, 1, 2, 3, 10, 11, 12, 13]
    assert alerts[("Brenk", "Thiocarbonyl_group")] == [11, 12]
    assert body["profile"]["n_PAINS"] == 1 and body["profile"]["n_Brenk"] == 2
    assert {e["name"] for e in body["endpoints"]} >= {"bbbp", "esol_logS", "tox21_SR-p53"}
    groups = body["neighbours"]
    for e in body["endpoints"]:
        assert e["value"] == body["profile"][e["name"]]
        assert e["std"] == body["profile"][f"{e['name']}_std"] and e["std"] > 0
        assert e["in_domain"] == (e["ad_similarity"] >= e["threshold"])
        # the nearest training molecule is the one the AD similarity was measured to
        nearest = groups[e["group"]]["molecules"][0]
        assert nearest["similarity"] == pytest.approx(e["ad_similarity"], abs=1e-4)
    for name, group in groups.items():
        train = json.loads((PANEL_DIR / name / "model" / "split.json").read_text())["smiles"]["train"]
        sims = [m["similarity"] for m in group["molecules"]]
        assert len(sims) == 3 and sims == sorted(sims, reverse=True)
        assert all(m["smiles"] == train[m["index"]] for m in group["molecules"])
        assert group["note"] == "" and group["n_train"] == len(train)


def test_a_training_molecule_is_its_own_nearest_neighbour(url: str) -> None:
    train = json.loads((PANEL_DIR / "esol" / "model" / "split.json").read_text())["smiles"]["train"]
    r = httpx.get(f"{url}/v1/molecule", params={"smiles": train[5]}, timeout=60)
    first = r.json()["neighbours"]["esol"]["molecules"][0]
    assert first["similarity"] == 1.0
    assert (ad_bits([first["smiles"]]) == ad_bits([train[5]])).all()


def test_molecule_rejects_invalid_smiles_in_one_line(url: str) -> None:
    r = httpx.get(f"{url}/v1/molecule", params={"smiles": "C1CC"})
    assert r.status_code == 400 and r.json() == {"error": "invalid SMILES 'C1CC'"}
    r = httpx.get(f"{url}/v1/molecule", params={"smiles": "   "})
    assert r.status_code == 400 and r.json() == {"error": "empty SMILES"}


def test_neighbours_without_training_smiles_are_given_by_index(tmp_path: Path) -> None:
    root = tmp_path / "panel"
    shutil.copytree(PANEL_DIR / "freesolv", root / "freesolv")
    (root / "freesolv" / "model" / "split.json").unlink()
    train = training_sets(root)["freesolv"]
    assert train.smiles is None and "no training SMILES" in train.note
    details = molecule_details("CCO", {}, k=2, root=root)
    group = details["neighbours"]["freesolv"]
    assert group["note"] == train.note
    assert [set(m) for m in group["molecules"]] == [{"index", "similarity", "smiles"}] * 2
    assert all(m["smiles"] is None and 0 < m["similarity"] <= 1 for m in group["molecules"])
    assert details["endpoints"][0]["value"] is None  # no row values given: none invented


def test_read_molecules_keeps_every_record_in_order(url: str) -> None:
    sdf = SDF_RECORD.format(name="methanol") + "garbage\n\n\nM  END\n$$$$\n"
    sdf += SDF_RECORD.format(name="second")
    r = httpx.post(f"{url}/v1/read-molecules", files={"file": ("lib.sdf", sdf.encode())})
    assert r.status_code == 200, r.text
    got = [(m["smiles"], m["name"], m["error"]) for m in r.json()["molecules"]]
    assert got == [("CO", "methanol", ""), ("", "", "SDF record 2 could not be read"), ("CO", "second", "")]
    csv = gzip.compress(b"id,smiles\na,CCO\nb,C1CC\n")
    r = httpx.post(f"{url}/v1/read-molecules", files={"file": ("x.csv.gz", csv)})
    assert [(m["name"], m["error"]) for m in r.json()["molecules"]] == [
        ("a", ""), ("b", "invalid SMILES")]  # fmt: skip


def test_read_molecules_rejects_unknown_files_in_one_line(url: str) -> None:
    r = httpx.post(f"{url}/v1/read-molecules", files={"file": ("notes", b"CCO\n")})
    assert r.status_code == 400 and "cannot tell the file type of 'notes'" in r.json()["error"]
    r = httpx.post(f"{url}/v1/read-molecules", files={"file": ("a.docx", b"PK")})
    assert r.status_code == 400 and "unsupported file type '.docx'" in r.json()["error"]


def test_static_app_files(url: str) -> None:
    index = httpx.get(f"{url}/")
    assert index.status_code == 200 and "/static/js/main.js" in index.text
    js = httpx.get(f"{url}/static/js/main.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "BSD" in httpx.get(f"{url}/static/vendor/jsme/VENDORED.md").text
    assert httpx.get(f"{url}/static/vendor/jsme/jsme.nocache.js").status_code == 200
    for bad in ("../web.py", "..%2Fweb.py", "%2e%2e/%2e%2e/app.py", "js", "nope.js"):
        assert httpx.get(f"{url}/static/{bad}").status_code == 404, bad


def test_model_plots_are_the_report_images(url: str) -> None:
    r = httpx.get(f"{url}/v1/models/esol-solubility/plots")
    assert r.status_code == 200, r.text
    plots = r.json()["plots"]
    assert [p["title"].split(":")[0] for p in plots] == [
        "Parity plot", "Residuals against prediction", "Uncertainty calibration"]  # fmt: skip
    for p in plots:
        head, data = p["src"].split(",", 1)
        assert head == "data:image/png;base64"
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert httpx.get(f"{url}/v1/models/nope/plots").status_code == 404
    assert httpx.get(f"{url}/v1/models/..%2Fmodels/plots").status_code in (400, 404)


def test_report_plots_take_only_embedded_images() -> None:
    page = ('<img alt="a &amp; b" src="data:image/png;base64,iVBORw0KGgo=">'
            '<img alt="remote" src="https://example.org/x.png">'
            '<img alt="script" src="javascript:alert(1)">')  # fmt: skip
    assert report_plots(page) == [{"title": "a & b", "src": "data:image/png;base64,iVBORw0KGgo="}]
