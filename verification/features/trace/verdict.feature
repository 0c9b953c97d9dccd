Feature: The trace check's verdict
  QA/RA staff and CI rely on the exit status of `corridor trace check`, and people on
  findings they can locate.

  Background:
    Given a copy of the minimal consistent project

  @SRS-TRC-001 @RC-008
  Scenario: A consistent project passes the check
    When the trace check runs
    Then the check passes

  @SRS-TRC-001 @RC-008
  Scenario: A planted defect fails the check with one located finding
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the text "parents: [UN-001]" is replaced by "parents: []"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule          | item        |
      | REQ-NO-PARENT | SRS-DEM-001 |
    And the finding "REQ-NO-PARENT" for "SRS-DEM-001" is at "requirements_spec/srs/SRS-DEM-001.yaml:8"

  @SRS-TRC-001
  Scenario: A results file that does not exist is an input error
    When the trace check runs with the results "results/missing.xml"
    Then the exit status is 2
    And standard error is one line naming "missing.xml"

  @SRS-CLI-001
  Scenario: The corridor command lists the trace subcommand
    When I run "corridor --help"
    Then the exit status is 0
    And standard output contains "trace"

  @SRS-CLI-001
  Scenario: The corridor command without a subcommand prints its usage
    When I run "corridor"
    Then the exit status is 64
    And standard error contains "usage: corridor"

  @SRS-CLI-001
  Scenario: A folder that is not a project is one clear error line
    When I run "corridor trace check --root {root}/requirements_spec"
    Then the exit status is 2
    And standard error is one line naming "lacks requirements_spec/ and risk_management/"
