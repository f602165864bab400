"""The commands users know, each ``run_x(config) -> result``, named in one registry.

Front ends (the CLI; the REST API and web app next) find a command here: its entry is the run
function, whose one parameter is the command's :class:`~drugforge.core.config.RunConfig`, so a
front end validates the same settings and gets the same errors whichever way a user comes in.
Commands do not import each other (an import contract; ``demo`` chains train, evaluate and
predict by design).
"""

from __future__ import annotations

from typing import Any

from drugforge.core.registry import Registry

__all__ = ["WORKFLOWS"]

WORKFLOWS: Registry[Any] = Registry("workflow")

_W = "drugforge.workflows"
WORKFLOWS.register("train", f"{_W}.train:run_train", "train, evaluate, gate and save a model")
WORKFLOWS.register("predict", f"{_W}.predict:run_predict", "predict every row of a file")
WORKFLOWS.register("predict.molecules", f"{_W}.predict:run_predict_molecules",
                   "predict SMILES given inline (the REST API)")
WORKFLOWS.register("evaluate", f"{_W}.evaluate:run_evaluate", "score a saved model on a file")
WORKFLOWS.register("export", f"{_W}.export:run_export", "write a saved model as ONNX")
WORKFLOWS.register("screen", f"{_W}.screen:run_screen", "score, filter and rank a library")
WORKFLOWS.register("datasets.show", f"{_W}.datasets:run_dataset_show", "describe a dataset")
WORKFLOWS.register("datasets.export", f"{_W}.datasets:run_dataset_export", "write a dataset")
WORKFLOWS.register("demo", f"{_W}.demo:run_demo", "train, evaluate, predict a built-in set")
WORKFLOWS.register("pretrain", f"{_W}.pretrain:run_pretrain", "pretrain the chemical LM")
WORKFLOWS.register("pretrain.smiles-vae", f"{_W}.generative_train:run_train_vae",
                   "train a SMILES VAE")
WORKFLOWS.register("pretrain.latent-gan", f"{_W}.generative_train:run_train_latent_gan",
                   "train a latent GAN on a SMILES VAE")
WORKFLOWS.register("generate", f"{_W}.generate:run_generate", "sample molecules")
WORKFLOWS.register("embed", f"{_W}.embed:run_embed", "one vector per molecule")
WORKFLOWS.register("profile", f"{_W}.profile:run_profile", "drug-likeness and toxicity profile")
WORKFLOWS.register("profile.molecules", f"{_W}.profile:run_profile_molecules",
                   "profile SMILES given inline (the REST API)")
WORKFLOWS.register("optimize", f"{_W}.optimize:run_optimize", "goal-directed generation")
WORKFLOWS.register("dti.train", f"{_W}.dti:run_dti_train", "train a drug-target affinity model")
WORKFLOWS.register("dti.predict", f"{_W}.dti_apply:run_dti_predict", "predict every pair of a file")
WORKFLOWS.register("dti.predict.pairs", f"{_W}.dti_apply:run_dti_predict_pairs",
                   "predict pairs given inline (the REST API)")
WORKFLOWS.register("dti.profile", f"{_W}.dti_apply:run_dti_profile",
                   "rank a drug-target model's targets for one molecule")
WORKFLOWS.register("dti.profile.molecule", f"{_W}.dti_apply:run_dti_profile_molecule",
                   "dti profile of one molecule given inline (the REST API)")
WORKFLOWS.register("image.train", f"{_W}.image:run_image_train", "train an image classifier")
WORKFLOWS.register("image.predict", f"{_W}.image_apply:run_image_predict",
                   "predict every image of an input")
WORKFLOWS.register("image.predict.inline", f"{_W}.image_apply:run_image_predict_inline",
                   "predict image files given inline (the REST API)")
WORKFLOWS.register("image.evaluate", f"{_W}.image:run_image_evaluate",
                   "score a saved image model on labelled images")
WORKFLOWS.register("benchmark.moses", f"{_W}.benchmark:run_moses_benchmark",
                   "the MOSES metrics of generated molecules")
