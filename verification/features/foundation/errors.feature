Feature: Input errors, safety refusals and defects are told apart
  A user fixes an input error; a safety refusal is the software declining a result it cannot
  stand behind and must never be "fixed" by changing the input until it passes; a defect is a
  bug to report. Each has its own exit status in every command (2, 4, 70) and its own status
  in the batch ledger (input-error, refused, internal-error). The refusals themselves are
  verified where they happen: mesh QA in case/plan.feature and meshing/quality.feature, a stale
  plan in planning/safety.feature, a release stamp without a commit in identity.feature.

  @SRS-FND-001 @RC-047
  Scenario: Every error the device raises on purpose is exactly one kind
    Given every module of the installed corridor and corridor_qms packages is imported
    Then every subclass of the device's root error is an input error or a safety refusal, and none is both
    And no error class of the quality tooling derives from the device's root error

  @SRS-FND-001 @RC-047
  Scenario: A defect in any command exits 70 with its traceback
    Given a planted defect makes the ingest command raise ZeroDivisionError
    When corridor ingest is run on a folder
    Then it exits with status 70 and standard error holds "internal error" and the traceback

  @SRS-FND-001 @RC-047
  Scenario: Bad input to any command exits 2 in one line
    When corridor ingest is run on a folder that does not exist
    Then it exits with status 2 and standard error is one line naming the folder

  @SRS-CLI-003 @RC-054
  Scenario: A reader that closes standard output early ends the command with 141 in one line
    When corridor model inspect is run on the shipped model with its standard output closed by the reader before anything is written
    Then it exits with status 141 and standard error is one line saying standard output was closed, with no traceback
