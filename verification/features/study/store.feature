Feature: Readers answer into a store that keeps every answer, hides what they must not see, and proves it

  @SRS-STU-003 @RC-095
  Scenario: Tokens are stored only as their SHA-256 and each opens only its own role
    Given a study of 3 readers, 6 cases, 1 training case and 2 modalities
    When corridor study create is run on it
    Then no reader's or the coordinator's token appears in the study folder's files except the tokens file, which has mode 0600
    And each reader's token names that reader, the coordinator's token is the coordinator's, and a wrong token names nobody

  @SRS-STU-004 @RC-095
  Scenario: A reader cannot answer another reader's item
    Given a created study of 3 readers, 6 cases, 1 training case and 2 modalities on a fake clock
    When reader-1 answers an item of reader-2's worklist
    Then the answer is refused as not reader-1's item and nothing is recorded

  @SRS-STU-005 @RC-094
  Scenario: The second session is refused until the washout has passed, saying when it opens
    Given a created study of 3 readers, 6 cases, 1 training case and 2 modalities on a fake clock
    And reader-1 has answered every item of session 1
    When reader-1 answers an item of session 2 27 days later
    Then the answer is refused, saying that session 2 opens 28 days after session 1 ended
    And 28 days after session 1 ended the same answer is accepted

  @SRS-STU-006 @RC-092 @RC-093
  Scenario: An edit is appended, never overwrites, and the chain names a changed event
    Given a created study of 3 readers, 6 cases, 1 training case and 2 modalities on a fake clock
    And reader-1 has answered their first item
    When reader-1 changes that answer
    And the study is locked
    Then the answers hold both revisions, the latest marked, each with its own time and event
    And the chain of events verifies
    And after one byte of the first answer's event is changed in study.sqlite, verification names that event

  @SRS-STU-007 @RC-093
  Scenario: A locked study refuses answers and hides nothing once locked, and nothing before
    Given a created study of 3 readers, 6 cases, 1 training case and 2 modalities on a fake clock
    And reader-1 has answered their first item
    Then the answers are refused before the study is locked
    When the study is locked
    Then reader-1's answer to their next item is refused because the study is locked

  @SRS-STU-006 @RC-092
  Scenario: A process killed while answering loses no acknowledged answer
    Given a created study of 3 readers, 6 cases, 1 training case and 2 modalities on a fake clock
    When a separate process answering reader-1's items is killed with SIGKILL after 5 acknowledged answers
    Then every acknowledged answer is in the store with its sequence and hash, and the chain verifies

  @SRS-STU-006 @RC-092
  Scenario: Two readers answering at once through two connections do not clash
    Given a created study of 3 readers, 6 cases, 1 training case and 2 modalities on a fake clock
    When reader-1 and reader-2 answer their session 1 items at the same time, each through their own connection
    Then every answer of both is in the store once, and the chain verifies
