"""drugforge.molecules."""
