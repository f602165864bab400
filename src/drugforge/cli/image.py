"""``drugforge image``: medical image classifiers (:mod:`drugforge.workflows.image`,
``image_apply``).

``image train`` fits a CNN (or small ViT) on a MedMNIST ``.npz``, a folder of class folders or a
CSV of ``path,label``; ``image predict`` writes one row per image in input order (with Grad-CAM
overlays on request); ``image evaluate`` scores a saved model on labelled images.
"""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel

from drugforge.cli.options import add_options, build_config

HELP = "medical images: train, predict (with Grad-CAM), evaluate CNN classifiers"
PARSER = {"description": "Classify X-ray, CT, ultrasound or microscopy images. Data: a "
          "MedMNIST-style .npz (train_images, train_labels, val_*, test_*), a folder of class "
          "folders, a CSV of path,label, or a MedMNIST name (pneumoniamnist, breastmnist, ...). "
          "Images: PNG, JPEG, TIFF, BMP, DICOM."}  # fmt: skip

_TRAIN = ["data", "val", "arch", "auto_pool", "size", "channels", "n_members", "max_epochs",
          "patience", "batch_size", "lr", "no_augment", "vflip", "no_tta", "class_weight", "device",
          "seed", "resume", "require", "mirror", "encoding", "out", "force", "quiet"]  # fmt: skip


def config_models() -> tuple[type[BaseModel], ...]:
    from drugforge.workflows.image import ImageEvaluateConfig, ImageTrainConfig
    from drugforge.workflows.image_apply import ImagePredictConfig

    return (ImageTrainConfig, ImagePredictConfig, ImageEvaluateConfig)


def configure(parser: argparse.ArgumentParser) -> None:
    from drugforge.workflows.image import ImageEvaluateConfig, ImageTrainConfig
    from drugforge.workflows.image_apply import ImagePredictConfig

    sub = parser.add_subparsers(dest="image_command", required=True, metavar="IMAGE_COMMAND")
    train = sub.add_parser("train", help="train, evaluate, gate and save an image classifier")
    add_options(train, ImageTrainConfig, _TRAIN)
    predict = sub.add_parser("predict", help="predict every image of an input, in order")
    add_options(predict, ImagePredictConfig, ["model_dir", "input", "out", "saliency", "part",
                                              "mirror", "encoding", "force", "quiet"])  # fmt: skip
    evaluate = sub.add_parser("evaluate", help="score a saved model on labelled images")
    add_options(evaluate, ImageEvaluateConfig, ["model_dir", "data", "part", "out", "mirror",
                                                "encoding", "force", "quiet"])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    if args.image_command == "train":
        from drugforge.workflows.image import ImageTrainConfig, run_image_train

        result = run_image_train(build_config(ImageTrainConfig, args))
        summary = {"out": str(result.out), "arch": result.arch,
                   "validation": {k: result.metrics["validation"][k]
                                  for k in ("roc_auc", "accuracy", "balanced_accuracy")}}  # fmt: skip
        if "test" in result.metrics:
            summary["test"] = {k: result.metrics["test"][k] for k in ("roc_auc", "accuracy")}
        print(json.dumps(summary, default=float))
    elif args.image_command == "predict":
        from drugforge.workflows.image_apply import ImagePredictConfig, run_image_predict

        run_image_predict(build_config(ImagePredictConfig, args))
    else:
        from drugforge.workflows.image import ImageEvaluateConfig, run_image_evaluate

        report = run_image_evaluate(build_config(ImageEvaluateConfig, args))
        print(json.dumps({k: v for k, v in report.items() if k not in ("confusion",)},
                         default=float))  # fmt: skip
    return 0
