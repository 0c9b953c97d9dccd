Feature: The SBOM's components are accounted for by SOUP records and the lock
  Every package the device runs on, declared or pulled in, is a SOUP item or is reached from
  one, and is pinned by the lock (IEC 62304 §8.1.2, §7.1.3). The packages each one pulls in
  are read from the installed distributions, which tox installs with the lock; where this
  environment differs from the lock the check warns.

  Background:
    Given a copy of the minimal consistent project
    And the file "requirements.lock" contains:
      """
      # Locked versions, frozen from the test environment on 2026-11-25.
      PyYAML==6.0.4
      """

  @SRS-TRC-019 @RC-082
  Scenario: A locked project whose runtime closure is its SOUP passes
    When the trace check runs
    Then the check passes

  @SRS-TRC-019 @RC-082
  Scenario: A runtime dependency without a SOUP record is an undeclared SBOM component
    Given in "pyproject.toml" the text "dependencies = [\"PyYAML>=6.0,<7\"]" is replaced by "dependencies = [\"PyYAML>=6.0,<7\", \"rich>=13,<16\"]"
    And in "requirements.lock" the text "PyYAML==6.0.4" is replaced by "PyYAML==6.0.4\nrich==15.0.0\nmarkdown-it-py==4.3.0\nmdurl==0.1.2\nPygments==2.21.0"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                      | item      |
      | SOUP-UNDECLARED           | SOUP-rich |
      | SBOM-COMPONENT-UNDECLARED | rich      |
    And the finding "SBOM-COMPONENT-UNDECLARED" for "rich" says "runtime component 'rich' (with what it alone pulls in: markdown-it-py, mdurl, Pygments) is neither a SOUP record's package nor pulled in by one"

  @SRS-TRC-019 @RC-082
  Scenario: A package a SOUP pulls in that the lock does not pin is unlocked
    Given in "pyproject.toml" the text "dependencies = [\"PyYAML>=6.0,<7\"]" is replaced by "dependencies = [\"PyYAML>=6.0,<7\", \"Jinja2>=3.1,<4\"]"
    And the file "requirements_spec/soup/SOUP-PyYAML.yaml" is copied to "requirements_spec/soup/SOUP-Jinja2.yaml"
    And in "requirements_spec/soup/SOUP-Jinja2.yaml" the text "PyYAML" is replaced by "Jinja2"
    And in "requirements_spec/soup/SOUP-Jinja2.yaml" the text "version: \">=6.0,<7\"" is replaced by "version: \">=3.1,<4\""
    And in "requirements.lock" the text "PyYAML==6.0.4" is replaced by "Jinja2==3.1.6\nPyYAML==6.0.4"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                    | item       |
      | SBOM-COMPONENT-UNLOCKED | MarkupSafe |
    And the finding "SBOM-COMPONENT-UNLOCKED" for "MarkupSafe" says "runtime component 'MarkupSafe' (required by Jinja2) has no exact pin in requirements.lock"

  @SRS-TRC-019 @RC-082
  Scenario: A SOUP package pinned in the lock but not installed fails the strict check
    Given in "pyproject.toml" the text "dependencies = [\"PyYAML>=6.0,<7\"]" is replaced by "dependencies = [\"PyYAML>=6.0,<7\", \"corridor-absent-package>=1,<2\"]"
    And the file "requirements_spec/soup/SOUP-PyYAML.yaml" is copied to "requirements_spec/soup/SOUP-corridor-absent-package.yaml"
    And in "requirements_spec/soup/SOUP-corridor-absent-package.yaml" the text "PyYAML" is replaced by "corridor-absent-package"
    And in "requirements_spec/soup/SOUP-corridor-absent-package.yaml" the text "version: \">=6.0,<7\"" is replaced by "version: \">=1,<2\""
    And in "requirements.lock" the text "PyYAML==6.0.4" is replaced by "corridor-absent-package==1.0\nPyYAML==6.0.4"
    When the trace check runs with "--strict"
    Then the check fails with exactly these findings:
      | rule                      | item                    |
      | SBOM-ENVIRONMENT-MISMATCH | corridor-absent-package |
    And the finding "SBOM-ENVIRONMENT-MISMATCH" for "corridor-absent-package" is at "requirements.lock:2"
    And the finding "SBOM-ENVIRONMENT-MISMATCH" for "corridor-absent-package" says "is pinned at 1.0 but not installed"

  @SRS-TRC-019 @RC-082
  Scenario: A package installed at another version than the locked one is a warning
    Given in "requirements.lock" the text "PyYAML==6.0.4" is replaced by "PyYAML==6.0.3"
    When the trace check runs
    Then the exit status is 0
    And the findings are exactly:
      | rule                      | item   |
      | SBOM-ENVIRONMENT-MISMATCH | PyYAML |
    And the finding "SBOM-ENVIRONMENT-MISMATCH" for "PyYAML" says "installed at 6.0.4, expected 6.0.3 as locked"

  @SRS-TRC-019 @RC-082
  Scenario: A SOUP package locked outside its record's range is reported
    Given in "pyproject.toml" the text "PyYAML>=6.0,<7" is replaced by "PyYAML>=7,<8"
    And in "requirements_spec/soup/SOUP-PyYAML.yaml" the text "version: \">=6.0,<7\"" is replaced by "version: \">=7,<8\""
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule                 | item        |
      | SBOM-VERSION-OUTSIDE | SOUP-PyYAML |
    And the finding "SBOM-VERSION-OUTSIDE" for "SOUP-PyYAML" says "PyYAML is locked at 6.0.4 (requirements.lock:2), outside the record's version range '>=7,<8'"

  @SRS-TRC-019
  Scenario: A project without a lock has no SBOM finding
    Given the file "requirements.lock" is deleted
    When the trace check runs
    Then the check passes
