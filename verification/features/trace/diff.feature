Feature: Change-impact analysis
  Before a release: what changed since the last one, and which verification and hazards
  does that put in doubt?

  Background:
    Given a copy of the minimal consistent project
    And the project is committed to a new git repository

  @SRS-TRC-011 @RC-004
  Scenario: A changed requirement makes its scenarios suspect and its hazards affected
    Given in "requirements_spec/srs/SRS-DEM-002.yaml" the text "64 characters" is replaced by "32 characters"
    When I run "corridor trace diff --root {root} HEAD"
    Then the exit status is 0
    And standard output is exactly:
      """
      CHANGED  SRS-DEM-002  requirement
      SUSPECT  verification/features/demo.feature::Long names are refused  via SRS-DEM-002
      AFFECTS  HAZ-001  via SRS-DEM-002
      """

  @SRS-TRC-011 @RC-004
  Scenario: An editorial change is listed as edited with nothing suspect
    Given in "requirements_spec/srs/SRS-DEM-001.yaml" the text "title: Greeting" is replaced by "title: Greeting the user"
    When I run "corridor trace diff --root {root} HEAD"
    Then standard output is exactly:
      """
      EDITED   SRS-DEM-001  requirement
      """

  @SRS-TRC-011
  Scenario: Added and removed records are listed, and scenarios of a removed one are suspect
    Given the file "requirements_spec/srs/SRS-DEM-001.yaml" is moved to "requirements_spec/srs/SRS-DEM-003.yaml"
    And in "requirements_spec/srs/SRS-DEM-003.yaml" the text "id: SRS-DEM-001" is replaced by "id: SRS-DEM-003"
    When I run "corridor trace diff --root {root} HEAD"
    Then standard output is exactly:
      """
      REMOVED  SRS-DEM-001  requirement
      ADDED    SRS-DEM-003  requirement
      SUSPECT  verification/features/demo.feature::Greeting  via SRS-DEM-001
      """

  @SRS-TRC-011
  Scenario: An unknown revision is one clear error
    When I run "corridor trace diff --root {root} no-such-revision"
    Then the exit status is 2
    And standard error is one line naming "no-such-revision"

  @SRS-TRC-022
  Scenario: Problem reports added, changed and closed since the revision are listed
    Given the file "risk_management/problems/PR-001.yaml" contains:
      """
      id: PR-001
      title: Greeting cut at 63 characters
      description: A 64-character name loses its last character.
      found: {activity: verification, date: 2026-11-29}
      severity: minor
      software_items: [demo.greeter]
      hazard_evaluation: None; the name is shown in full elsewhere.
      status: open
      """
    And the file "risk_management/problems/PR-002.yaml" contains:
      """
      id: PR-002
      title: Greeting misspelt
      description: The greeting read 'helo'.
      found: {activity: verification, date: 2026-11-29}
      severity: negligible
      software_items: [demo.greeter]
      hazard_evaluation: None; the greeting is text only.
      status: open
      """
    And the changes are committed
    And in "risk_management/problems/PR-001.yaml" the text "status: open" is replaced by "status: closed\nresolution: The limit counts characters, not bytes.\nchange: commit 89abcde"
    And in "risk_management/problems/PR-002.yaml" the text "severity: negligible" is replaced by "severity: minor"
    And the file "risk_management/problems/PR-003.yaml" contains:
      """
      id: PR-003
      title: Greeting in the wrong language
      description: The greeting ignores the locale.
      found: {activity: code review, date: 2026-11-30}
      severity: negligible
      software_items: [demo.greeter]
      hazard_evaluation: None; the greeting is text only.
      status: open
      """
    When I run "corridor trace diff --root {root} HEAD"
    Then the exit status is 0
    And standard output is exactly:
      """
      CLOSED   PR-001  problem report
      CHANGED  PR-002  problem report
      ADDED    PR-003  problem report
      """
