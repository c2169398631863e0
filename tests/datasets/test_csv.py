"""load_csv(): features as float32, classification targets as int64 class indices, regression as float32, errors."""

from __future__ import annotations

import numpy as np
import pytest

from shenjing.datasets import load_csv

IRIS = """sepal_length,sepal_width,species
5.1,3.5,setosa
7.0,3.2,versicolor
6.3,3.3,virginica
4.9,3.0,setosa
"""


@pytest.fixture
def write(tmp_path):
    def write(text, name="table.csv"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def test_classification_by_name(write):
    ds = load_csv(write(IRIS), target="species")
    x, y = ds.tensors
    assert x.dtype == np.float32 and x.shape == (4, 2)
    np.testing.assert_array_equal(x.numpy(), np.array([[5.1, 3.5], [7.0, 3.2], [6.3, 3.3], [4.9, 3.0]], np.float32))
    assert ds.classes == ["setosa", "versicolor", "virginica"]
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 0]
    assert ds.feature_names == ["sepal_length", "sepal_width"] and ds.target_name == "species"
    assert ds.targets is y and "3 classes" in repr(ds)


def test_numeric_classes_sort_by_value_and_target_by_position(write):
    ds = load_csv(write("a,label,b\n1,10,2\n3,2,4\n5,1,6\n"), target=1)
    assert ds.classes == ["1", "2", "10"] and ds.tensors[1].tolist() == [2, 1, 0]
    assert ds.feature_names == ["a", "b"]


def test_regression_and_last_column(write):
    ds = load_csv(write("x1;x2;price\n1;2;10.5\n3;4;-2\n"), target=-1, task="regression", delimiter=";")
    x, y = ds.tensors
    assert y.dtype == np.float32 and y.tolist() == [10.5, -2.0] and ds.classes is None
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]] and "regression" in repr(ds)


def test_feature_selection_and_no_header(write):
    ds = load_csv(write(IRIS), target="species", features=["sepal_width"])
    assert ds.tensors[0].shape == (4, 1) and ds.feature_names == ["sepal_width"]
    plain = load_csv(write("1,2,0\n3,4,1\n"), target=2, header=False)
    assert plain.feature_names == ["0", "1"] and plain.tensors[1].tolist() == [0, 1]


def test_missing_target_column(write):
    with pytest.raises(
        ValueError, match=r"no target column named 'kind'; the columns are \['sepal_length', 'sepal_width', 'species'\]"
    ):
        load_csv(write(IRIS), target="kind")
    with pytest.raises(ValueError, match="target column index 3 is out of range for 3 columns"):
        load_csv(write(IRIS), target=3)
    with pytest.raises(ValueError, match="also listed in features"):
        load_csv(write(IRIS), target="species", features=["species"])


def test_non_numeric_feature_names_column_line_and_value(write):
    with pytest.raises(ValueError, match=r"numbers in column 'species', got 'setosa' on line 2.*one-hot"):
        load_csv(write(IRIS), target="sepal_width")
    with pytest.raises(ValueError, match=r"numbers in column 'a', got an empty cell on line 3"):
        load_csv(write("a,y\n1,0\n,1\n"), target="y")
    with pytest.raises(ValueError, match=r"numbers in column 'y', got 'cat' on line 2.*task='classification'"):
        load_csv(write("a,y\n1,cat\n"), target="y", task="regression")


def test_malformed_files(write):
    with pytest.raises(ValueError, match=r"expected 3 fields on every line.*got 2 on line 3.*delimiter"):
        load_csv(write("a,b,y\n1,2,0\n1,2\n"), target="y")
    with pytest.raises(ValueError, match="empty"):
        load_csv(write(""), target=0)
    with pytest.raises(ValueError, match="only a header"):
        load_csv(write("a,y\n"), target="y")
    with pytest.raises(ValueError, match="empty cell on line 3"):
        load_csv(write("a,y\n1,0\n2, \n"), target="y")
    with pytest.raises(ValueError, match="task='classification' or 'regression'"):
        load_csv(write(IRIS), target="species", task="ranking")
