Feature: Identity and links between records
  Links resolve by identifier, so identifiers must be unique and every link must land on
  an existing record of the right kind.

  Background:
    Given a copy of the minimal consistent project

  @SRS-TRC-002 @RC-007
  Scenario: An identifier defined twice is reported at the second definition
    Given the file "requirements_spec/srs/SRS-DEM-001.yaml" is copied to "requirements_spec/srs/SRS-DEM-003.yaml"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule        | item        |
      | ID-DUP      | SRS-DEM-001 |
      | ID-FILENAME | SRS-DEM-001 |
    And the finding "ID-DUP" for "SRS-DEM-001" is at "requirements_spec/srs/SRS-DEM-003.yaml:1"

  @SRS-TRC-002 @RC-007
  Scenario: A scenario name used twice in one feature file is reported
    Given the file "verification/features/demo.feature" contains:
      """
      Feature: Demo greeter

        @SRS-DEM-001
        Scenario: Greeting
          Given a passing step

        @SRS-DEM-002 @RC-001
        Scenario: Long names are refused
          Given a passing step

        @SRS-DEM-001
        Scenario: Greeting
          Given a passing step
      """
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule   | item                                        |
      | ID-DUP | verification/features/demo.feature::Greeting |

  @SRS-TRC-002
  Scenario: A record not named after its identifier is reported
    Given the file "requirements_spec/srs/SRS-DEM-001.yaml" is moved to "requirements_spec/srs/SRS-DEM-010.yaml"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule        | item        |
      | ID-FILENAME | SRS-DEM-001 |

  @SRS-TRC-003 @RC-006
  Scenario: A scenario tag naming no record is orphaned
    Given in "verification/features/demo.feature" the text "@SRS-DEM-001" is replaced by "@SRS-DEM-001 @SRS-DEM-009"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule          | item                                        |
      | LINK-ORPHANED | verification/features/demo.feature::Greeting |
    And the finding "LINK-ORPHANED" for "verification/features/demo.feature::Greeting" is at "verification/features/demo.feature:3"

  @SRS-TRC-003 @RC-006
  Scenario: A risk control implemented by a missing requirement is orphaned, and its link suspect
    Given in "risk_management/hazards/HAZ-001.yaml" the text "implemented_by: [SRS-DEM-002]" is replaced by "implemented_by: [SRS-DEM-009]"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule          | item                                                      |
      | LINK-ORPHANED | RC-001                                                    |
      | LINK-SUSPECT  | verification/features/demo.feature::Long names are refused |

  @SRS-TRC-003
  Scenario: A requirement in an unknown software item is orphaned
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the text "software_item: demo.greeter" is replaced by "software_item: demo.unknown"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule          | item        |
      | LINK-ORPHANED | SRS-DEM-001 |

  @SRS-TRC-003 @RC-006
  Scenario: A scenario tagged with a hazard is an unwanted link
    Given in "verification/features/demo.feature" the text "@SRS-DEM-001" is replaced by "@SRS-DEM-001 @HAZ-001"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule          | item                                        |
      | LINK-UNWANTED | verification/features/demo.feature::Greeting |

  @SRS-TRC-003
  Scenario: A requirement whose parent is another requirement is an unwanted link
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the text "parents: [UN-001]" is replaced by "parents: [UN-001, SRS-DEM-002]"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule          | item        |
      | LINK-UNWANTED | SRS-DEM-001 |

  @SRS-TRC-004 @RC-008
  Scenario: A requirement without a parent is reported until it is marked derived
    Given in "requirements_spec/srs/SRS-DEM-002.yaml" the field "parents" is removed
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule          | item        |
      | REQ-NO-PARENT | SRS-DEM-002 |
    Given in "requirements_spec/srs/SRS-DEM-002.yaml" the field "derived" is set to true
    When the trace check runs
    Then the check passes

  @SRS-TRC-005 @RC-002
  Scenario: A requirement no scenario verifies is reported, and so is the untagged scenario
    Given in "verification/features/demo.feature" the text "@SRS-DEM-001" is replaced by ""
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                | item                                        |
      | REQ-NO-VERIFICATION | SRS-DEM-001                                 |
      | SCN-UNTAGGED        | verification/features/demo.feature::Greeting |
      | LINK-REVIEW-STALE   | SRS-DEM-001                                 |

  @SRS-TRC-005 @RC-002
  Scenario: A requirement verified by analysis needs evidence that exists
    Given the file "verification/features/demo.feature" contains:
      """
      Feature: Demo greeter

        @SRS-DEM-002 @RC-001
        Scenario: Long names are refused
          Given a passing step
      """
    And in "requirements_spec/srs/SRS-DEM-001.yaml" the field "verification_method" is set to "analysis"
    And in "requirements_spec/srs/SRS-DEM-001.yaml" the field "evidence" is set to ["README.md"]
    And the links to "SRS-DEM-001" are reviewed
    When the trace check runs
    Then the check passes
    Given the file "README.md" is deleted
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                | item        |
      | LINK-ORPHANED       | SRS-DEM-001 |
      | REQ-NO-VERIFICATION | SRS-DEM-001 |

  @SRS-TRC-015
  Scenario: A requirement of another class than its software item is reported
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the text "safety_class: B" is replaced by "safety_class: C"
    And the links to "SRS-DEM-001" are reviewed
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule               | item        |
      | REQ-CLASS-MISMATCH | SRS-DEM-001 |
    And the finding "REQ-CLASS-MISMATCH" for "SRS-DEM-001" says "safety class C, expected B"

  @SRS-TRC-015
  Scenario: Two requirements with one statement are reported
    Given in "requirements_spec/srs/SRS-DEM-002.yaml" the field "statement" is set to "The software shall print a greeting."
    And the links to "SRS-DEM-002" are reviewed
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                    | item        |
      | REQ-DUPLICATE-STATEMENT | SRS-DEM-002 |
