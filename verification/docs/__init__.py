"""Verification of the audit documents (``corridor_qms.docs``): the step modules of
``features/docs/`` (model cards and the design-history report).
"""
