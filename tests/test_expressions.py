"""Screen expressions: arithmetic, conditions with reasons, NaN policy, and refusal of code."""

from __future__ import annotations

import numpy as np
import pytest

from drugforge.core.errors import InputError
from drugforge.core.expressions import parse_expression

ENV = {
    "pKi": np.array([7.0, 8.0, 9.0, 6.0]),
    "herg_risk": np.array([0.2, 0.9, 0.1, np.nan]),
    "QED": np.array([0.6, 0.3, 0.7, 0.8]),
    "PAINS": np.array([False, False, True, False]),
    "tox21_NR-AR": np.array([0.1, 0.9, 0.2, 0.3]),
}


def test_rank_arithmetic_and_functions() -> None:
    rank = parse_expression("pki - 0.5*herg_risk", ENV)  # names are case-insensitive
    np.testing.assert_allclose(rank.evaluate(ENV, 4), [6.9, 7.55, 8.95, np.nan])
    assert rank.names == {"pKi", "herg_risk"}
    both = parse_expression("max(pKi, 8) + abs(-1) + clip(QED, 0.5, 0.65) ** 2", ENV)
    np.testing.assert_allclose(both.evaluate(ENV, 4), [9 + 0.36, 9 + 0.25, 10 + 0.4225, 9 + 0.4225])


def test_filter_reasons_name_every_failed_part_with_values() -> None:
    cond = parse_expression("QED>=0.5 and not PAINS and `tox21_NR-AR` < 0.5", ENV)
    assert cond.holds(ENV, 4).tolist() == [True, False, False, True]
    reasons = cond.failed_reasons(ENV, 4)
    assert reasons[0] == "" and reasons[3] == ""
    assert reasons[1] == "QED>=0.5 (QED=0.3); `tox21_NR-AR` < 0.5 (tox21_NR-AR=0.9)"
    assert reasons[2] == "not PAINS (PAINS=True)"


def test_nan_fails_a_comparison() -> None:
    cond = parse_expression("herg_risk < 0.5", ENV)
    assert cond.holds(ENV, 4).tolist() == [True, False, True, False]
    assert cond.failed_reasons(ENV, 4)[3] == "herg_risk < 0.5 (herg_risk=NaN)"
    chained = parse_expression("0.5 < QED <= 0.7", ENV)
    assert chained.holds(ENV, 4).tolist() == [True, False, True, False]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('true')", "not allowed"),
        ("pKi.__class__", "not allowed"),
        ("open('x')", "unknown function 'open'"),
        ("'text' == pKi", "only numbers"),
        ("pkx > 1", "unknown name 'pkx'; did you mean pKi? available: pKi, herg_risk, QED, PAINS,"),
        ("pKi >", "not a valid expression"),
        ("pKi in [1, 2]", "comparisons"),
        ("", "empty"),
    ],
)
def test_anything_else_is_refused_with_one_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_expression(text, ENV, what="--filter")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_aliases_resolve_only_when_no_column_has_the_name() -> None:
    env = {"clogp": np.array([1.0, 4.0]), "logp": np.array([9.0, 9.0])}
    aliased = parse_expression("logp > 2", ["clogp"], aliases={"logp": "clogp"})
    assert aliased.names == frozenset({"clogp"})
    assert aliased.holds(env, 2).tolist() == [False, True]
    own = parse_expression("logp > 2", ["clogp", "logp"], aliases={"logp": "clogp"})
    assert own.names == frozenset({"logp"})  # a column of that name wins (a model output)
    # an alias of a column that is not there is no name at all
    with pytest.raises(InputError, match="unknown name 'logp'"):
        parse_expression("logp > 2", ["mw"], aliases={"logp": "clogp"})
