"""Integration models (installations, connections, webhook and job records) live here."""
