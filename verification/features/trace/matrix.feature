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
