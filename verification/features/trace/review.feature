Feature: Suspect links and their review
  A link from a scenario to a requirement or risk control remembers what the target said
  when a person reviewed it; a change to the target makes the link suspect until reviewed.

  Background:
    Given a copy of the minimal consistent project

  @SRS-TRC-009 @RC-003
  Scenario: Changing a requirement's statement makes its links suspect until reviewed
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the text "print a greeting" is replaced by "print a greeting in the user's language"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule         | item                                        |
      | LINK-SUSPECT | verification/features/demo.feature::Greeting |
    When I run "corridor trace review --root {root} SRS-DEM-001"
    Then the exit status is 0
    When the trace check runs
    Then the check passes

  @SRS-TRC-009 @RC-003
  Scenario: Changing only a requirement's title leaves its links trusted
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the text "title: Greeting" is replaced by "title: Greeting the user"
    When the trace check runs
    Then the check passes

  @SRS-TRC-009 @RC-003
  Scenario: A new link is unreviewed until reviewed
    Given in "verification/features/demo.feature" the text "@SRS-DEM-001" is replaced by "@SRS-DEM-001 @RC-001"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule            | item                                        |
      | LINK-UNREVIEWED | verification/features/demo.feature::Greeting |
    Given the links to "RC-001" are reviewed
    When the trace check runs
    Then the check passes

  @SRS-TRC-009 @RC-003
  Scenario: A review of a link that no longer exists is stale, and reviewing prunes it
    Given in "verification/features/demo.feature" the text "Scenario: Greeting" is replaced by "Scenario: Greeting the user"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule              | item                                                 |
      | LINK-UNREVIEWED   | verification/features/demo.feature::Greeting the user |
      | LINK-REVIEW-STALE | SRS-DEM-001                                          |
    Given the links to "SRS-DEM-001" are reviewed
    When the trace check runs
    Then the check passes

  @SRS-TRC-009 @RC-003
  Scenario: Checking never writes a file
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the text "print a greeting" is replaced by "print a farewell"
    And a fingerprint of every file in the project
    When the trace check runs
    And the traceability matrix is written as "json" to "out"
    Then no file outside "out" has changed

  @SRS-TRC-009
  Scenario: Reviewing an unknown identifier writes nothing
    Given a fingerprint of every file in the project
    When I run "corridor trace review --root {root} SRS-DEM-404"
    Then the exit status is 2
    And standard error is one line naming "SRS-DEM-404"
    And no file outside "out" has changed
