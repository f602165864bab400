"""The acceptance gate: parsing requirement expressions and checking them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from drugforge.core.errors import GateFailedError, InputError
from drugforge.core.evaluation.gate import (
    GateResult,
    Requirement,
    check_requirements,
    parse_requirement,
    parse_requirements,
    validate_requirements,
)
from drugforge.core.evaluation.metrics import MetricsResult, compute_metrics


def _regression_result(rmse: float = 0.82, r2: float = 0.6) -> MetricsResult:
    return MetricsResult(
        overall={"rmse": rmse, "mae": 0.6, "r2": r2, "spearman": 0.8, "pearson": 0.8},
        per_task={"logS": {"n": 50, "rmse": rmse, "mae": 0.6, "r2": r2}},
        n=50,
        task="regression",
    )


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rmse<=0.7", Requirement("rmse", "<=", 0.7)),
        ("roc_auc>=0.8", Requirement("roc_auc", ">=", 0.8)),
        ("r2 > 0.5", Requirement("r2", ">", 0.5)),
        ("  cliff_rmse <= .9 ", Requirement("cliff_rmse", "<=", 0.9)),
        ("mae<1e-1", Requirement("mae", "<", 0.1)),
        ("mcc > -0.25", Requirement("mcc", ">", -0.25)),
        ("RMSE <= 1", Requirement("rmse", "<=", 1.0)),
        ("AUC ≥ 0.75", Requirement("roc_auc", ">=", 0.75)),
        ("rmse =< 0.7", Requirement("rmse", "<=", 0.7)),
        ("roc_auc[NR-AR]>=0.7", Requirement("roc_auc", ">=", 0.7, "NR-AR")),
        ("pr_auc [ SR-HSE ] >= 0.3", Requirement("pr_auc", ">=", 0.3, "SR-HSE")),
        ("rmse[log S (mol/L)]<=1", Requirement("rmse", "<=", 1.0, "log S (mol/L)")),
    ],
)
def test_parse_requirement(text: str, expected: Requirement) -> None:
    assert parse_requirement(text) == expected


def test_requirement_text_round_trips() -> None:
    for text in ("rmse<=0.7", "roc_auc[NR-AR]>=0.7", "r2>0.5", "mae<0.001"):
        req = parse_requirement(text)
        assert str(req) == text
        assert parse_requirement(str(req)) == req


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty requirement"),
        ("rmse", "cannot read requirement 'rmse'; expected METRIC OP NUMBER"),
        ("rmse<<0.7", "cannot read requirement"),
        ("rmse<=abc", "cannot read requirement"),
        ("<=0.7", "cannot read requirement"),
        ("rmse<=0.7x", "cannot read requirement"),
        ("rmse=0.7", "uses '='; a metric is never exactly a number"),
        ("rmse==0.7", "uses '=='"),
        ("roc_auc[]>=0.7", "empty target name"),
        ("rmse<=0.7, r2>0.5", "holds 2 requirements where one was expected"),
    ],
)
def test_parse_requirement_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("[", r"\[")) as err:
        parse_requirement(text)
    assert err.value.exit_code == 2
    assert "\n" not in str(err.value)


def test_unknown_metric_lists_valid_ones() -> None:
    with pytest.raises(InputError) as err:
        parse_requirement("rsme<=0.7")
    text = str(err.value)
    assert text.startswith("unknown metric 'rsme' in requirement 'rsme<=0.7'; choose from: ")
    for name in ("rmse", "roc_auc", "cliff_rmse", "pr_auc", "ece"):
        assert name in text


def test_parse_requirements_commas_lists_and_brackets() -> None:
    assert parse_requirements("rmse<=0.7, r2>0.5") == [
        Requirement("rmse", "<=", 0.7),
        Requirement("r2", ">", 0.5),
    ]
    assert parse_requirements(["rmse<=0.7", "roc_auc[a,b]>=0.6; mae<1"]) == [
        Requirement("rmse", "<=", 0.7),
        Requirement("roc_auc", ">=", 0.6, "a,b"),
        Requirement("mae", "<", 1.0),
    ]
    req = Requirement("mae", "<", 1.0)
    assert parse_requirements(req) == [req]
    with pytest.raises(InputError, match="stray comma"):
        parse_requirements("rmse<=0.7,,r2>0.5")
    with pytest.raises(InputError, match="no requirement given"):
        parse_requirements([])


def test_direction_warnings_are_accepted_but_reported() -> None:
    assert parse_requirement("rmse<=0.7").warnings == []
    assert parse_requirement("roc_auc>=0.8").warnings == []
    (warn,) = parse_requirement("rmse>=0.7").warnings
    assert warn == (
        "'rmse>=0.7' asks for rmse to be at least 0.7, but lower rmse is better; "
        "did you mean 'rmse<=0.7'?"
    )
    (warn,) = parse_requirement("roc_auc[NR-AR]<0.8").warnings
    assert "higher roc_auc is better; did you mean 'roc_auc[NR-AR]>0.8'?" in warn
    (warn,) = parse_requirement("roc_auc>=1.2").warnings
    assert warn == "'roc_auc>=1.2' can never be met: roc_auc lies in [0, 1]"


# --------------------------------------------------------------------------- checking


def test_failed_summary_is_plain_language() -> None:
    gate = check_requirements("rmse<=0.7", _regression_result(rmse=0.82))
    assert isinstance(gate, GateResult)
    assert not gate.passed
    assert gate.summary() == "FAILED: rmse = 0.82 on the held-out test set, required <= 0.7"
    (row,) = gate.rows
    assert row.measured == 0.82 and not row.passed


def test_passed_and_mixed() -> None:
    result = _regression_result(rmse=0.62, r2=0.55)
    gate = check_requirements(["rmse<=0.7", "r2>0.5"], result)
    assert gate.passed
    assert gate.summary().splitlines() == [
        "PASSED: all 2 requirements met on the held-out test set",
        "  PASSED: rmse = 0.62 on the held-out test set, required <= 0.7",
        "  PASSED: r2 = 0.55 on the held-out test set, required > 0.5",
    ]
    gate = check_requirements("r2>0.5, rmse<=0.6", result, split="the scaffold test split")
    assert not gate.passed
    lines = gate.summary().splitlines()
    assert lines[0] == "FAILED: 1 of 2 requirements not met on the scaffold test split"
    assert lines[1] == "  FAILED: rmse = 0.62 on the scaffold test split, required <= 0.6"


def test_boundaries_are_exact() -> None:
    result = _regression_result(rmse=0.7)
    assert check_requirements("rmse<=0.7", result).passed
    assert not check_requirements("rmse<0.7", result).passed
    assert check_requirements("rmse>=0.7", result).passed
    assert not check_requirements("rmse>0.7", result).passed


def test_value_shown_with_enough_digits_to_see_why_it_failed() -> None:
    gate = check_requirements("rmse<=0.7", _regression_result(rmse=0.700004))
    assert gate.summary() == "FAILED: rmse = 0.700004 on the held-out test set, required <= 0.7"


def test_per_target_and_nan_metric_fails_with_reason() -> None:
    y = np.array([[0, 0], [0, 1], [0, 1], [0, 0]], dtype=float)
    p = np.array([[0.2, 0.1], [0.7, 0.8], [0.1, 0.6], [0.3, 0.4]])
    result = compute_metrics("classification", y, p, ["NR-AR", "SR-ARE"])
    gate = check_requirements("roc_auc[SR-ARE]>=0.9, roc_auc[NR-AR]>=0.7", result)
    assert not gate.passed
    ok, bad = gate.rows
    assert ok.passed and ok.measured == 1.0
    assert not bad.passed and math.isnan(bad.measured)
    assert "only class 0 among 4 labelled row(s)" in bad.reason
    assert (
        gate.summary()
        .splitlines()[1]
        .startswith(
            "  FAILED: roc_auc[NR-AR] could not be measured on the held-out test set (value is NaN: "
            "NR-AR: only class 0"
        )
    )
    # the macro mean skips the undefined task, so the overall requirement can be met
    assert check_requirements("roc_auc>=0.9", result).passed


def test_missing_metric_and_unknown_target_fail() -> None:
    result = _regression_result()
    gate = check_requirements("cliff_rmse<=0.9, rmse[logP]<=1", result)
    cliff, target = gate.rows
    assert not cliff.passed and cliff.reason == "cliff_rmse was not computed"
    assert not target.passed and target.reason == "no target 'logP' in the results (targets: logS)"


def test_accepts_serialized_and_flat_metrics() -> None:
    result = _regression_result(rmse=0.5)
    assert check_requirements("rmse<=0.7", result.to_dict()).passed
    assert check_requirements("rmse[logS]<=0.7", result.to_dict()).passed
    assert check_requirements("rmse<=0.7", {"rmse": 0.5}).passed
    gate = check_requirements("rmse<=0.7", {"rmse": None})
    assert not gate.passed and "rmse was not computed" in gate.rows[0].reason


def test_direction_warning_in_result_and_dict() -> None:
    gate = check_requirements("rmse>=0.7", _regression_result(rmse=0.82))
    assert gate.passed  # accepted as written
    assert gate.warnings and "lower rmse is better" in gate.warnings[0]
    assert gate.summary().splitlines()[-1].startswith("warning: 'rmse>=0.7' asks for rmse")
    data = gate.to_dict()
    assert data["passed"] is True
    assert data["summary"] == gate.summary()
    assert data["requirements"][0]["text"] == "rmse>=0.7"
    assert data["requirements"][0]["measured"] == 0.82
    assert data["warnings"] == gate.warnings


def test_raise_if_failed() -> None:
    check_requirements("rmse<=0.9", _regression_result()).raise_if_failed()  # no error
    with pytest.raises(GateFailedError) as err:
        check_requirements("rmse<=0.7, r2>0.5", _regression_result()).raise_if_failed()
    assert err.value.exit_code == 3
    assert str(err.value) == "FAILED: rmse = 0.82 on the held-out test set, required <= 0.7"


def test_to_dict_nan_is_null() -> None:
    gate = check_requirements("rmse<=0.7", {"rmse": float("nan")})
    assert gate.to_dict()["requirements"][0]["measured"] is None


def test_validate_requirements_before_training() -> None:
    reqs = parse_requirements("rmse<=0.7, rmse[logS]<=0.8")
    validate_requirements(reqs, "regression", ["logS"])
    with pytest.raises(InputError, match="uses roc_auc, which is not measured for regression"):
        validate_requirements(parse_requirements("roc_auc>=0.8"), "regression", ["logS"])
    with pytest.raises(InputError, match="names target 'logP'.*targets: logS"):
        validate_requirements(parse_requirements("rmse[logP]<=1"), "regression", ["logS"])


def test_requirement_validates_when_built_directly() -> None:
    with pytest.raises(InputError, match="unknown metric 'accuracy_score'"):
        Requirement("accuracy_score", ">=", 0.9)
    with pytest.raises(InputError, match="unknown comparison"):
        Requirement("rmse", "==", 0.9)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="finite number"):
        Requirement("rmse", "<=", float("inf"))
    assert str(Requirement("mae", "<", 1e-5)) == "mae<1e-05"
    assert str(parse_requirement("r2>=0.123456789")) == "r2>=0.123456789"
