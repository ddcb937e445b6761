"""domain/tagged_json.py: the one codec of the frontier's requests and the store's stream."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from domain import tagged_json


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    label: bytes


VALUES: list[Any] = [
    None,
    True,
    3.5,
    "text",
    b"\x00\xff",
    ("a", 1, (b"b",)),
    [1, [2, (3,)]],
    {"plain": {"nested": [b"x"]}},
    {b"Referer": [b"https://a/"], b"X": [b"1", b"2"]},  # headers: keyed by bytes
    {1: "one", (2, 3): "pair"},
    {"__bytes__": "a key spelled like a tag", "__pairs__": 1, "__dict__": 2},
    {"__tuple__": ["not", "a", "tuple"]},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_a_value_comes_back_equal_through_json(value: Any) -> None:
    text = json.dumps(tagged_json.encode(value))
    assert tagged_json.decode(json.loads(text)) == value


def test_a_dataclass_comes_back_only_as_one_of_the_classes_named() -> None:
    classes = {"Point": Point}
    data = json.loads(json.dumps(tagged_json.encode({"p": Point(1, b"\x01")}, classes)))
    assert tagged_json.decode(data, classes) == {"p": Point(1, b"\x01")}
    with pytest.raises(tagged_json.Unencodable, match="Point"):
        tagged_json.encode(Point(1, b""))  # no classes: no dataclass
    with pytest.raises(tagged_json.Undecodable, match="unknown type 'Popen'"):
        tagged_json.decode({"__type__": "Popen", "fields": {}}, classes)
    with pytest.raises(tagged_json.Undecodable, match="Point"):
        tagged_json.decode({"__type__": "Point", "fields": {"nope": 1}}, classes)
    # without classes a "__type__" key is an ordinary key, both ways
    assert tagged_json.decode(tagged_json.encode({"__type__": "x"})) == {"__type__": "x"}
    assert tagged_json.decode(tagged_json.encode({"__type__": "x"}, classes), classes) == {
        "__type__": "x"
    }


def test_anything_else_is_refused_by_name() -> None:
    with pytest.raises(tagged_json.Unencodable, match="cannot encode a object") as error:
        tagged_json.encode({"meta": [object()]})
    assert error.value.kind == "object"
    for bad in ({"__bytes__": "not base64!"}, {"__pairs__": [[["unhashable"], 1]]}):
        with pytest.raises(tagged_json.Undecodable):
            tagged_json.decode(bad)


def test_what_the_two_codecs_wrote_before_still_reads() -> None:
    # the frontier wrote a dict with a key like a tag as pairs; the stream as __dict__
    assert tagged_json.decode({"__pairs__": [["__bytes__", "v"]]}) == {"__bytes__": "v"}
    assert tagged_json.decode({"__dict__": {"__tuple__": [1]}}) == {"__tuple__": [1]}
