"""Errors → responses: a page with the request id for people, problem+json for the API."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect

from consentir import db
from consentir.errors import N_, DomainError
from consentir.logs import request_id
from consentir.web.i18n import domain_message, gettext
from consentir.web.templates import render_now

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_UNAVAILABLE = 2  # seconds: a restarting PostgreSQL is usually back by then

# Titles for plain HTTP statuses, translated at render time.
_STATUS: dict[int, tuple[str, str]] = {
    400: ("bad_request", N_("The request could not be understood.")),
    401: ("not_authenticated", N_("You need to sign in to do this.")),
    403: ("forbidden", N_("You are not allowed to do this.")),
    404: ("not_found", N_("This page does not exist, or you cannot see it.")),
    405: ("method_not_allowed", N_("This address does not accept that kind of request.")),
    408: ("request_timeout", N_("The request took too long to arrive. Please try again.")),
    409: ("conflict", N_("Someone changed this at the same time. Please look again.")),
    413: ("too_large", N_("What you sent is too large.")),
    422: ("invalid", N_("Some of what you sent is not valid.")),
    429: ("too_many_requests", N_("Too many attempts. Please wait a moment and try again.")),
    500: ("internal_error", N_("Something went wrong on our side. We have been told.")),
    503: ("unavailable", N_("The service is unavailable for a moment. Please try again.")),
}


def wants_problem_json(request: Request[Any, Any, Any]) -> bool:
    return answers_json(request.url.path, request.headers.get("accept", ""))


def answers_json(path: str, accept: str) -> bool:
    """Whether an error is answered problem+json (the API, a JSON client) or as a page;
    also for the answers made before the app (web/middleware.py)."""
    return path.startswith("/api/") or ("json" in accept and "html" not in accept)


def unavailable_title() -> str:
    """The 503 title, in the request's language."""
    return gettext(_STATUS[503][1])


def _classify(exc: Exception) -> tuple[int, str, str, str | None, list[dict[str, str]]]:
    """(status, code, title, detail, field errors) for any exception."""
    if isinstance(exc, DomainError):
        message = domain_message(exc)
        fields = [{"field": exc.field, "message": message}] if exc.field else []
        return exc.status, exc.code, message, None, fields
    if isinstance(exc, ValidationException):
        fields = [
            {"field": str(item.get("key") or item.get("source") or ""), "message": item["message"]}
            for item in (exc.extra if isinstance(exc.extra, list) else [])
            if isinstance(item, dict) and "message" in item
        ]
        # A body that reads but breaks its schema is unprocessable (422); a query or path
        # parameter of the wrong type is a request that cannot be understood (400).
        items = exc.extra if isinstance(exc.extra, list) else []
        from_body = bool(items) and all(
            isinstance(item, dict) and item.get("source") == "body" for item in items
        )
        status = 422 if from_body else 400
        code, title = _STATUS[status]
        return status, "validation_failed", gettext(title), exc.detail, fields
    if isinstance(exc, HTTPException):
        status = exc.status_code
        code, title = _STATUS.get(status, (f"http_{status}", exc.detail))
        return status, code, gettext(title), None, []
    if db.unavailable(exc):  # the database is down or out of reach: not a bug, say when to retry
        code, title = _STATUS[503]
        return 503, code, gettext(title), None, []
    code, title = _STATUS[500]
    return 500, code, gettext(title), None, []


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status, code, title, detail, fields = _classify(exc)
    rid = request_id.get() or ""
    headers = dict(getattr(exc, "headers", None) or {})
    if code == "unavailable" and not isinstance(exc, HTTPException):
        db.outage.began(exc)  # logged once per outage, not per request
        headers["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
    elif status >= 500:
        log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    if wants_problem_json(request):
        body: dict[str, Any] = {
            "type": f"urn:consentir:problem:{code}",
            "title": title,
            "status": status,
            "code": code,
            "instance": request.url.path,
            "request_id": rid,
        }
        if detail:
            body["detail"] = detail
        if fields:
            body["errors"] = fields
        return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
    if status == 401:  # a page that needs a signed-in person: ask them to sign in, then return
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = "/signin?" + urlencode({"next": target})
        if request.headers.get("hx-request"):
            return Response(None, status_code=200, headers={"HX-Redirect": location})
        return Redirect(location, status_code=303)
    try:
        response = render_now(
            request,
            "error.html",
            {"status": status, "code": code, "title": title, "detail": None},
            status=status,
        )
        response.headers.update(headers)
        return response
    except Exception:  # the page itself failed: never hide the request id behind a blank 500
        log.exception("error page failed")
        return Response(
            f"{status} — {title}\nrequest id: {rid}\n",
            status_code=status,
            media_type=MediaType.TEXT,
        )


exception_handlers: dict[type[Exception] | int, Any] = {Exception: handle_exception}
