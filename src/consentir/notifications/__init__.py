"""Notifications: who is told of what, in the app and by email."""
