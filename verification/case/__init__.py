"""Verification of the planning job (``corridor.case``): the step modules of
``features/case/`` (one case end to end, and batches), and the planted runners that stand in
for a case's worker.
"""
