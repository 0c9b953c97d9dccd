Feature: SOUP records match the runtime dependencies
  Every third-party package the software runs on is identified, with its version, and
  evaluated (IEC 62304 §8.1.2, §7.1.3).

  Background:
    Given a copy of the minimal consistent project

  @SRS-TRC-013 @RC-010
  Scenario: A dependency without a SOUP record is undeclared
    Given in "pyproject.toml" the text "dependencies = [\"PyYAML>=6.0,<7\"]" is replaced by "dependencies = [\"PyYAML>=6.0,<7\", \"Jinja2>=3.1\"]"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule            | item         |
      | SOUP-UNDECLARED | SOUP-jinja2  |

  @SRS-TRC-013 @RC-010
  Scenario: A SOUP record of another version is stale
    Given in "requirements_spec/soup/SOUP-PyYAML.yaml" the text "version: \">=6.0,<7\"" is replaced by "version: \">=5.4\""
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule       | item        |
      | SOUP-STALE | SOUP-PyYAML |
    And the finding "SOUP-STALE" for "SOUP-PyYAML" says "version '>=5.4', expected '>=6.0,<7'"

  @SRS-TRC-013
  Scenario: A SOUP record for a package that is no dependency is stale
    Given the file "requirements_spec/soup/SOUP-PyYAML.yaml" is copied to "requirements_spec/soup/SOUP-numpy.yaml"
    And in "requirements_spec/soup/SOUP-numpy.yaml" the text "PyYAML" is replaced by "numpy"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule       | item       |
      | SOUP-STALE | SOUP-numpy |

  @SRS-TRC-013 @RC-010
  Scenario: Packages of a runtime extra need SOUP records, those of other extras do not
    Given in "pyproject.toml" the text "[tool.pytest.ini_options]" is replaced by "[project.optional-dependencies]\ncodecs = [\"pylibjpeg>=2\"]\ntest = [\"pytest>=8\"]\n\n[tool.corridor]\nruntime-extras = [\"codecs\"]\n\n[tool.pytest.ini_options]"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule            | item           |
      | SOUP-UNDECLARED | SOUP-pylibjpeg |
