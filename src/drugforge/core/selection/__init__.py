"""Model selection by cross-validation on the training data only, for any dataset and model
registry: :mod:`~drugforge.core.selection.auto` (choose among candidate models and the averages
of the best ones) and :mod:`~drugforge.core.selection.search` (random hyperparameter search).

A modality supplies its candidates and folds; molecules do so in
:mod:`drugforge.molecules.selection`.
"""
