"""Drug-target pairs: read and validate pair data, split it (random and cold), pair models.

Uses :mod:`drugforge.molecules` for the molecule half (standardizing, fingerprints) and
:mod:`drugforge.proteins` for the sequence half (validation, sequence features).
"""
