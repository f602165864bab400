"""drugforge.core."""
