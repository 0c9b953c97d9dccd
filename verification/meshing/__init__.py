"""Verification of surface meshing (``corridor.meshing``): the step modules of
``features/meshing/`` and property tests.
"""
