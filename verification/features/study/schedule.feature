Feature: A reader study's definition and its pre-registered reading schedule

  @SRS-STU-002 @RC-094
  Scenario: Every reader reads every study case once in every modality, counterbalanced
    Given reader studies of 2 to 9 readers, 1 to 12 cases, 1 to 3 modalities, 0 to 2 training cases and any seed
    Then every reader reads every study case exactly once in every modality
    And each modality comes first for floor(R/M) or ceil(R/M) of the R readers
    And each session holds one modality, or every modality in blocks in a one-session study
    And training cases come first in session 1 and nowhere else
    And the same definition gives the same schedule, and another seed another one

  @SRS-STU-002 @SRS-STU-004 @RC-094 @RC-095
  Scenario: The created study stores its schedule and reads it back exactly
    Given a study of 3 readers, 6 cases, 1 training case and 2 modalities
    When corridor study create is run on it
    Then schedule.json read back equals the schedule built from the definition
    And schedule.csv holds the same readings in the same order
    And every reader's worklist is their schedule in order, showing aliases and labels only

  @SRS-STU-001
  Scenario: A definition with errors is refused, naming the file, field, found and expected
    Given a study definition whose rating question is a text question and whose modality label is a modality ID
    When corridor study create is run on it
    Then it exits with status 2 naming the file, "rating_question" and "modality label"
    And no study folder is written

  @SRS-STU-001 @SRS-STU-005
  Scenario: A washout shorter than four weeks is accepted with a warning
    Given a study of 3 readers, 6 cases, 1 training case and 2 modalities with a washout of 14 days
    When corridor study create is run on it
    Then it exits with status 0 warning that the FDA's CAD guidance asks for at least 28 days
