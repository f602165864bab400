"""Drug-target binding over the REST API (``drugforge serve`` on localhost): a dti-train job,
inline predict and profile, and a screen job against one sequence, each equal to the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from davis_slice import write_davis_slice
from drugforge.client import Client
from drugforge.workflows.dti_apply import DTIProfileConfig, run_dti_profile
from serving import ServerProcess, make_key


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str, Path]]:
    files = write_davis_slice(tmp_path_factory.mktemp("davis"), n_drugs=10, n_targets=20)
    data = tmp_path_factory.mktemp("serve")
    key = make_key(data, "alice")
    server = ServerProcess(data, "--workers", "1").start()
    yield server, key, files
    server.stop()


def test_dti_train_job_then_predict_profile_and_screen(
    served: tuple[ServerProcess, str, Path], tmp_path: Path
) -> None:
    server, key, files = served
    with Client(server.url, key) as api:
        ids = {n: api.upload(files / f"{n}.csv")["id"] for n in ("pairs", "drugs", "targets")}
        job = api.submit("dti-train", name="davis-slice", **ids, split="column:split",
                         model="pair-gbm", require=["ci>=0.5"],
                         model_params={"pair-gbm": {"n_members": 2, "n_estimators": 60}})
        done = api.wait(job["id"], timeout=300, poll=0.5)
        assert done["state"] == "done", (done, api.log(job["id"]))
        metrics = api.result(job["id"])
        assert metrics["test_ci"].iloc[0] > 0.5 and "test_mse" in metrics
        assert "davis-slice" in [m["name"] for m in api.models()]
        drugs = pd.read_csv(files / "drugs.csv")
        targets = pd.read_csv(files / "targets.csv")
        pairs = [(drugs.smiles[0], targets.target_sequence[0]), ("C1CC", targets.target_sequence[1]),
                 (drugs.smiles[1], "MKJ")]  # fmt: skip
        pred = api.dti_predict("davis-slice", pairs)
        assert pred["error"].tolist()[0] == "" and pred["affinity"].notna().tolist()[0]
        assert "SMILES" in pred["error"][1] and "residue 'J'" in pred["error"][2]
        profile = api.dti_profile("davis-slice", drugs.smiles[0])
        model_dir = server.data_dir / "models" / "davis-slice"
        cli = run_dti_profile(DTIProfileConfig(model_dir=str(model_dir), smiles=drugs.smiles[0],
                                               out=str(tmp_path / "p.csv"), quiet=True))
        assert profile["target_id"].tolist() == cli["target_id"].tolist()
        assert profile["affinity"].tolist() == pytest.approx(cli["affinity"].tolist())
        library = tmp_path / "lib.csv"
        library.write_text("smiles\n" + "\n".join([*drugs.smiles[:5], "nope"]) + "\n")
        screen = api.submit("screen", library=api.upload(library)["id"],
                            models=["affinity=davis-slice"],  # COL=NAME names the column
                            target_sequence=targets.target_sequence[0], rank="affinity", top=3)
        screened = api.wait(screen["id"], timeout=120, poll=0.3)
        assert screened["state"] == "done", (screened.get("error"), api.log(screen["id"]))
        assert screened["counts"]["hit"] == 3 and screened["counts"]["invalid"] == 1
        hits = api.result(screen["id"])
        assert hits["affinity"].is_monotonic_decreasing
        no_target = api.submit("screen", library=api.upload(library)["id"],
                               models=["davis-slice"])  # fmt: skip
        failed = api.wait(no_target["id"], timeout=120, poll=0.3)
        assert failed["state"] == "failed" and "--target-sequence" in failed["error"]
