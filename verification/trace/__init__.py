"""Verification of the trace tool (``corridor_qms.trace``): the step modules of
``features/trace/``, run on copies of ``fixtures/minimal``.
"""
