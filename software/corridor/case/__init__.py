"""One planning case: CT in, reviewed plan out, every stage wired in one place
(:mod:`corridor.case.job`).

The package itself imports nothing, so that ``corridor audit verify``
(:mod:`corridor.case.audit_cli`) starts without the stages' libraries; import the job from
:mod:`corridor.case.job`.
"""
