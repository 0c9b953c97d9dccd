"""Verification of the validation statistics (``corridor_qms.validation``): the step modules of
``features/validation/`` and the Roe-Metz simulation they use.
"""
