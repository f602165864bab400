"""drugforge.molecules.screening: the chemistry of a library screen, one chunk at a time.

``chunk`` parses a chunk's records and applies the molecule filters (substructures, similarity);
``dedup`` finds the rows that repeat an earlier molecule. The command that streams, predicts,
commits and merges is :mod:`drugforge.workflows.screen`.
"""
