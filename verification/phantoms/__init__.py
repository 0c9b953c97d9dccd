"""Verification of the phantom generator (``corridor_phantoms``): the step module of
``features/phantoms/``, unit tests, and the independent readers they share.
"""
