"""Invoice models live here."""
