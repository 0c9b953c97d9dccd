"""Verification of trajectory planning (``corridor.planning``): the step modules of
``features/planning/`` and the analytic phantoms and brute-force oracle they use.
"""
