"""parse_form reads what browsers send: repeated names as lists, datetime-local values."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest

from consentir.web.forms import FormInvalid, parse_form


class Sample(msgspec.Struct):
    ids: list[int] = []
    when: datetime | None = None


def test_checkboxes_sharing_a_name_become_a_list() -> None:
    assert parse_form(Sample, {"ids": ["3", "5"]}).ids == [3, 5]
    assert parse_form(Sample, {"ids": "7"}).ids == [7]
    assert parse_form(Sample, {}).ids == []
    with pytest.raises(FormInvalid) as invalid:
        parse_form(Sample, {"ids": ["3", "x"]})
    assert "ids" in invalid.value.errors


def test_a_datetime_local_value_without_seconds_is_read() -> None:
    assert parse_form(Sample, {"when": "2030-01-01T11:00"}).when == datetime(2030, 1, 1, 11, 0)
    assert parse_form(Sample, {"when": "2030-01-01T11:00:30"}).when == datetime(
        2030, 1, 1, 11, 0, 30
    )
    with pytest.raises(FormInvalid):
        parse_form(Sample, {"when": "demain"})


def test_a_ticked_checkbox_with_a_hint_keeps_both_attributes() -> None:
    """The checkbox macro once glued `checked` to `aria-describedby` (`checkedaria-…`): the
    box then read as unticked, and its hint was not announced."""
    from consentir.web.templates import environment

    macro = environment().from_string(
        '{% from "components/forms.html" import checkbox %}'
        '{{ checkbox("x", "X", none, checked=true, hint="h") }}'
        '{{ checkbox("y", "Y", none, checked=false) }}'
    )
    html = macro.render()
    assert ' value="on" checked aria-describedby="f-x-hint">' in html
    assert 'id="f-y" name="y" type="checkbox" value="on">' in html
