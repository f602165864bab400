"""Goal-directed generation: scoring components, transforms, the diversity filter, RL through the
one training loop, exact resume, and ``drugforge optimize`` end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from rdkit.Chem import QED
from safetensors.numpy import load_file

from cli_helpers import one_line_error, run
from drugforge.cli import main
from drugforge.core.artifacts import load_generator, load_model, save_generator
from drugforge.core.errors import InputError
from drugforge.core.training.loop import TrainConfig
from drugforge.molecules.chem.mol import parse_smiles
from drugforge.molecules.featurize.tokenizer import SmilesTokenizer
from drugforge.molecules.generation.rl import (
    AgentBatches,
    DiversityFilter,
    ReplayMemory,
    RLConfig,
    reinforce,
)
from drugforge.molecules.generation.scoring import (
    Constraint,
    Objective,
    ObjectiveConfig,
    Transform,
    load_objective_file,
    parse_constraint,
    parse_score_spec,
)
from drugforge.molecules.models.chemlm import ChemLM
from drugforge.workflows.optimize import OptimizeConfig, objective_from_options, run_optimize

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
NITROBENZENE = "O=[N+]([O-])c1ccccc1"


def objective(*specs: str, **kwargs: object) -> Objective:
    return Objective(ObjectiveConfig(components=[parse_score_spec(s) for s in specs], **kwargs))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ scoring
def test_components_on_known_molecules() -> None:
    scorer = objective("qed", "sa", f"similarity:{ASPIRIN}", "substructure:c1ccccc1",
                       must_not=["[N+](=O)[O-]"])  # fmt: skip
    scores = scorer.score([ASPIRIN, "not a smiles", NITROBENZENE, "CCCC"])
    aspirin_qed = QED.qed(parse_smiles(ASPIRIN))
    assert scores.raw["qed"][0] == pytest.approx(aspirin_qed) == pytest.approx(0.5501, abs=1e-4)
    assert scores.raw["sa"][0] == pytest.approx(1.580, abs=1e-3)
    assert scores.transformed["sa"][0] == pytest.approx((10 - scores.raw["sa"][0]) / 9)
    assert scores.raw["similarity"][0] == 1.0  # a molecule is identical to itself
    assert scores.raw["substructure"][0] == 1.0 and scores.raw["substructure"][3] == 0.0
    expected = (aspirin_qed * scores.transformed["sa"][0] * 1.0 * 1.0) ** (1 / 4)
    assert scores.total[0] == pytest.approx(expected)
    # invalid: NaN with an error, never 0
    assert not scores.valid[1] and math.isnan(scores.total[1]) and scores.errors[1] == "invalid SMILES"
    assert all(math.isnan(scores.raw[name][1]) for name in scorer.names)
    # must-not: a hard zero, the component values are kept
    assert scores.total[2] == 0.0 and not scores.passes[2] and scores.raw["qed"][2] > 0
    # no benzene: the substructure step gives 0, and so does the geometric mean
    assert scores.total[3] == 0.0 and scores.passes[3]
    frame = scores.to_frame()
    assert list(frame.columns[:5]) == ["smiles", "valid", "score", "qed", "qed_score"]
    assert frame["smiles"][0] == "CC(=O)Oc1ccccc1C(=O)O"


def test_constraints_weights_and_aggregation() -> None:
    scorer = objective("qed weight=1", f"similarity:{ASPIRIN} weight=3",
                       constraints=[parse_constraint("qed>=0.5"), parse_constraint("mw <= 400")])  # fmt: skip
    salicylic = "O=C(O)c1ccccc1O"
    s = scorer.score([ASPIRIN, "OCC(O)CO", "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"])
    q, sim = s.raw["qed"][0], s.raw["similarity"][0]
    assert s.total[0] == pytest.approx(math.exp((math.log(q) + 3 * math.log(sim)) / 4))
    assert s.raw["qed"][1] < 0.5 and s.total[1] == 0.0 and not s.passes[1]  # qed constraint
    assert s.total[2] == 0.0 and not s.passes[2]
    arithmetic = objective("qed weight=1", f"similarity:{ASPIRIN} weight=3", aggregate="arithmetic")
    t = arithmetic.score([salicylic])
    assert t.total[0] == pytest.approx((t.raw["qed"][0] + 3 * t.raw["similarity"][0]) / 4)


def test_constraints_use_the_profile_definitions_and_old_spellings() -> None:
    """Constraint names are the profile's properties; logp/rotb/sa stay accepted as aliases.

    hbd/hba are Lipinski's counts, as in ``drugforge profile``: benzamide has 2 donors (the NH2's
    two N-H) and 2 acceptors (N and O); RDKit's CalcNumHBD/CalcNumHBA, which optimize used before
    the property table, count 1 and 1.
    """
    from drugforge.molecules.chem.properties import mol_properties

    benzamide = "NC(=O)c1ccccc1"
    profile = mol_properties(parse_smiles(benzamide))
    assert (profile["hbd"], profile["hba"]) == (2, 2)

    def passes(*constraints: str) -> list[bool]:
        scorer = objective("qed", constraints=[parse_constraint(c) for c in constraints])
        return scorer.score([benzamide]).passes.tolist()

    assert passes("hbd>=2", "hba>=2", "hbd<=2", "hba<=2") == [True]
    assert passes("hbd<=1") == [False] and passes("hba<=1") == [False]
    for old, new in [("logp", "clogp"), ("rotb", "rotatable_bonds"), ("sa", "sa_score")]:
        value = profile[new]
        assert passes(f"{old}>={value}", f"{old}<={value}", f"{new}>={value}") == [True], old
        assert passes(f"{old}>{value}") == [False], old
    assert passes("rings<=1", "rings>=1", "fsp3<=0", "aromatic_rings>=1") == [True]
    text = r"choose from: qed, sa, mw, clogp, .*aliases: logp \(clogp\), rotb"
    with pytest.raises(InputError, match=text):
        objective("qed", constraints=[parse_constraint("potency>=5")])


def test_transforms() -> None:
    x = np.array([5.0, 7.0, 9.0, np.nan, 11.0])
    sig = Transform(kind="sigmoid", low=5, high=9)(x)
    assert sig[1] == pytest.approx(0.5) and sig[0] == pytest.approx(1 / (1 + 10**2.5))
    assert sig[2] == pytest.approx(1 - 1 / (1 + 10**2.5)) and math.isnan(sig[3])
    rev = Transform(kind="reverse_sigmoid", low=5, high=9)(x)
    np.testing.assert_allclose(rev[:3], 1 - sig[:3])
    assert list(Transform(kind="step", low=7)(x)) [:3] == [0.0, 1.0, 1.0]
    assert list(Transform(kind="step", low=6, high=10)(x)[[0, 1, 4]]) == [0.0, 1.0, 0.0]
    np.testing.assert_allclose(Transform(kind="linear", low=10, high=1)(np.array([1.0, 5.5, 10.0])),
                               [1.0, 0.5, 0.0])  # fmt: skip
    np.testing.assert_allclose(Transform()(np.array([-0.5, 0.3, 2.0])), [0.0, 0.3, 1.0])
    for bad in ({"kind": "sigmoid", "low": 9, "high": 5}, {"kind": "step"},
                {"kind": "none", "low": 1}, {"kind": "linear", "low": 1, "high": 1}):  # fmt: skip
        with pytest.raises(ValueError):
            Transform(**bad)  # type: ignore[arg-type]


def test_spec_grammar_and_objective_file(tmp_path: Path) -> None:
    c = parse_score_spec("model:some/dir:pKi weight=2 name=potency sigmoid(5,9,0.3)")
    assert (c.kind, c.path, c.target, c.weight, c.name) == ("model", "some/dir", "pKi", 2.0, "potency")
    assert c.transform == Transform(kind="sigmoid", low=5, high=9, k=0.3)
    assert parse_score_spec("qed step(0.5,)").transform == Transform(kind="step", low=0.5)
    assert parse_score_spec("similarity:CCO,c1ccccc1").smiles == ["CCO", "c1ccccc1"]
    assert parse_constraint("mw <= 500") == Constraint(metric="mw", op="<=", value=500)
    for spec, text in [("foo", "unknown score 'foo'; choose from: qed, sa, similarity"),
                       ("qed wobble(1,2)", "unknown transform 'wobble'"),
                       ("qed colour=red", "unknown option 'colour'"),
                       ("qed:x", "score 'qed' takes no argument"),
                       ("similarity", "a similarity score needs 'smiles'"),
                       ("qed sigmoid(9,5)", "sigmoid needs low < high")]:  # fmt: skip
        with pytest.raises(InputError, match=text.replace("(", r"\(")):
            parse_score_spec(spec)
    with pytest.raises(InputError, match="cannot read constraint"):
        parse_constraint("qed is big")
    (tmp_path / "m").mkdir()
    toml = tmp_path / "objective.toml"
    toml.write_text('must_not = ["[N+](=O)[O-]"]\n[[components]]\nkind = "qed"\n'
                    '[[components]]\nkind = "model"\npath = "m"\n'
                    '[components.transform]\nkind = "sigmoid"\nlow = 5\nhigh = 9\n'
                    '[[constraints]]\nmetric = "qed"\nop = ">="\nvalue = 0.5\n')  # fmt: skip
    config = load_objective_file(toml)
    assert config.components[1].path == str(tmp_path / "m") and config.must_not == ["[N+](=O)[O-]"]
    merged = objective_from_options(file=str(toml), scores=["sa"], constraints=["mw<=500"])
    assert [c.kind for c in merged.components] == ["qed", "model", "sa"]
    assert len(merged.constraints) == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"components": [{"kind": "qed", "colour": "red"}]}))
    with pytest.raises(InputError, match="invalid objective: components.0.colour"):
        load_objective_file(bad)


def test_model_component_predicts_like_the_saved_model(esol_csv: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "esol"
    assert main(["train", str(esol_csv), "--target", "logp", "--model", "svm", "--split", "random",
                 "--out", str(model_dir), "--quiet"]) == 0  # fmt: skip
    with pytest.raises(InputError, match="predicts values, not probabilities; give a transform"):
        objective(f"model:{model_dir}")
    with pytest.raises(InputError, match="model has no target 'pKi'; targets: logp"):
        objective(f"model:{model_dir}:pKi sigmoid(-6,0)")
    scorer = objective(f"model:{model_dir}:logp name=solubility sigmoid(-6,0)")
    s = scorer.score([ASPIRIN, "C1CC", "CCO"])
    expected = load_model(model_dir).model.predict([ASPIRIN, "CCO"])[:, 0]  # type: ignore[list-item]
    np.testing.assert_allclose(s.raw["solubility"][[0, 2]], expected)
    np.testing.assert_allclose(s.total[[0, 2]], Transform(kind="sigmoid", low=-6, high=0)(expected))
    assert math.isnan(s.total[1])


# ------------------------------------------------------------------ diversity and replay
def test_diversity_filter_buckets_repeats_and_state() -> None:
    df = DiversityFilter(bucket_size=2, min_score=0.5)
    batch = ["Cc1ccccc1", "CCc1ccccc1", "Oc1ccccc1", "CCCc1ccccc1", "Cc1ccccc1", None, "C1CCCCC1"]
    scores = np.array([0.9, 0.4, 0.8, 0.9, 0.9, 0.0, 0.7])
    out = df.apply(batch, scores)
    # benzene bucket: 0.9 fills 1, 0.4 is below min_score (kept, not counted), 0.8 fills 2,
    # then the bucket is full; the repeat of toluene is 0; cyclohexane has its own bucket
    np.testing.assert_array_equal(out, [0.9, 0.4, 0.8, 0.0, 0.0, 0.0, 0.7])
    assert df.buckets == {"c1ccccc1": 2, "C1CCCCC1": 1}
    copy = DiversityFilter(bucket_size=2, min_score=0.5)
    copy.load_state_dict(json.loads(json.dumps(df.state_dict())))
    assert copy.apply(["CCCCc1ccccc1"], np.array([0.9]))[0] == 0.0
    assert copy.apply(["CC1CCCCC1"], np.array([0.9]))[0] == 0.9


def test_replay_memory_keeps_the_best_distinct() -> None:
    memory = ReplayMemory(size=2, sample=5)
    memory.add(np.array([0.3, 0.9, 0.0, 0.5, 0.9]), ["A", "B", "C", "D", "B"],
               ["a", "b", "c", "d", "b2"])  # fmt: skip
    assert memory.entries == [(0.9, "B", "b"), (0.5, "D", "d")]
    picked = memory.sample(np.random.default_rng(0))
    assert sorted(picked) == [(0.5, "d"), (0.9, "b")]
    restored = ReplayMemory(2, 5)
    restored.load_state_dict(json.loads(json.dumps(memory.state_dict())))
    assert restored.entries == memory.entries


# --------------------------------------------------------------------- a tiny prior
# SMILES built by concatenating simple pieces: a grammar a 0.1 M-parameter model learns in
# seconds (on drug-like MOSES molecules it needs far longer before its samples parse)
PIECES = ["C", "CC", "O", "N", "C(C)", "C(=O)", "c1ccccc1", "C1CCCCC1", "c1ccncc1", "C(F)"]
BENZENE_COUNT = "substructure:c1ccccc1 linear(0,2)"


@pytest.fixture(scope="module")
def prior(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    smiles = sorted({"".join(rng.choice(PIECES, size=rng.integers(2, 5))) for _ in range(600)})
    lm = ChemLM.create(SmilesTokenizer.build(smiles), "tiny", max_len=48, seed=0)
    lm.fit(smiles, TrainConfig(max_steps=100, batch_size=32, lr=3e-3, warmup_steps=5,
                               patience=None, quiet=True))  # fmt: skip
    out = tmp_path_factory.mktemp("prior") / "lm"
    save_generator(out, lm)
    return out


def _mean_score(model: ChemLM, scorer: Objective) -> float:
    scores = scorer.score(model.sample(256, seed=123))
    return float(np.nan_to_num(scores.total, nan=0.0).mean())


def test_rl_raises_the_score_of_an_easy_objective(prior: Path) -> None:
    lm = load_generator(prior).generator
    assert isinstance(lm, ChemLM)
    before = {k: v.clone() for k, v in lm.module.state_dict().items()}
    scorer = objective(BENZENE_COUNT)
    result = reinforce(lm, scorer.score, RLConfig(steps=20, batch_size=32, sigma=64, lr=1e-3,
                                                  quiet=True))  # fmt: skip
    assert result.train.steps == 20 and len(result.history) == 20
    prior_score, agent_score = _mean_score(lm, scorer), _mean_score(result.agent, scorer)
    assert agent_score > prior_score + 0.1, (prior_score, agent_score)
    # the prior stays frozen; the stream's memories are filled
    assert all(torch.equal(before[k], v) for k, v in lm.module.state_dict().items())
    assert result.stream.found and result.stream.replay is not None and result.stream.replay.entries
    assert result.stream.diversity is not None and result.stream.diversity.seen


def test_stream_state_round_trips_through_json(prior: Path) -> None:
    lm = load_generator(prior).generator
    assert isinstance(lm, ChemLM)
    scorer = objective(BENZENE_COUNT)

    def stream() -> AgentBatches:
        return AgentBatches(lm, lm, scorer.score, batch_size=8, seed=3,
                            diversity=DiversityFilter(), replay=ReplayMemory(10, 2))  # fmt: skip

    a = stream()
    for _ in range(3):
        a.next_batch()
    b = stream()
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    _, x = a.next_batch()
    _, y = b.next_batch()
    assert all(torch.equal(x[k], y[k]) for k in x) and a.state_dict() == b.state_dict()


# ----------------------------------------------------------------------- the workflow
def test_cli_end_to_end(prior: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, agent = tmp_path / "top.csv", tmp_path / "agent"
    code, stdout, err = run(["optimize", "--prior", str(prior), "--out", str(out), "--steps", "3",
                             "--batch-size", "16", "--score", "qed", "--score", BENZENE_COUNT,
                             "--aggregate", "arithmetic", "--constraint", "mw<=400",
                             "--must-not", "[N+](=O)[O-]", "--top", "10", "--save-agent",
                             str(agent), "--quiet"], capsys)  # fmt: skip
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["steps"] == 3 and summary["sampled"] == 48 and summary["stop_reason"] == "max_steps"
    assert 0 < summary["valid_fraction"] <= 1 and summary["top"]["k"] == len(pd.read_csv(out))
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["rank", "smiles", "score", "qed", "qed_score", "substructure",
                                   "substructure_score", "passes_filters", "scaffold", "novel",
                                   "step"]  # fmt: skip
    assert frame["score"].is_monotonic_decreasing and frame["smiles"].is_unique
    assert frame["step"].between(1, 3).all() and frame["novel"].isna().all()  # corpus unknown
    assert all(parse_smiles(s) is not None for s in frame["smiles"])
    assert isinstance(load_generator(agent).generator, ChemLM)
    assert (tmp_path / "top.csv.checkpoints" / "run.json").is_file()


def test_resume_after_a_time_budget_equals_an_uninterrupted_run(
    prior: Path, tmp_path: Path
) -> None:
    def config(name: str, **kwargs: object) -> OptimizeConfig:
        return OptimizeConfig(prior=str(prior), objective=objective_from_options(
            scores=[BENZENE_COUNT]), out=str(tmp_path / f"{name}.csv"), steps=4, batch_size=16,
            lr=1e-3, top=20, save_agent=str(tmp_path / name), quiet=True, **kwargs)  # type: ignore[arg-type]  # fmt: skip

    whole = run_optimize(config("whole"))
    cut = run_optimize(config("cut", time_budget_minutes=1e-7))
    assert cut.summary["stop_reason"] == "time_budget" and cut.summary["steps"] == 1
    with pytest.raises(InputError, match="setting 'sigma' differs from the run being resumed"):
        run_optimize(config("cut", resume=True, sigma=5.0))
    resumed = run_optimize(config("cut", resume=True))
    assert resumed.summary["steps"] == 4 and resumed.summary["stop_reason"] == "max_steps"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "whole.csv"), pd.read_csv(tmp_path / "cut.csv"))
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "model.safetensors"))
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert whole.summary["trajectory"] == resumed.summary["trajectory"]


def test_bad_inputs_give_one_line_and_exit_2(
    prior: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["optimize", "--prior", str(prior), "--steps", "1", "--quiet"]
    out = str(tmp_path / "o.csv")
    cases = [
        (["--out", out, "--score", "model:" + str(tmp_path / "nope") + " sigmoid(5,9)"],
         "model directory not found"),
        (["--out", out, "--score", "qed", "--must-not", "C((("], "invalid SMARTS 'C(((' (must-not)"),
        (["--out", out, "--score", "logd"], "unknown score 'logd'; choose from"),
        (["--out", out, "--score", "qed", "--constraint", "potency>=5"],
         "unknown name 'potency'; choose from: qed, sa, mw"),
        (["--out", out, "--similar-to", "C1CC"], "similarity reference 'C1CC' is not a valid SMILES"),
        (["--out", out], "no objective: give --score"),
        (["--out", out, "--score", "qed", "--steps", "0"], "invalid arguments: steps"),
        (["--out", str(tmp_path / "o.txt"), "--score", "qed"], "unsupported output type"),
        (["--out", out, "--score", "qed", "--resume"], "nothing to resume"),
    ]  # fmt: skip
    for extra, text in cases:
        one_line_error(*run([*base, *extra], capsys)[::2], text)  # type: ignore[arg-type]
    code, _, err = run(["optimize", "--prior", str(tmp_path / "none"), "--out", out, "--score",
                        "qed"], capsys)  # fmt: skip
    one_line_error(code, err, "unknown generator")
    Path(out).write_text("x\n")
    one_line_error(*run([*base, "--out", out, "--score", "qed"], capsys)[::2],  # type: ignore[arg-type]
                   "output exists; use --force to overwrite")  # fmt: skip


def test_optimize_help_names_every_property_of_the_one_table() -> None:
    """The constraint names in ``optimize --help`` are the property table's (no drift)."""
    from drugforge.cli.optimize import PARSER
    from drugforge.molecules.chem.properties import PROPERTIES, property_spellings

    epilog = " ".join(PARSER["epilog"].split())
    for prop in PROPERTIES:
        assert f" {prop.name} " in epilog or f" {prop.name};" in epilog, prop.name
    for alias, name in property_spellings().items():
        if alias != name:
            assert alias in epilog, alias
