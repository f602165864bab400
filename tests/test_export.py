"""ONNX export: every exportable model reproduces drugforge's predictions within 1e-5.

Models are trained small and fast on real ESOL (regression) and BBBP (classification) rows; the
parity is measured here with onnxruntime, independently of the check ``run_export`` runs itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator
from rdkit.Chem.MolStandardize import rdMolStandardize

from cli_helpers import one_line_error, run
from drugforge.core.artifacts import load_model, save_model
from drugforge.molecules.chem import StandardizerConfig, standardize_many
from drugforge.molecules.export import onnx_converters
from drugforge.molecules.export.graph import DOUBLE, GraphBuilder
from drugforge.molecules.export.onnx import ExportError, to_onnx
from drugforge.molecules.export.onnx_inputs import load_input_specs, make_inputs
from drugforge.molecules.featurize import get_featurizer
from drugforge.molecules.models import build_model
from drugforge.molecules.models.base import TaskType
from drugforge.molecules.models.kernels import tanimoto_kernel
from drugforge.molecules.predict import predict_smiles
from drugforge.workflows.export import BUILTIN_CHECK_SMILES, PARITY_TOLERANCE, export_model

TINY: dict[str, dict[str, Any]] = {
    "svm": {},
    "gp": {},
    "gbm": {"n_estimators": 30},
    "mlp": {"hidden_sizes": [32], "max_epochs": 3},
    "mpnn": {"hidden": 32, "depth": 2, "ffn_hidden": 16, "max_epochs": 2},
}
QUERY = [*BUILTIN_CHECK_SMILES, "CCOc1ccc2nc(S(N)(=O)=O)sc2c1", "OCC(O)CO", "[Na+].[Cl-]"]


@pytest.fixture(scope="module")
def data(moleculenet_dir: Path) -> dict[str, tuple[list[str], np.ndarray, str]]:
    esol = pd.read_csv(moleculenet_dir / "esol.csv").head(120)
    bbbp = pd.read_csv(moleculenet_dir / "bbbp.csv").sample(120, random_state=0)
    return {
        "regression": (esol["smiles"].tolist(), esol["logp"].to_numpy(float), "logp"),
        "classification": (bbbp["smiles"].tolist(), bbbp["p_np"].to_numpy(float), "p_np"),
    }


def _save(path: Path, model: Any, task: str, target: str, uncertainty: dict[str, Any]) -> Path:
    return save_model(path, model, task=task, target_names=[target],
                      standardizer=StandardizerConfig().to_dict(), data_hash="0" * 64,
                      uncertainty=uncertainty)  # fmt: skip


def _onnx_vs_drugforge(model_dir: Path, onnx_file: Path) -> tuple[dict[str, float], list[str]]:
    """Max |onnx - drugforge predict| per output on QUERY, and the ONNX output names."""
    loaded = load_model(model_dir)
    mean, std, errors = predict_smiles(loaded, QUERY)
    clean, _ = standardize_many(QUERY, StandardizerConfig.from_dict(loaded.standardizer))
    ok = [i for i, e in enumerate(errors) if not e]
    assert len(ok) >= len(QUERY) - 1  # '[Na+].[Cl-]' may be refused, the rest must predict
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    specs = load_input_specs(json.loads(Path(f"{onnx_file}.json").read_text()))
    assert [s.name for s in specs] == [i.name for i in session.get_inputs()]
    feeds = make_inputs(specs, [str(clean[i]) for i in ok])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, feeds), strict=True))
    diffs = {"prediction": float(np.abs(got["prediction"] - mean[ok]).max())}
    if "std" in got:
        diffs["std"] = float(np.abs(got["std"] - std[ok]).max())
    return diffs, names


@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("name", ["svm", "gp", "gbm", "mlp", "mpnn", "ensemble"])
def test_parity_per_model_class(
    name: str, task: TaskType, data: dict[str, tuple[list[str], np.ndarray, str]], tmp_path: Path
) -> None:
    smiles, y, target = data[task]
    if name == "ensemble":
        model = build_model("ensemble", task, members=("svm", "gp", "gbm", "mlp", "mpnn"),
                            member_params=TINY)  # fmt: skip
    else:
        model = build_model(name, task, **TINY[name])
    model.fit(smiles, y)
    if task == "classification":
        recipe: dict[str, Any] = {"method": "ensemble-spread" if name == "ensemble" else "bernoulli"}
    elif model.native_uncertainty:
        recipe = {"method": "native-scaled", "scale": [1.25]}
    else:
        recipe = {"method": "constant", "scale": [0.6]}
    model_dir = _save(tmp_path / "model", model, task, target, recipe)
    summary = export_model(model_dir, tmp_path / "m.onnx", quiet=True)
    assert summary.max_abs_diff["prediction"] <= PARITY_TOLERANCE
    diffs, names = _onnx_vs_drugforge(model_dir, summary.out)
    assert names == ["prediction", "std"]
    assert diffs["prediction"] <= PARITY_TOLERANCE, diffs
    assert diffs["std"] <= PARITY_TOLERANCE, diffs
    sidecar = json.loads(summary.sidecar.read_text())
    assert sidecar["task"] == task and sidecar["target_names"] == [target]
    assert sidecar["parity"]["max_abs_diff"]["prediction"] <= PARITY_TOLERANCE
    assert sidecar["source_model"]["model"] == name


def test_mpnn_with_descriptors_and_multitask_missing_labels(
    moleculenet_dir: Path, tmp_path: Path
) -> None:
    tox = pd.read_csv(moleculenet_dir / "tox21.csv").head(80)
    targets = ["NR-AR", "NR-AR-LBD", "NR-AhR"]
    Y = tox[targets].to_numpy(float)
    assert np.isnan(Y).any()  # missing labels, each task fitted on its own rows
    model = build_model("mpnn", "classification", extra_features="rdkit2d", **TINY["mpnn"])
    model.fit(tox["smiles"].tolist(), Y)
    model_dir = save_model(tmp_path / "model", model, task="classification", target_names=targets,
                           standardizer=StandardizerConfig().to_dict(), data_hash="0" * 64,
                           uncertainty={"method": "bernoulli"})  # fmt: skip
    summary = export_model(model_dir, tmp_path / "m.onnx", quiet=True)
    diffs, _ = _onnx_vs_drugforge(model_dir, summary.out)
    assert max(diffs.values()) <= PARITY_TOLERANCE, diffs
    inputs = {i["name"]: i for i in json.loads(summary.sidecar.read_text())["inputs"]}
    assert set(inputs) == {"atom_features", "bond_features", "edge_index", "rev_edge",
                           "atom_batch", "features"}  # fmt: skip
    rdkit2d = inputs["features"]["featurizers"][0]
    assert rdkit2d["name"] == "rdkit2d" and len(rdkit2d["feature_names"]) == rdkit2d["dim"]
    assert inputs["atom_features"]["shape"] == ["n_atoms", 49]
    assert inputs["atom_features"]["layout"]["atom_features"][0]["one_hot"][:3] == [1, 5, 6]


def test_kernel_is_exact_on_counts() -> None:
    """The ONNX Tanimoto kernel equals drugforge's, zero rows (similarity 1) included."""
    rng = np.random.default_rng(0)
    A = rng.poisson(0.4, size=(7, 50)).astype(np.float32)
    B = rng.poisson(0.6, size=(5, 50)).astype(np.float32)
    A[0] = 0.0
    B[1] = 0.0
    A[3, :5] = 9.0  # counts beyond any support count
    g = GraphBuilder(17)
    x = g.features_input([get_featurizer("ecfp", size=50, counts=True)])
    K = onnx_converters._tanimoto(g, x, B)
    model = g.model([(K, "K", ["n", 5])], doc="kernel")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"features": A})[0]
    np.testing.assert_array_equal(got, tanimoto_kernel(A, B))
    assert got[0, 1] == 1.0  # two empty fingerprints are identical


def test_signed_features_are_refused(data: dict[str, tuple[list[str], np.ndarray, str]]) -> None:
    smiles, y, _ = data["regression"]
    svm = build_model("svm", "regression").fit(smiles[:30], y[:30])
    svm.support_features_ = svm.support_features_ - 0.5  # what a signed descriptor would give
    with pytest.raises(ExportError, match="non-negative integer features"):
        to_onnx(svm)
    with pytest.raises(ExportError, match="opset 12 is not supported"):
        to_onnx(svm, opset=12)


def test_inputs_reproduced_with_rdkit_alone(
    data: dict[str, tuple[list[str], np.ndarray, str]], tmp_path: Path
) -> None:
    """The sidecar is enough: standardize and fingerprint with RDKit, run, match drugforge."""
    smiles, y, target = data["regression"]
    model = build_model("svm", "regression").fit(smiles, y)
    model_dir = _save(tmp_path / "model", model, "regression", target,
                      {"method": "constant", "scale": [0.5]})  # fmt: skip
    summary = export_model(model_dir, tmp_path / "svm.onnx", quiet=True)
    sidecar = json.loads(summary.sidecar.read_text())
    settings = sidecar["standardizer"]["settings"]
    assert settings == StandardizerConfig().to_dict()
    (features,) = sidecar["inputs"]
    query = ["CC(=O)Oc1ccccc1C(=O)O", "O=C([O-])c1ccccc1.[Na+]", "C[NH+](C)CCc1c[nH]c2ccc(O)cc12"]

    def standardize(smi: str) -> str:
        mol = Chem.MolFromSmiles(smi)
        if len(Chem.GetMolFrags(mol)) > 1:
            mol = rdMolStandardize.LargestFragmentChooser().choose(mol)
        out = Chem.MolToSmiles(mol, isomericSmiles=True, canonical=True)
        if any(a.GetFormalCharge() for a in mol.GetAtoms()):
            neutral = Chem.MolToSmiles(rdMolStandardize.Uncharger().uncharge(mol))
            out = neutral if Chem.MolFromSmiles(neutral) is not None else out
        return out

    rows = []
    for smi in query:
        mol = Chem.MolFromSmiles(standardize(smi))
        parts = []
        for f in features["featurizers"]:
            p = f["params"]
            kwargs: dict[str, Any] = {"radius": p["radius"], "fpSize": p["size"]}
            if f["name"] == "fcfp":
                kwargs["atomInvariantsGenerator"] = (
                    rdFingerprintGenerator.GetMorganFeatureAtomInvGen()
                )
            parts.append(rdFingerprintGenerator.GetMorganGenerator(**kwargs)
                         .GetCountFingerprintAsNumPy(mol))  # fmt: skip
        rows.append(np.concatenate(parts))
    X = np.asarray(rows, dtype=np.float32)
    assert X.shape == (len(query), features["shape"][1])
    session = ort.InferenceSession(str(summary.out), providers=["CPUExecutionProvider"])
    pred, std = session.run(["prediction", "std"], {features["name"]: X})
    mean, ref_std, _ = predict_smiles(load_model(model_dir), query)
    np.testing.assert_allclose(pred, mean, atol=PARITY_TOLERANCE, rtol=0)
    np.testing.assert_array_equal(std, ref_std)
    np.testing.assert_array_equal(std, np.full((3, 1), 0.5))


# --------------------------------------------------------------------------------------- CLI
@pytest.fixture()
def gbm_dir(esol_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "gbm"
    code, _, err = run(["train", str(esol_csv), "--target", "logp", "--model", "gbm",
                        "--model-param", "gbm.n_estimators=40", "--split", "random",
                        "--out", str(out), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    return out


def test_cli_export_end_to_end(gbm_dir: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code, out, err = run(["export", str(gbm_dir), "--format", "onnx", "--quiet"], capsys)
    assert code == 0, err
    result = json.loads(out)
    onnx_file = Path(result["out"])
    assert onnx_file == gbm_dir.parent / "gbm.onnx" and onnx_file.is_file()
    assert result["max_abs_diff"]["prediction"] <= PARITY_TOLERANCE
    sidecar = json.loads(Path(result["sidecar"]).read_text())
    # the training file is still there: a sample of it joins the check set
    assert "training molecules" in sidecar["parity"]["source"]
    assert result["checked"] > len(BUILTIN_CHECK_SMILES)
    names = [f["name"] for f in sidecar["inputs"][0]["featurizers"]]
    assert names == ["ecfp", "rdkit2d"] and sidecar["opsets"] == {"": 17, "ai.onnx.ml": 5}
    # predictions of the file written match `drugforge predict` on the same molecules
    diffs, _ = _onnx_vs_drugforge(gbm_dir, onnx_file)
    assert max(diffs.values()) <= PARITY_TOLERANCE, diffs

    code, _, err = run(["export", str(gbm_dir), "--quiet"], capsys)
    one_line_error(code, err, "output exists; use --force")
    check = tmp_path / "check.smi"
    check.write_text("CCO\nc1ccccc1N\nnot_a_smiles\n")
    code, out, err = run(["export", str(gbm_dir), "--out", str(tmp_path / "x.onnx"),
                          "--check-smiles", str(check), "--opset", "18", "--quiet"], capsys)
    assert code == 0, err
    assert json.loads(out)["checked"] == 2  # the invalid SMILES is not predicted, not checked
    code, _, err = run(["export", str(gbm_dir), "--out", str(tmp_path / "y.onnx"),
                        "--opset", "9", "--quiet"], capsys)  # fmt: skip
    one_line_error(code, err, "opset 9 is not supported")
    code, _, err = run(["export", str(gbm_dir), "--out", str(tmp_path / "y.txt")], capsys)
    one_line_error(code, err, "must end in .onnx")


def test_cli_parity_failure_writes_nothing(
    gbm_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    def drifted(model: Any, g: GraphBuilder) -> tuple[str, str | None]:
        mean, spread = onnx_converters._gbm(model, g)
        return g.op("Add", mean, g.const(2e-5, "drift")), spread

    monkeypatch.setitem(onnx_converters._CONVERTERS, "gbm", drifted)
    out = tmp_path / "drift.onnx"
    code, _, err = run(["export", str(gbm_dir), "--out", str(out)], capsys)
    one_line_error(code, err, "parity check failed")
    assert not out.exists() and not Path(f"{out}.json").exists()


def test_cli_unexportable_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                data: dict[str, tuple[list[str], np.ndarray, str]]) -> None:  # fmt: skip
    smiles, y, target = data["regression"]
    model = build_model("chem-lm", "regression", max_epochs=1, val_fraction=0.0)
    model_dir = _save(tmp_path / "lm", model.fit(smiles[:20], y[:20]), "regression", target, {})
    code, _, err = run(["export", str(model_dir)], capsys)
    one_line_error(code, err, "model 'chem-lm' cannot be exported to ONNX; exportable models: "
                              "ensemble, gbm, gp, mlp, mpnn, svm")  # fmt: skip
    assert not (tmp_path / "lm.onnx").exists()


def test_graph_builder_shares_inputs_and_names() -> None:
    g = GraphBuilder(17)
    ecfp = get_featurizer("ecfp", size=2)
    x = g.features_input([ecfp])
    assert g.features_input([get_featurizer("ecfp", size=2)]) == x == "features"
    assert g.features_input([ecfp, get_featurizer("maccs")]) == "features_1"
    doubled = g.op("Mul", g.cast(x, DOUBLE), g.const(2.0))
    filled = g.fill(np.array([3.0, 4.0]), g.rows(x))
    assert g.name("features") != "features"  # input names are taken
    model = g.model([(doubled, "a", ["n", 2]), (filled, "b", ["n", 2])], doc="t")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    a, b = session.run(None, {"features": np.array([[1.0, 2.5]], np.float32),
                              "features_1": np.zeros((1, 169), np.float32)})  # fmt: skip
    np.testing.assert_array_equal(a, [[2.0, 5.0]])
    np.testing.assert_array_equal(b, [[3.0, 4.0]])
