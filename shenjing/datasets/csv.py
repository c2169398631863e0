"""Tabular data from a CSV file: numeric feature columns and one target column, as a TensorDataset."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy  # host-side parsing of files

from ..backend import get_default_dtype
from ..data.dataset import TensorDataset

__all__ = ["TabularDataset", "load_csv"]


class TabularDataset(TensorDataset):
    """Rows of a table: a :class:`~shenjing.data.TensorDataset` of ``(x, y)``, x the features, y the target.

    Attributes:
        tensors: ``(x, y)``; x (N, D) of the default float dtype (float32); y (N,) int64 class indices for
            classification, float32 values for regression.
        feature_names: the D feature column names, in the order of x's columns.
        target_name: the target column's name.
        classes: for classification, the class names as written in the file; y indexes them. None for regression.
        task: ``"classification"`` or ``"regression"``.
    """

    def __init__(self, x: Any, y: Any, feature_names: list[str], target_name: str, classes: Any, task: str) -> None:
        super().__init__(x, y)
        self.feature_names, self.target_name, self.classes, self.task = feature_names, target_name, classes, task

    @property
    def targets(self) -> Any:
        return self.tensors[1]

    def __repr__(self) -> str:
        kind = f"{len(self.classes)} classes" if self.classes is not None else "regression"
        return (
            f"TabularDataset({len(self)} rows, {len(self.feature_names)} features, target {self.target_name!r}: {kind})"
        )


def _column(names: list[str], key: Any, where: str, role: str) -> int:
    if isinstance(key, int | numpy.integer) and not isinstance(key, bool):
        if not -len(names) <= key < len(names):
            raise ValueError(f"{where}: {role} column index {key} is out of range for {len(names)} columns")
        return int(key) % len(names)
    if key in names:
        return names.index(key)
    raise ValueError(f"{where}: no {role} column named {key!r}; the columns are {names}")


def _numbers(values: list[str], where: str, column: str, first_line: int, hint: str) -> numpy.ndarray:
    try:
        return numpy.array(values, dtype=numpy.float64)
    except ValueError:
        for row, value in enumerate(values):
            try:
                float(value)
            except ValueError:
                shown = "an empty cell" if not value.strip() else repr(value)
                raise ValueError(
                    f"{where}: expected numbers in column {column!r}, got {shown} on line {first_line + row}. {hint}"
                ) from None
        raise


def _class_order(name: str) -> tuple:
    """Sort key: numeric class names by value ("2" before "10"), then the others alphabetically."""
    try:
        return (0, float(name), name)
    except ValueError:
        return (1, 0.0, name)


def load_csv(
    path: str | os.PathLike,
    target: str | int,
    task: str = "classification",
    features: list[str | int] | None = None,
    delimiter: str = ",",
    header: bool = True,
    encoding: str = "utf-8",
) -> TabularDataset:
    """A table from a CSV file as a data set of (features, target) rows.

    Args:
        path: the CSV file.
        target: the target column: its name, or its position (an int; -1 is the last column).
        task: ``"classification"``: the target's distinct values are the classes, sorted (numerically when
            they are all numbers), and y holds each row's class index (int64); ``"regression"``: y holds the
            target's values (float32).
        features: the feature columns (names or positions); default every column but the target. Each must
            hold numbers: encode categories (one-hot, say) before, or leave those columns out here.
        delimiter: the field separator (default ``","``).
        header: whether the first line names the columns (default True); without one, columns are named
            ``"0"``, ``"1"``, … and chosen by position.
        encoding: the file's text encoding.

    Returns:
        A :class:`TabularDataset`: ``(x, y)`` with ``.feature_names``, ``.target_name``, ``.classes``, ``.task``.

    Raises:
        ValueError: a missing target or feature column, a non-numeric feature (naming the column, the line
            and the value), an empty cell, or rows of unequal length.

    Example:
        >>> import pathlib, tempfile
        >>> from shenjing.datasets import load_csv
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "iris.csv"
        >>> _ = path.write_text("length,width,species\\n5.1,3.5,setosa\\n7.0,3.2,versicolor\\n")
        >>> ds = load_csv(path, target="species")
        >>> ds.classes, ds.tensors[1].tolist(), ds.tensors[0].shape
        (['setosa', 'versicolor'], [0, 1], (2, 2))
    """
    where = f"load_csv({os.fspath(path)!r})"
    if task not in ("classification", "regression"):
        raise ValueError(f"{where}: expected task='classification' or 'regression', got {task!r}")
    with Path(path).open(newline="", encoding=encoding) as file:
        rows = [row for row in csv.reader(file, delimiter=delimiter) if row]
    if not rows:
        raise ValueError(f"{where}: the file is empty")
    names = [name.strip() for name in rows[0]] if header else [str(i) for i in range(len(rows[0]))]
    body = rows[1:] if header else rows
    first_line = 2 if header else 1
    if not body:
        raise ValueError(f"{where}: expected at least one data row, got {'only a header' if header else 'none'}")
    for line, row in enumerate(body, start=first_line):
        if len(row) != len(names):
            raise ValueError(
                f"{where}: expected {len(names)} fields on every line (as the first line), got {len(row)} on line "
                f"{line}. Is the delimiter {delimiter!r} right?"
            )
    t = _column(names, target, where, "target")
    if features is None:
        columns = [j for j in range(len(names)) if j != t]
    else:
        columns = [_column(names, key, where, "feature") for key in features]
        if t in columns:
            raise ValueError(f"{where}: the target column {names[t]!r} is also listed in features")
    hint = "Encode it as numbers (one-hot for categories) or leave it out with features=[...]."
    x = numpy.empty((len(body), len(columns)), dtype=get_default_dtype())  # (N, D)
    for k, j in enumerate(columns):
        x[:, k] = _numbers([row[j] for row in body], where, names[j], first_line, hint)
    values = [row[t].strip() for row in body]
    if task == "regression":
        y = _numbers(values, where, names[t], first_line, "Use task='classification' for class labels.")
        y = y.astype(get_default_dtype())
        classes = None
    else:
        if "" in values:
            raise ValueError(f"{where}: expected a class in every row of {names[t]!r}, got an empty cell on line "
                             f"{first_line + values.index('')}")  # fmt: skip
        classes = sorted(set(values), key=_class_order)
        index = {name: i for i, name in enumerate(classes)}
        y = numpy.array([index[v] for v in values], dtype=numpy.int64)
    return TabularDataset(x, y, [names[j] for j in columns], names[t], classes, task)
