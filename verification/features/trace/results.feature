Feature: Verification results
  The expected scenarios come from the feature files; a scenario that failed, errored, was
  skipped or never ran is reported as such, never counted as verified.

  Background:
    Given a copy of the minimal consistent project

  @SRS-TRC-006 @RC-001
  Scenario: A failing scenario fails the requirement it verifies
    Given in "verification/features/demo.feature" the text "Scenario: Greeting\n    Given a passing step" is replaced by "Scenario: Greeting\n    Given a failing step"
    When the project's scenarios are run by pytest
    And the trace check runs with the results "results/junit.xml"
    Then the check fails with exactly these findings:
      | rule                    | item                                        |
      | REQ-VERIFICATION-FAILED | SRS-DEM-001                                 |
      | SCN-FAILED              | verification/features/demo.feature::Greeting |

  @SRS-TRC-006 @RC-001
  Scenario: A failing scenario of a risk control's requirement leaves the control unverified
    Given in "verification/features/demo.feature" the text "Scenario: Long names are refused\n    Given a passing step" is replaced by "Scenario: Long names are refused\n    Given a failing step"
    When the project's scenarios are run by pytest
    And the trace check runs with the results "results/cucumber.json"
    Then the check fails with exactly these findings:
      | rule                    | item                                                      |
      | REQ-VERIFICATION-FAILED | SRS-DEM-002                                               |
      | SCN-FAILED              | verification/features/demo.feature::Long names are refused |
      | RC-NOT-VERIFIED         | RC-001                                                    |
      | RC-NOT-VERIFIED         | RC-001                                                    |

  @SRS-TRC-006 @RC-001
  Scenario Outline: A skipped scenario is not run, in either results format
    Given in "verification/features/demo.feature" the text "@SRS-DEM-001" is replaced by "@SRS-DEM-001 @skip"
    When the project's scenarios are run by pytest
    And the trace check runs with the results "results/<results>"
    Then the check fails with exactly these findings:
      | rule                     | item                                        |
      | REQ-VERIFICATION-NOT-RUN | SRS-DEM-001                                 |
      | SCN-NO-RESULT            | verification/features/demo.feature::Greeting |
    And the finding "SCN-NO-RESULT" for "verification/features/demo.feature::Greeting" says "<outcome>"

    Examples:
      | results       | outcome |
      | junit.xml     | skipped |
      | cucumber.json | not-run |

  @SRS-TRC-006 @RC-001
  Scenario: A scenario whose set-up errors is reported as errored, not as failed
    Given in "verification/features/demo.feature" the text "@SRS-DEM-001" is replaced by "@SRS-DEM-001 @setup_error"
    When the project's scenarios are run by pytest
    And the trace check runs with the results "results/junit.xml"
    Then the check fails with exactly these findings:
      | rule                    | item                                        |
      | REQ-VERIFICATION-FAILED | SRS-DEM-001                                 |
      | SCN-FAILED              | verification/features/demo.feature::Greeting |
    And the finding "SCN-FAILED" for "verification/features/demo.feature::Greeting" says "errored"

  @SRS-TRC-006 @RC-001
  Scenario: A scenario added after the run has no result
    When the project's scenarios are run by pytest
    And in "verification/features/demo.feature" the text "Feature: Demo greeter" is replaced by "Feature: Demo greeter\n\n  @SRS-DEM-001\n  Scenario: Greeting twice\n    Given a passing step"
    And the trace check runs with the results "results/junit.xml"
    Then the check fails with exactly these findings:
      | rule                     | item                                              |
      | REQ-VERIFICATION-NOT-RUN | SRS-DEM-001                                       |
      | SCN-NO-RESULT            | verification/features/demo.feature::Greeting twice |
      | LINK-UNREVIEWED          | verification/features/demo.feature::Greeting twice |

  @SRS-TRC-006 @SRS-TRC-014 @RC-001
  Scenario: Passing results of a real run satisfy the check
    When the project's scenarios are run by pytest
    And the trace check runs with the results "results/junit.xml"
    Then the check passes

  @SRS-TRC-014 @RC-001
  Scenario: Trace tags become the one registered marker, selectable with -m
    When the project's scenarios are run by pytest with "--strict-markers -m verifies"
    Then pytest reports "2 passed"

  @SRS-TRC-014 @RC-001
  Scenario: Every JUnit test case names its scenario, skipped and errored ones included
    Given the file "verification/features/demo.feature" contains:
      """
      Feature: Demo greeter

        @SRS-DEM-001 @skip
        Scenario: Greeting
          Given a passing step

        @SRS-DEM-002 @RC-001 @setup_error
        Scenario: Long names are refused
          Given a passing step

        @SRS-DEM-002
        Scenario: Long names are refused again
          Given a failing step
      """
    When the project's scenarios are run by pytest
    Then every test case in "results/junit.xml" names its scenario:
      | scenario                                                        | outcome |
      | verification/features/demo.feature::Greeting                    | skipped |
      | verification/features/demo.feature::Long names are refused       | error   |
      | verification/features/demo.feature::Long names are refused again | failure |
