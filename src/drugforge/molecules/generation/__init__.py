"""drugforge.molecules.generation."""
