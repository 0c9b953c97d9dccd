"""Verification of DICOM ingest (``corridor.ingest``): the step modules of
``features/ingest/``, unit and property tests.
"""
