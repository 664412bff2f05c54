"""HTML forms: read a submitted form into a msgspec Struct, or say what is wrong per field.

Each field is checked on its own, so a person sees every mistake at once, each next to its
field and in their language; the constraints are those declared on the Struct
(`Annotated[str, msgspec.Meta(max_length=100)]`, `Literal[...]`, …).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar, get_args, get_origin, get_type_hints

import msgspec
from msgspec.inspect import type_info

from consentir.errors import DomainError
from consentir.web.i18n import gettext

S = TypeVar("S", bound=msgspec.Struct)

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=EMAIL_PATTERN)]

FieldErrors = dict[str, str]


class FormInvalid(Exception):
    def __init__(self, errors: FieldErrors, values: Mapping[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors
        self.values = dict(values)


def _meta(annotation: Any) -> msgspec.Meta | None:
    if get_origin(annotation) is Annotated:
        for extra in get_args(annotation)[1:]:
            if isinstance(extra, msgspec.Meta):
                return extra
    return None


def _explain(annotation: Any, value: str) -> str:
    """The message for a value that failed its field's constraints."""
    meta = _meta(annotation)
    if meta is not None:
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
    annotations = get_type_hints(struct, include_extras=True)
    errors: FieldErrors = {}
    clean: dict[str, Any] = {}
    for name, field in hints.items():
        annotation = annotations[name]
        raw = values.get(name)
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
        if raw is not None and _has_datetime(field.type) and _MINUTES.fullmatch(raw.strip()):
            raw = raw.strip() + ":00"  # <input type="datetime-local"> sends no seconds
        if raw is None or (raw.strip() == "" and field.required):
            if field.required:
                errors[name] = gettext("This field is required.")
            continue
        value = raw.strip() if not name.startswith("password") else raw
        try:
            clean[name] = msgspec.convert(value, annotation, strict=False)
        except msgspec.ValidationError:
            errors[name] = _explain(annotation, value)
    if errors:
        raise FormInvalid(errors, values)
    try:
        return msgspec.convert(clean, struct, strict=False)
    except msgspec.ValidationError as exc:  # a cross-field rule in __post_init__
        raise FormInvalid({"__all__": str(exc)}, values) from None


_MINUTES = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def _text(value: Any) -> str:
    """One form value as text (a repeated name keeps its last value)."""
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value if isinstance(value, str) else str(value)


def _has_datetime(kind: msgspec.inspect.Type) -> bool:
    if isinstance(kind, msgspec.inspect.UnionType):
        return any(_has_datetime(t) for t in kind.types)
    return isinstance(kind, msgspec.inspect.DateTimeType)


def _is_bool(kind: msgspec.inspect.Type) -> bool:
    return isinstance(kind, msgspec.inspect.BoolType)


def field_error(error: DomainError) -> FormInvalid:
    """A refusal about one field (e.g. "this slug is taken"), for the form page."""
    message = gettext(error.message) % error.params if error.params else gettext(error.message)
    return FormInvalid({error.field or "__all__": message}, {})


_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG.sub("-", ascii_text.lower()).strip("-")[:60]
