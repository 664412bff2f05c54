"""Schemathesis over the whole JSON API, from the app's own OpenAPI document, against the
served app (`consentir serve`) with a facilitator's Bearer token: no request it can make,
valid or not, gets a server error, and every response matches what the document says.

Bounded for CI: a few dozen examples per operation, about a minute in all. Path parameters
are often the scenario's real ones (space `alpha`, its proposals), so that the requests
reach the handlers rather than stopping at a 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import TEST_SECRET, free_port, serve, stop, wait_for_health
from tests.scenario import Scenario

EXAMPLES = 80  # per operation (about 30 s in all)


@pytest.fixture
def server(scenario_database: tuple[str, Scenario], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`consentir serve` on a copy of the scenario database, logging to a file (a pipe
    would fill up and block the server); its address and its log."""
    port, log = free_port(), tmp_path / "server.log"
    env = {"DATABASE_URL": scenario_database[0], "SECRET_KEY": TEST_SECRET,
           "DATA_DIR": str(tmp_path), "LOG_LEVEL": "WARNING"}  # fmt: skip
    process = serve(env, port, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process)
        yield base, log
    finally:
        stop(process)


def _real(world: Scenario) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "slug": st.sampled_from(["alpha", "beta"]),
        "proposal_id": st.sampled_from([world.proposal_id, world.draft_id]),
        "number": st.sampled_from(["AL-2026-1", "AL-0-0"]),
    }


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _fuzz(operation: Any, base: str, headers: dict[str, str], real: dict[str, Any]) -> str | None:
    """The first failure found on one operation, if any."""
    session = requests.Session()

    # Valid requests, and requests that break the schema on purpose (each must be a 4xx).
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @given(case=cases, data=st.data())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
    )
    def run(case: Any, data: st.DataObject) -> None:
        for name in case.path_parameters or {}:
            if name in real and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(real[name])
        case.call_and_validate(base_url=base, session=session, headers=headers, checks=CHECKS)

    try:
        run()
    except Exception as failure:
        return f"{operation.label}: {failure}"[:3000]
    return None


def test_the_api_holds_under_fuzzing(server: tuple[str, Path], world: Scenario) -> None:
    base, log = server
    document = requests.get(f"{base}/schema/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    headers = {"authorization": f"Bearer {world.api_tokens['facilitator']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20  # every step is its own operation
    failures = [
        _fuzz(operation, base, headers, _real(world))
        for operation in operations
        if not operation.path.startswith("/live/")  # an endless stream (tests/test_live.py)
    ]
    assert not any(failures), "\n\n".join([*(f for f in failures if f), log.read_text()[-5000:]])
