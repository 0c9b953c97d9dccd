"""Verification of image geometry (``corridor.geometry``): property tests."""
