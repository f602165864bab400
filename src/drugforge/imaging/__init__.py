"""Medical images: readers (PNG, JPEG, TIFF, DICOM, MedMNIST ``.npz``), CNNs and a small ViT,
Grad-CAM saliency.

``io`` reads images and tables of images, ``augment`` draws training augmentations and test-time
views, ``models`` holds the architectures, ``classifier`` the predictor
(:class:`~drugforge.imaging.classifier.ImageClassifier`, registered as ``image-classifier``),
``gradcam`` the saliency maps, ``metrics`` the classification report, ``catalog`` MedMNIST.
"""

from drugforge.core.registry import MODELS

MODELS.register("image-classifier", "drugforge.imaging.classifier:ImageClassifier",
                "CNN or small ViT for image classification (MedMNIST-style)")  # fmt: skip
