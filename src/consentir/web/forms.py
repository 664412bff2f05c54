"""HTML forms: read a submitted form into a msgspec Struct, or say what is wrong per field.

Each field is checked on its own, so a person sees every mistake at once, each next to its
field and in their language; the constraints are those declared on the Struct
(`Annotated[str, msgspec.Meta(max_length=100)]`, `Literal[...]`, …).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin, get_type_hints

import msgspec
from msgspec.inspect import type_info

from consentir.errors import DomainError
from consentir.web import boundary
from consentir.web.i18n import domain_message, gettext

S = TypeVar("S", bound=msgspec.Struct)

# `(?![\s\S])`: the end of the text (Python's `$` would accept a final newline).
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+(?![\s\S])"
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=EMAIL_PATTERN)]

FieldErrors = dict[str, str]


class FormInvalid(Exception):
    def __init__(self, errors: FieldErrors, values: Mapping[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors
        self.values = dict(values)
        # Field name → the label the page shows for it, noted by the field macros as they
        # draw the form (components/forms.html), so that the summary of errors above it
        # names each field as the person sees it.
        self.labels: dict[str, str] = {}

    def label(self, name: str, text: str) -> str:
        """Note the label of the field `name` (the field macros call it); nothing to show."""
        self.labels[name] = text
        return ""


def _meta(annotation: Any) -> msgspec.Meta | None:
    """The field's constraints, merged (`Annotated[OneLine, Meta(max_length=…)]` has two)."""
    if get_origin(annotation) is not Annotated:
        if get_origin(annotation) in (Union, UnionType):  # `X | None`
            inner = [a for a in get_args(annotation) if a is not type(None)]
            return _meta(inner[0]) if len(inner) == 1 else None
        return None
    merged: dict[str, Any] = {}
    for extra in get_args(annotation)[1:]:
        if isinstance(extra, msgspec.Meta):
            merged.update({k: v for k, v in _constraints(extra).items() if v is not None})
    return msgspec.Meta(**merged) if merged else None


def _constraints(meta: msgspec.Meta) -> dict[str, Any]:
    names = ("ge", "le", "min_length", "max_length", "pattern")
    return {name: getattr(meta, name) for name in names}


def _explain(annotation: Any, value: str) -> str:
    """The message for a value that failed its field's constraints."""
    meta = _meta(annotation)
    if meta is not None:
        problem = boundary.text_problem(value) if meta.pattern else None
        if problem is not None:
            return gettext(problem)
        if meta.pattern == EMAIL_PATTERN:
            return gettext("Enter an email address, like name@example.org.")
        if meta.max_length is not None and len(value) > meta.max_length:
            return gettext("At most %(count)s characters.") % {"count": meta.max_length}
        if meta.min_length is not None and len(value.strip()) < meta.min_length:
            if meta.min_length <= 1:
                return gettext("This field is required.")
            return gettext("At least %(count)s characters.") % {"count": meta.min_length}
        if meta.ge is not None or meta.le is not None:
            return gettext("Enter a number between %(low)s and %(high)s.") % {
                "low": meta.ge,
                "high": meta.le,
            }
        if meta.pattern is not None:
            return gettext("This value does not have the expected form.")
    return gettext("This value is not valid.")


_TRUE = {"on", "true", "1", "yes"}


def parse_form(struct: type[S], data: Mapping[str, Any]) -> S:
    """The form as `struct`, or FormInvalid with one message per faulty field."""
    values = {key: _text(value) for key, value in data.items()}
    info = type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    hints = {field.name: field for field in info.fields}
    # NUL reaches no handler, not even through a field the Struct does not declare
    # (an idempotency key, a return address): PostgreSQL refuses it in text.
    errors: FieldErrors = {
        key if key in hints else "__all__": gettext(boundary.NOT_ALLOWED)
        for key, value in data.items()
        if any("\x00" in _text(v) for v in (value if isinstance(value, list) else [value]))
    }
    annotations = get_type_hints(struct, include_extras=True)
    clean: dict[str, Any] = {}
    for name, field in hints.items():
        annotation = annotations[name]
        raw = values.get(name)
        if name in errors:
            continue
        if _is_bool(field.type):
            clean[name] = raw is not None and raw.lower() in _TRUE
            continue
        if isinstance(field.type, msgspec.inspect.ListType):  # checkboxes sharing a name
            items = data.get(name, [])
            items = [_text(v).strip() for v in (items if isinstance(items, list) else [items])]
            try:
                clean[name] = msgspec.convert([v for v in items if v], annotation, strict=False)
            except msgspec.ValidationError:
                errors[name] = gettext("This value is not valid.")
                continue
            problem = next(filter(None, map(_out_of_range, clean[name])), None)
            if problem:
                errors[name] = problem
            continue
        if raw is not None and _has_datetime(field.type) and _MINUTES.fullmatch(raw.strip()):
            raw = raw.strip() + ":00"  # <input type="datetime-local"> sends no seconds
        if raw is not None and not raw.strip() and not field.required and not _is_text(field.type):
            continue  # "(optional)" left empty: absent, not invalid
        if raw is None or (raw.strip() == "" and field.required):
            if field.required:
                errors[name] = gettext("This field is required.")
            continue
        value = raw.strip() if not name.startswith("password") else raw
        try:
            clean[name] = msgspec.convert(value, annotation, strict=False)
        except msgspec.ValidationError:
            errors[name] = _explain(annotation, value)
            continue
        problem = _out_of_range(clean[name])
        if problem:
            errors[name] = problem
    if errors:
        raise FormInvalid(errors, values)
    try:
        return msgspec.convert(clean, struct, strict=False)
    except msgspec.ValidationError as exc:  # a cross-field rule in __post_init__
        raise FormInvalid({"__all__": str(exc)}, values) from None


_MINUTES = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def _out_of_range(value: Any) -> str | None:
    """What the boundary refuses in any field whatever its declaration: a date outside the
    window, an integer no column can hold."""
    if isinstance(value, date) and not boundary.in_window(value):
        return gettext(boundary.OUT_OF_WINDOW) % boundary.window_params()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > boundary.INT64_MAX:
        return gettext("This value is not valid.")
    return None


def _text(value: Any) -> str:
    """One form value as text (a repeated name keeps its last value)."""
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value if isinstance(value, str) else str(value)


def _has_datetime(kind: msgspec.inspect.Type) -> bool:
    if isinstance(kind, msgspec.inspect.UnionType):
        return any(_has_datetime(t) for t in kind.types)
    return isinstance(kind, msgspec.inspect.DateTimeType)


def _is_text(kind: msgspec.inspect.Type) -> bool:
    """Whether the empty text is a value of this field (a text field cleared), rather than the
    absence of one (a number, a date or a choice left empty)."""
    if isinstance(kind, msgspec.inspect.UnionType):
        return any(_is_text(t) for t in kind.types)
    return isinstance(kind, msgspec.inspect.StrType)


def _is_bool(kind: msgspec.inspect.Type) -> bool:
    return isinstance(kind, msgspec.inspect.BoolType)


def field_error(error: DomainError) -> FormInvalid:
    """A refusal about one field (e.g. "this slug is taken"), for the form page."""
    message = domain_message(error)
    return FormInvalid({error.field or "__all__": message}, {})


_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG.sub("-", ascii_text.lower()).strip("-")[:60]
