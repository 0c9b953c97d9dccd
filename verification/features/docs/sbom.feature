Feature: The SBOM of the device's runtime dependencies
  `corridor docs sbom` writes a CycloneDX SBOM of what the device runs on: the runtime
  dependencies of pyproject.toml and every package they pull in, at the locked versions, each
  a declared SOUP item or a transitive dependency naming the SOUP items that pull it in. The
  FDA asks a cyber device's submission for one; the release carries it.

  @SRS-DOC-007 @RC-082
  Scenario: The project's SBOM is valid CycloneDX 1.6 and lists exactly the runtime closure
    When I write the SBOM of the project
    Then the command succeeds
    And the SBOM validates against the CycloneDX 1.6 JSON schema
    And its metadata component is the device with the version of pyproject.toml
    And its components are exactly the runtime closure walked from the installed distributions, at the locked versions
    And each SOUP package is a component carrying its SOUP record's ID, every other one names SOUP records that reach it
    And the device depends on exactly its declared runtime dependencies, each component on exactly what it requires

  @SRS-DOC-008
  Scenario: Two runs give the same bytes, dated by the lock and numbered by the content
    Given a locked copy of the minimal project depending on Jinja2
    When I write its SBOM twice
    Then the two files are byte-identical
    And the SBOM's timestamp is the lock's date 2026-11-25
    And the SBOM's serial number is the version-5 UUID of the SHA-256 of the document with the nil serial number

  @SRS-DOC-008 @RC-082
  Scenario: An SBOM with a dependency that has no SOUP record is refused
    Given a locked copy of the minimal project depending on Jinja2
    And "rich>=13,<16" is added to its runtime dependencies and locked without a SOUP record
    When I write its SBOM
    Then the command exits 1 naming "SBOM-COMPONENT-UNDECLARED  rich"
    And no SBOM is written

  @SRS-DOC-008
  Scenario: Without a lock there is no SBOM
    Given a locked copy of the minimal project depending on Jinja2
    And its requirements.lock is deleted
    When I write its SBOM
    Then the command exits 2 naming "requirements.lock: not found"
    And no SBOM is written
