Feature: A finished study is exported and analysed exactly as corridor validate analyses its data

  @SRS-STU-007 @SRS-STU-008 @RC-093 @RC-095
  Scenario: Simulated readers with a known modality effect give the same results through both paths
    Given a created study of 4 readers, 10 cases, 1 training case and 2 modalities on a fake clock
    And every reader has answered every item from a seeded rating model in which the aided modality separates the cases better, changing two answers
    When the study is locked, exported and analysed with corridor study
    Then readings.csv holds, for every reader, modality and study case, the latest rating the model gave, and no training case
    And answers.csv holds every answer given, the two edits included as earlier revisions
    And corridor validate study on the exported study.yaml gives results equal to corridor study analyse's
    And the aided modality has the larger AUC, as the model was built to give
