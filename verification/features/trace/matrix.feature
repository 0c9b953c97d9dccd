Feature: The traceability matrix
  Auditors read the matrix: it must be complete, reproducible, safe to open and link each
  identifier to its record.

  Background:
    Given a copy of the minimal consistent project

  @SRS-TRC-010 @RC-009
  Scenario: Every requirement links to its record file
    When the traceability matrix is written as "html" to "out"
    Then the HTML matrix in "out" links each requirement to its existing record file:
      | requirement | record                                  |
      | SRS-DEM-001 | requirements_spec/srs/SRS-DEM-001.yaml |
      | SRS-DEM-002 | requirements_spec/srs/SRS-DEM-002.yaml |

  @SRS-TRC-010 @RC-009
  Scenario Outline: The same inputs give the same bytes
    When the project's scenarios are run by pytest
    And the traceability matrix is written as "<format>" to "first" with the results "results/junit.xml"
    And the traceability matrix is written as "<format>" to "second" with the results "results/junit.xml"
    Then "first/traceability.<format>" and "second/traceability.<format>" are identical

    Examples:
      | format |
      | html   |
      | csv    |
      | json   |

  @SRS-TRC-010 @RC-009
  Scenario: Markup in a record is shown escaped
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the field "title" is set to "<script>alert('x')</script> & more"
    When the traceability matrix is written as "html" to "out"
    Then "out/traceability.html" contains "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"
    And "out/traceability.html" does not contain "<script>"

  @SRS-TRC-010
  Scenario: The JSON matrix lists every requirement with its scenarios and outcomes
    Given in "verification/features/demo.feature" the text "Scenario: Greeting\n    Given a passing step" is replaced by "Scenario: Greeting\n    Given a failing step"
    When the project's scenarios are run by pytest
    And the traceability matrix is written as "json" to "out" with the results "results/junit.xml"
    Then the JSON matrix in "out" shows:
      | requirement | scenario                                                  | outcome | verification | risk controls |
      | SRS-DEM-001 | verification/features/demo.feature::Greeting               | failed  | failed       |               |
      | SRS-DEM-002 | verification/features/demo.feature::Long names are refused | passed  | passed       | RC-001        |

  @SRS-TRC-021
  Scenario: The matrix lists the problem reports, an open one in a class C item marked as blocking a release
    Given the file "requirements_spec/software_items.yaml" contains:
      """
      software_items:
        - id: demo.greeter
          description: Greets the user.
          safety_class: B
          class_rationale: A wrong greeting could mislead, causing at most non-serious injury.
        - id: demo.core
          description: Formats the greeting.
          safety_class: C
          class_rationale: Planted, a class C item.
      """
    And the file "risk_management/problems/PR-001.yaml" contains:
      """
      id: PR-001
      title: Greeting core crashes on an empty name
      description: An empty name raises instead of being refused.
      found: {activity: verification, date: 2026-11-29}
      severity: minor
      software_items: [demo.core]
      hazards: [HAZ-001]
      hazard_evaluation: The refusal of RC-001 is not reached.
      status: open
      """
    And the file "risk_management/problems/PR-002.yaml" contains:
      """
      id: PR-002
      title: Greeting cut at 63 characters
      description: A 64-character name loses its last character.
      found: {activity: verification, date: 2026-11-29}
      severity: negligible
      software_items: [demo.greeter]
      hazard_evaluation: None; the name is shown in full elsewhere.
      status: deferred
      deferral_rationale: Cosmetic.
      users_told: Release notes.
      """
    When the traceability matrix is written as "json" to "out"
    And the traceability matrix is written as "html" to "out"
    Then the JSON matrix in "out" lists the problem reports:
      | problem report | status   | software items   | hazards | blocks release |
      | PR-001         | open     | demo.core (C)    | HAZ-001 | yes            |
      | PR-002         | deferred | demo.greeter (B) |         | no             |
    And "out/traceability.html" contains "<tr id="PR-001">"
    And "out/traceability.html" contains "blocks release"
