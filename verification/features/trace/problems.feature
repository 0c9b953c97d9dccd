Feature: Problem reports
  A problem report is a record (IEC 62304 §9): what was found, how and when, its severity on
  the plan's scale, the software items and hazards it touches and its impact on safety, its
  status and, once closed, the change and the scenario that verifies it. Unresolved ones are
  the known anomalies a release lists (§5.8.2, §5.8.3); an open one in a class C item is
  allowed on a branch but blocks the release gate.

  Background:
    Given a copy of the minimal consistent project
    And the file "risk_management/problems/PR-001.yaml" contains:
      """
      id: PR-001
      title: A name of 64 characters wraps the greeting
      description: A name of exactly 64 characters is accepted and wraps the greeting onto two lines.
      found: {activity: code review, date: 2026-11-30, commit: 0123abc}
      severity: minor
      software_items: [demo.greeter]
      hazards: [HAZ-001]
      hazard_evaluation: The warning stays visible below the wrapped greeting; RC-001 still holds.
      root_cause: The limit counts characters; the display wraps at 63.
      status: deferred
      deferral_rationale: Cosmetic; no warning is hidden.
      users_told: Listed in the release notes' known anomalies.
      """

  @SRS-TRC-016 @RC-080
  Scenario: A deferred problem report with its evaluation checks clean, at the release gate too
    When the trace check runs with "--release"
    Then the check passes

  @SRS-TRC-016 @RC-080
  Scenario Outline: A problem report lacking a field its status needs is reported
    Given in "risk_management/problems/PR-001.yaml" the text "status: deferred" is replaced by "status: <status>"
    And in "risk_management/problems/PR-001.yaml" the text "<line>\n" is replaced by ""
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule             | item   |
      | PR-FIELD-MISSING | PR-001 |
    And the finding "PR-FIELD-MISSING" for "PR-001" says "field '<field>' is missing: a <status> problem report needs <what>"
    And the finding "PR-FIELD-MISSING" for "PR-001" is at "risk_management/problems/PR-001.yaml:<at>"

    Examples:
      | status   | field              | line                                                                                         | what                                                    | at |
      | deferred | users_told         | users_told: Listed in the release notes' known anomalies.                                    | what users are told about it, and where                 | 10 |
      | deferred | deferral_rationale | deferral_rationale: Cosmetic; no warning is hidden.                                          | why a release may go ahead with it unresolved           | 10 |
      | open     | hazard_evaluation  | hazard_evaluation: The warning stays visible below the wrapped greeting; RC-001 still holds. | its impact on safety and effectiveness                  | 9  |

  @SRS-TRC-016 @SRS-TRC-017 @RC-080 @RC-081
  Scenario: A closed problem report needs its resolution, its change and a scenario tagged with its ID
    Given in "risk_management/problems/PR-001.yaml" the text "status: deferred" is replaced by "status: closed"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                 | item   |
      | PR-FIELD-MISSING     | PR-001 |
      | PR-FIELD-MISSING     | PR-001 |
      | PR-CLOSED-UNVERIFIED | PR-001 |
    Given in "risk_management/problems/PR-001.yaml" the text "status: closed" is replaced by "status: closed\nresolution: The limit is now 63 characters.\nchange: commit 4567def"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                 | item   |
      | PR-CLOSED-UNVERIFIED | PR-001 |
    And the finding "PR-CLOSED-UNVERIFIED" for "PR-001" says "closed, but no scenario in verification/features/ is tagged @PR-001"
    Given in "verification/features/demo.feature" the text "@SRS-DEM-001" is replaced by "@SRS-DEM-001 @PR-001"
    When the trace check runs with "--release"
    Then the check passes

  @SRS-TRC-017 @RC-081
  Scenario: A closed problem report whose verifying scenario failed is unverified
    Given in "risk_management/problems/PR-001.yaml" the text "status: deferred" is replaced by "status: closed\nresolution: The limit is now 63 characters.\nchange: commit 4567def"
    And in "verification/features/demo.feature" the text "@SRS-DEM-001\n  Scenario: Greeting\n    Given a passing step" is replaced by "@SRS-DEM-001 @PR-001\n  Scenario: Greeting\n    Given a failing step"
    When the project's scenarios are run by pytest
    And the trace check runs with the results "results/junit.xml"
    Then the check fails with exactly these findings:
      | rule                    | item                                         |
      | REQ-VERIFICATION-FAILED | SRS-DEM-001                                  |
      | SCN-FAILED              | verification/features/demo.feature::Greeting |
      | PR-CLOSED-UNVERIFIED    | PR-001                                       |
    And the finding "PR-CLOSED-UNVERIFIED" for "PR-001" says "closed, but its verifying scenario(s) did not pass: Greeting (failed)"

  @SRS-TRC-016 @RC-080
  Scenario: A problem report naming an unknown severity, software item or hazard is reported
    Given in "risk_management/problems/PR-001.yaml" the text "severity: minor" is replaced by "severity: annoying"
    And in "risk_management/problems/PR-001.yaml" the text "software_items: [demo.greeter]" is replaced by "software_items: [demo.greeter, demo.farewell]"
    And in "risk_management/problems/PR-001.yaml" the text "hazards: [HAZ-001]" is replaced by "hazards: [HAZ-001, HAZ-009]"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule          | item   |
      | HAZ-SCALE     | PR-001 |
      | LINK-ORPHANED | PR-001 |
      | LINK-ORPHANED | PR-001 |
    And the finding "HAZ-SCALE" for "PR-001" says "severity 'annoying' is not on the plan's severity scale (expected one of minor, serious, critical)"

  @SRS-TRC-017 @RC-081
  Scenario: A tag naming a problem report that does not exist is orphaned
    Given in "verification/features/demo.feature" the text "@SRS-DEM-001" is replaced by "@SRS-DEM-001 @PR-002"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule          | item                                         |
      | LINK-ORPHANED | verification/features/demo.feature::Greeting |
    And the finding "LINK-ORPHANED" for "verification/features/demo.feature::Greeting" says "tag @PR-002 names no existing requirement, risk control or problem report"

  @SRS-TRC-018 @RC-080
  Scenario: An open problem in a class C software item passes everyday checks and fails the release gate
    Given in "risk_management/problems/PR-001.yaml" the text "status: deferred" is replaced by "status: open"
    When the trace check runs with "--release"
    Then the check passes
    Given in "requirements_spec/software_items.yaml" the text "software_items:\n" is replaced by "software_items:\n  - id: demo.dosing\n    description: Computes a dose.\n    safety_class: C\n    class_rationale: A wrong dose could kill.\n"
    And in "risk_management/problems/PR-001.yaml" the text "software_items: [demo.greeter]" is replaced by "software_items: [demo.greeter, demo.dosing]"
    When the trace check runs
    Then the exit status is 0
    And the findings are exactly:
      | rule                   | item   |
      | PR-OPEN-BLOCKS-RELEASE | PR-001 |
    And the finding "PR-OPEN-BLOCKS-RELEASE" for "PR-001" says "open problem in class C software item(s) demo.dosing"
    When the trace check runs with "--strict"
    Then the exit status is 0
    When the trace check runs with "--release"
    Then the exit status is 1
    And the findings are exactly:
      | rule                   | item   |
      | PR-OPEN-BLOCKS-RELEASE | PR-001 |
    Given in "risk_management/problems/PR-001.yaml" the text "status: open" is replaced by "status: deferred"
    When the trace check runs with "--release"
    Then the check passes
