"""Elections by consent: the sociocratic election without candidates."""
