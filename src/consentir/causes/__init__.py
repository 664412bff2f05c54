"""Causes: a local cause accompanied from field observation to celebration (issue 12)."""
