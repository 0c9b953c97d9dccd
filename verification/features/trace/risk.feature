Feature: Hazards and risk controls
  Risk acceptability is computed from the plan's matrix, and a risk control counts only
  once it is implemented and verified.

  Background:
    Given a copy of the minimal consistent project

  @SRS-TRC-007 @RC-005
  Scenario: A severity off the plan's scale names the levels expected
    Given in "risk_management/hazards/HAZ-001.yaml" the text "probability: frequent" is replaced by "probability: often"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule      | item    |
      | HAZ-SCALE | HAZ-001 |
    And the finding "HAZ-SCALE" for "HAZ-001" says "probability 'often' is not on the plan's probability scale (expected one of remote, occasional, frequent)"
    And the finding "HAZ-SCALE" for "HAZ-001" is at "risk_management/hazards/HAZ-001.yaml:12"

  @SRS-TRC-007 @RC-005
  Scenario: An unacceptable initial risk without risk controls is uncontrolled
    Given in "risk_management/hazards/HAZ-001.yaml" the field "risk_controls" is set to []
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule              | item                                                      |
      | HAZ-UNCONTROLLED  | HAZ-001                                                   |
      | LINK-ORPHANED     | verification/features/demo.feature::Long names are refused |
      | LINK-REVIEW-STALE | RC-001                                                    |

  @SRS-TRC-007 @RC-005
  Scenario: An unacceptable residual risk needs a benefit-risk analysis
    Given in "risk_management/hazards/HAZ-001.yaml" the text "residual_probability: remote" is replaced by "residual_probability: occasional"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                      | item    |
      | HAZ-RESIDUAL-UNACCEPTABLE | HAZ-001 |
    Given in "risk_management/hazards/HAZ-001.yaml" the field "benefit_risk" is set to "The clinical benefit outweighs the residual risk; see the benefit-risk report."
    When the trace check runs
    Then the check passes

  @SRS-TRC-007 @RC-005
  Scenario: A residual severity above the initial one is reported
    Given in "risk_management/hazards/HAZ-001.yaml" the text "residual_severity: serious" is replaced by "residual_severity: critical"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                  | item    |
      | HAZ-RESIDUAL-INCREASE | HAZ-001 |

  @SRS-TRC-008 @RC-006
  Scenario: A risk control no requirement implements is reported
    Given in "risk_management/hazards/HAZ-001.yaml" the text "implemented_by: [SRS-DEM-002]" is replaced by "implemented_by: []"
    And the links to "RC-001" are reviewed
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule               | item   |
      | RC-NOT-IMPLEMENTED | RC-001 |

  @SRS-TRC-008 @RC-006
  Scenario: A risk control whose implementing requirement is unverified is reported
    Given in "verification/features/demo.feature" the text "@SRS-DEM-002 @RC-001" is replaced by "@RC-001"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                | item        |
      | REQ-NO-VERIFICATION | SRS-DEM-002 |
      | RC-NOT-VERIFIED     | RC-001      |
      | LINK-REVIEW-STALE   | SRS-DEM-002 |

  @SRS-TRC-008 @RC-006
  Scenario: A risk control introducing a hazard must name it
    Given in "risk_management/hazards/HAZ-001.yaml" the field "risk_controls.0.introduces_new_hazard" is set to true
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                   | item   |
      | RC-NEW-HAZARD-UNLINKED | RC-001 |

  @SRS-TRC-008 @SRS-TRC-018
  Scenario: A hazard controlled only by information for safety is a warning that fails under --strict and at the release gate
    Given in "risk_management/hazards/HAZ-001.yaml" the text "option: protective-measure" is replaced by "option: information-for-safety"
    And the links to "RC-001" are reviewed
    When the trace check runs
    Then the exit status is 0
    And the findings are exactly:
      | rule        | item    |
      | RC-ONLY-IFS | HAZ-001 |
    When the trace check runs with "--strict"
    Then the exit status is 1
    When the trace check runs with "--release"
    Then the exit status is 1
