"""A reader's notes about a file ("BatchNorm was folded into ...") reach every rendering of its report."""

from __future__ import annotations

import json

import pytest

from convcost import analyze
from convcost.errors import SpecError
from convcost.render import render
from convcost.render.depth import collapse
from convcost.spec import Conv2D, Model

NOTE = "BatchNorm was folded into 1 convolution by the exporter"


def noted() -> Model:
    return Model("noted", (3, 8, 8), [Conv2D(4, 3, name="c")], notes=(NOTE,))


def test_notes_reach_the_report_and_its_renderings() -> None:
    report = analyze(noted())
    assert report.notes == (NOTE,)
    assert f"Note: {NOTE}\n" in render(report, "table")
    assert f"**Note:** {NOTE}" in render(report, "markdown")
    assert json.loads(render(report, "json"))["notes"] == [NOTE]
    assert collapse(report, 1).notes == (NOTE,)
    assert analyze(noted().with_batch(4)).notes == (NOTE,)


def test_a_model_without_notes_renders_as_before() -> None:
    model = Model("plain", (3, 8, 8), [Conv2D(4, 3, name="c")])
    assert "Note:" not in render(analyze(model), "table")
    assert json.loads(render(analyze(model), "json"))["notes"] == []


def test_notes_must_be_strings() -> None:
    with pytest.raises(SpecError, match="notes must be strings"):
        Model("bad", (3, 8, 8), [Conv2D(4, 3)], notes=(3,))  # type: ignore[arg-type]
