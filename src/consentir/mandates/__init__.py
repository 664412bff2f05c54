"""Roles and mandates: who holds which seat, for which term, by which decision."""
