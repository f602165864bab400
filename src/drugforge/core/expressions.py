"""Safe, vectorized score and filter expressions over named columns.

``drugforge screen --rank "pKi - 0.5*herg_risk" --filter "QED>=0.5 and not PAINS"`` evaluates
user text over a chunk of molecules. The text is parsed with Python's :mod:`ast` and only a small
grammar is accepted, so nothing a user types can run code:

* numbers, ``True``/``False``, column names (case-insensitive when unambiguous; names with other
  characters in backticks: ```tox21_NR-AR` > 0.5``),
* ``+ - * / ** %`` and unary ``-``, comparisons ``< <= > >= == !=`` (chains too),
* ``and``, ``or``, ``not``, and the functions ``abs, min, max, log, log10, exp, sqrt, clip``.

Values are numpy arrays (one entry per molecule). A comparison with NaN is false, so a molecule
whose value could not be computed fails a filter that needs it (and says so); a rank that comes
out NaN is reported by the caller, never treated as 0.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from drugforge.core.errors import InputError

__all__ = ["Expression", "parse_expression"]

Env = Mapping[str, np.ndarray]
_Compiled = Callable[[Env], np.ndarray]

#: names listed in an unknown-name error (in the caller's order: its own columns first)
_SHOWN = 24
_BACKTICK = re.compile(r"`([^`]+)`")
_BINARY: dict[type[ast.operator], Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
    ast.Mod: np.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}
_FUNCTIONS: dict[str, tuple[Callable[..., np.ndarray], int, int]] = {
    # name: (function, min args, max args)
    "abs": (np.abs, 1, 1),
    "log": (np.log, 1, 1),
    "log10": (np.log10, 1, 1),
    "exp": (np.exp, 1, 1),
    "sqrt": (np.sqrt, 1, 1),
    "min": (lambda *a: np.minimum.reduce(np.broadcast_arrays(*a)), 2, 8),
    "max": (lambda *a: np.maximum.reduce(np.broadcast_arrays(*a)), 2, 8),
    "clip": (np.clip, 3, 3),
}


@dataclass
class Expression:
    """A parsed expression: its text, the column names it reads, and its evaluator."""

    text: str
    names: frozenset[str]  # resolved column names
    _fn: _Compiled
    conjuncts: tuple[Expression, ...] = ()  # the parts of a top-level ``and``, for reasons

    def evaluate(self, env: Env, n: int) -> np.ndarray:
        """The value for each of ``n`` molecules (float, or bool for a condition)."""
        with np.errstate(all="ignore"):
            value = np.asarray(self._fn(env))
        if value.ndim == 0:
            value = np.full(n, value.item())
        return value

    def holds(self, env: Env, n: int) -> np.ndarray:
        """As a condition: True where the value is true (NaN and 0 are false)."""
        value = self.evaluate(env, n)
        if value.dtype == bool:
            return value
        as_float = value.astype(float)
        truth: np.ndarray = np.nan_to_num(as_float, nan=0.0) != 0.0
        return truth

    def failed_reasons(self, env: Env, n: int) -> list[str]:
        """For each molecule, '' if the condition holds, else which part failed and why."""
        parts = self.conjuncts or (self,)
        reasons = [""] * n
        for part in parts:
            ok = part.holds(env, n)
            bad = np.flatnonzero(~ok)
            if not len(bad):
                continue
            shown = sorted(part.names)[:3]
            for i in bad:
                values = ", ".join(f"{name}={_fmt(env[name][i])}" for name in shown)
                reason = f"{part.text}" + (f" ({values})" if values else "")
                reasons[i] = f"{reasons[i]}; {reason}" if reasons[i] else reason
        return reasons


def _fmt(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return "NaN" if np.isnan(number) else f"{number:.4g}"


def parse_expression(text: str, columns: Iterable[str], *, what: str = "expression",
                     aliases: Mapping[str, str] | None = None) -> Expression:  # fmt: skip
    """Parse ``text`` over the available ``columns``; errors are one line naming the problem.

    Parameters
    ----------
    text
        The user's expression.
    columns
        The names a molecule has (model outputs and built-in properties).
    what
        How to call the expression in an error (``--rank``, ``--filter``).
    aliases
        Other spellings of columns (``logp`` -> ``clogp``), used when no column has the name.
    """
    available = list(columns)
    quoted: dict[str, str] = {}

    def unquote(match: re.Match[str]) -> str:
        key = f"__q{len(quoted)}__"
        quoted[key] = match.group(1)
        return key

    source = _BACKTICK.sub(unquote, text.strip())
    if not source:
        raise InputError(f"{what} is empty")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        raise InputError(f"{what} '{text}' is not a valid expression ({err.msg})") from None
    compiler = _Compiler(available, quoted, text, what, aliases)
    fn = compiler.compile(tree.body)
    conjuncts: tuple[Expression, ...] = ()
    body = tree.body
    if isinstance(body, ast.BoolOp) and isinstance(body.op, ast.And):
        parts = []
        for value in body.values:
            sub = _Compiler(available, quoted, text, what, aliases)
            part_fn = sub.compile(value)
            part_text = _BACKTICK.sub(lambda m: m.group(0), _segment(source, value, quoted))
            parts.append(Expression(part_text, frozenset(sub.used), part_fn))
        conjuncts = tuple(parts)
    return Expression(text.strip(), frozenset(compiler.used), fn, conjuncts)


def _segment(source: str, node: ast.AST, quoted: Mapping[str, str]) -> str:
    """The user's text of one sub-expression (backticked names restored)."""
    piece = ast.get_source_segment(source, node) or ast.unparse(node)
    for key, name in quoted.items():
        piece = piece.replace(key, f"`{name}`")
    return piece


class _Compiler:
    """Turns an accepted AST into nested closures over numpy arrays."""

    def __init__(self, columns: list[str], quoted: Mapping[str, str], text: str, what: str,
                 aliases: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self.columns = columns
        present = set(columns)
        self.aliases = {a.lower(): c for a, c in (aliases or {}).items() if c in present}
        self.lower: dict[str, list[str]] = {}
        for c in columns:
            self.lower.setdefault(c.lower(), []).append(c)
        self.quoted = quoted
        self.text = text
        self.what = what
        self.used: set[str] = set()

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.what} '{self.text}': {message}")

    def resolve(self, name: str) -> str:
        name = self.quoted.get(name, name)
        if name in self.columns:
            return name
        folded = self.lower.get(name.lower(), [])
        if len(folded) == 1:
            return folded[0]
        if name.lower() in self.aliases:
            return self.aliases[name.lower()]
        lower = {c.lower(): c for c in self.columns}
        close = [lower[c] for c in difflib.get_close_matches(name.lower(), lower, n=4, cutoff=0.6)]
        hint = f"did you mean {', '.join(close)}? " if close else ""
        shown = ", ".join(self.columns[:_SHOWN])
        more = f" ... ({len(self.columns) - _SHOWN} more)" if len(self.columns) > _SHOWN else ""
        raise self.fail(f"unknown name '{name}'; {hint}available: {shown}{more}")

    def compile(self, node: ast.AST) -> _Compiled:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                flag = bool(node.value)
                return lambda env: np.asarray(flag)
            if isinstance(node.value, (int, float)):
                number = float(node.value)
                return lambda env: np.asarray(number)
            raise self.fail(f"only numbers are allowed as constants, not {node.value!r}")
        if isinstance(node, ast.Name):
            column = self.resolve(node.id)
            self.used.add(column)
            return lambda env: env[column]
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda env: -operand(env)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                return lambda env: ~_truth(operand(env))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op = _BINARY[type(node.op)]
            left, right = self.compile(node.left), self.compile(node.right)
            return lambda env: op(_num(left(env)), _num(right(env)))
        if isinstance(node, ast.BoolOp):
            parts = [self.compile(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return lambda env: np.logical_and.reduce([_truth(p(env)) for p in parts])
            return lambda env: np.logical_or.reduce([_truth(p(env)) for p in parts])
        if isinstance(node, ast.Compare):
            if not all(type(op) in _COMPARE for op in node.ops):
                raise self.fail("only < <= > >= == != comparisons are allowed")
            first = self.compile(node.left)
            rest = [(_COMPARE[type(op)], self.compile(c)) for op, c in zip(node.ops, node.comparators)]

            def compare(env: Env) -> np.ndarray:
                left = _num(first(env))
                result: np.ndarray | None = None
                for op, right_fn in rest:
                    right = _num(right_fn(env))
                    step = op(left, right)
                    result = step if result is None else np.logical_and(result, step)
                    left = right
                assert result is not None
                return result

            return compare
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            spec = _FUNCTIONS.get(node.func.id)
            if spec is None:
                raise self.fail(
                    f"unknown function '{node.func.id}'; available: {', '.join(sorted(_FUNCTIONS))}"
                )
            fn, low, high = spec
            if not low <= len(node.args) <= high:
                raise self.fail(f"{node.func.id}() takes {low}-{high} arguments")
            args = [self.compile(a) for a in node.args]
            return lambda env: fn(*[_num(a(env)) for a in args])
        raise self.fail(f"'{ast.unparse(node)}' is not allowed here")


def _num(value: np.ndarray) -> np.ndarray:
    return value.astype(float) if value.dtype == bool else value


def _truth(value: np.ndarray) -> np.ndarray:
    if value.dtype == bool:
        return value
    truth: np.ndarray = np.nan_to_num(value.astype(float), nan=0.0) != 0.0
    return truth
