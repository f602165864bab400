"""drugforge.molecules.selection."""
