"""Every route of the causes area, for the app to register."""

from __future__ import annotations

from typing import Any

from consentir.causes import (
    api,
    celebrate_routes,
    choice_routes,
    evaluate_routes,
    objective_routes,
    observe_routes,
    routes,
    scenario_routes,
)

ROUTES: list[Any] = [
    *routes.routes,
    *observe_routes.routes,
    *objective_routes.routes,
    *scenario_routes.routes,
    *choice_routes.routes,
    *evaluate_routes.routes,
    *celebrate_routes.routes,
    *api.routes,
]
