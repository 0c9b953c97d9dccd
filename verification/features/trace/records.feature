Feature: Record validation
  A malformed record must never drop silently out of the trace; every problem names the
  file, line, field and the form expected.

  Background:
    Given a copy of the minimal consistent project

  @SRS-REC-001 @RC-007
  Scenario: A record missing a required field is reported with the field
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the field "rationale" is removed
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule              | item                                        |
      | RECORD-INVALID    | SRS-DEM-001                                 |
      | LINK-ORPHANED     | verification/features/demo.feature::Greeting |
      | LINK-REVIEW-STALE | SRS-DEM-001                                 |
    And the finding "RECORD-INVALID" for "SRS-DEM-001" says "field 'rationale' is missing"

  @SRS-REC-001 @RC-007
  Scenario: A value outside a closed set names the values expected
    Given in "risk_management/hazards/HAZ-001.yaml" the text "option: protective-measure" is replaced by "option: protective"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule              | item                                                      |
      | RECORD-INVALID    | HAZ-001                                                   |
      | LINK-ORPHANED     | verification/features/demo.feature::Long names are refused |
      | LINK-REVIEW-STALE | RC-001                                                    |
    And the finding "RECORD-INVALID" for "HAZ-001" is at "risk_management/hazards/HAZ-001.yaml:16"
    And the finding "RECORD-INVALID" for "HAZ-001" says "'inherent-safety-by-design', 'protective-measure' or 'information-for-safety'"

  @SRS-REC-001 @RC-007
  Scenario: A YAML syntax error is reported with its line
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the text "title: Greeting" is replaced by "title: [Greeting"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule              | item                                        |
      | RECORD-SYNTAX     | SRS-DEM-001                                 |
      | LINK-ORPHANED     | verification/features/demo.feature::Greeting |
      | LINK-REVIEW-STALE | SRS-DEM-001                                 |

  @SRS-REC-001 @RC-007
  Scenario: A Gherkin syntax error is reported, and what it verified becomes unverified
    Given the file "verification/features/demo.feature" contains:
      """
      Feature: Demo greeter
        Scenario: Greeting
          Given a passing step
      Feature: A second feature in the same file
      """
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                | item         |
      | RECORD-SYNTAX       | demo.feature |
      | REQ-NO-VERIFICATION | SRS-DEM-001  |
      | REQ-NO-VERIFICATION | SRS-DEM-002  |
      | RC-NOT-VERIFIED     | RC-001       |
      | LINK-REVIEW-STALE   | SRS-DEM-001  |
      | LINK-REVIEW-STALE   | SRS-DEM-002  |
      | LINK-REVIEW-STALE   | RC-001       |

  @SRS-REC-001 @RC-007
  Scenario: A malformed record identifier is an ID-FORMAT finding
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the text "id: SRS-DEM-001" is replaced by "id: SRS-DEM-1"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule              | item                                        |
      | ID-FORMAT         | SRS-DEM-1                                   |
      | LINK-ORPHANED     | verification/features/demo.feature::Greeting |
      | LINK-REVIEW-STALE | SRS-DEM-001                                 |

  @SRS-REC-001
  Scenario: A malformed trace tag is an ID-FORMAT finding
    Given in "verification/features/demo.feature" the text "@SRS-DEM-001" is replaced by "@SRS-dem-1"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                | item                                        |
      | ID-FORMAT           | verification/features/demo.feature::Greeting |
      | REQ-NO-VERIFICATION | SRS-DEM-001                                 |
      | LINK-REVIEW-STALE   | SRS-DEM-001                                 |

  @SRS-REC-001 @RC-007
  Scenario: A missing risk plan is reported
    Given the file "risk_management/risk_plan.yaml" is deleted
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule           | item      |
      | RECORD-MISSING | risk-plan |

  @SRS-REC-002 @RC-005
  Scenario: An undefined matrix cell is reported
    Given in "risk_management/risk_plan.yaml" the text "minor: {remote: acceptable, occasional: acceptable, frequent: unacceptable}" is replaced by "minor: {remote: acceptable, occasional: acceptable}"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule              | item      |
      | MATRIX-INCOMPLETE | risk-plan |
    And the finding "MATRIX-INCOMPLETE" for "risk-plan" says "minor/frequent is undefined"

  @SRS-REC-002 @RC-005
  Scenario: A matrix accepting more risk than it rejects is reported
    Given in "risk_management/risk_plan.yaml" the text "critical: {remote: acceptable, occasional: unacceptable" is replaced by "critical: {remote: acceptable, occasional: acceptable"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule               | item      |
      | MATRIX-NONMONOTONE | risk-plan |
    And the finding "MATRIX-NONMONOTONE" for "risk-plan" says "serious/occasional is unacceptable"
