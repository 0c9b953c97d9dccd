Feature: A release in one command
  `corridor release VERSION --out DIR` writes every audit document of one commit into a new
  folder (the design-history report as HTML and PDF with its content manifest, the model card,
  the traceability matrix, the SBOM, the change-impact report since the previous release, the
  test and validation results and the approvals) with a manifest of every file's SHA-256, or
  refuses, listing every reason, when the commit is not ready to release. Checked on a copy of
  the minimal fixture project made a git repository.

  @SRS-DOC-015 @RC-089
  Scenario: A ready commit releases the whole set, every file in its manifest, the same bytes twice
    Given a committed copy of the minimal project tagged "release-1", the results of its scenarios, and keys for the quality, engineering-lead and clinical signers
    And the title of SRS-DEM-002 edited and committed since
    When a draft release is made, each signer approves its design-history.sha256, and the signatures are committed
    And corridor release "0.0.0" is run twice with the results and the signatures, into two folders
    Then both exit 0 and hold the report as HTML and PDF, its content manifest, the matrix as HTML, CSV and JSON, the SBOM, the change impact, the results, the three approvals, the manifest and SHA256SUMS
    And the manifest says "released" at the copy's commit and commit date and lists every other file of the folder with the SHA-256 and size computed here
    And GNU sha256sum checks every file of the folder against SHA256SUMS
    And the two folders are byte for byte equal
    And the change impact is since "release-1" and lists SRS-DEM-002 as edited

  @SRS-DOC-016 @RC-088
  Scenario: An unready commit is refused with every reason and nothing written; a draft writes everything marked draft
    Given a committed copy of the minimal project with an open problem report PR-001 on a class C software item, and the results of its scenarios
    When its requirements.lock is deleted and corridor release "9.9.9" is run without results or signatures
    Then it exits 1 and the release folder does not exist
    And it lists "PR-OPEN-BLOCKS-RELEASE  PR-001", "no test results", "no requirements.lock" and "not approved: no signatures" naming quality, engineering-lead and clinical
    And it lists the version "9.9.9" given and the project's "0.0.0"
    When the lock is restored, a requirement is edited without committing, and corridor release "0.0.0" is run with the results
    Then it exits 1 and the release folder does not exist
    And it lists "PR-OPEN-BLOCKS-RELEASE  PR-001" and "working tree not clean"
    When corridor release "0.0.0" is run with the results and "--draft"
    Then it exits 0 and the manifest says "draft" with the reasons naming PR-001, the missing approvals and the uncommitted change
    And the design-history report is titled DRAFT and the manifest lists every other file of the folder with the SHA-256 computed here
