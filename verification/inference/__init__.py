"""Verification of segmentation inference (``corridor.inference``): the step modules of
``features/inference/``, unit tests, and the ONNX graphs of known behaviour they use.
"""
