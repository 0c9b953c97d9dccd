Feature: Readers read a whole study in a browser, and its export is analysed as corridor validate analyses it
  Three scripted readers read six cases in two modalities over two sessions in Chromium, answering
  from a seeded rating model in which the plan modality separates the cases better; the washout
  is enforced on a fake clock; what they met, what was stored and what was analysed are each
  compared with what the scenario planted and gave.

  @SRS-STU-011 @SRS-STU-012 @SRS-STU-013 @SRS-STU-016 @SRS-STU-017 @RC-096 @RC-097 @RC-100
  Scenario: Three readers, six cases, two modalities, two sessions, read in Chromium
    Given a study of 3 readers, 6 cases, 2 blinded modalities and 2 sessions served with a fake clock
    When each reader signs in in Chromium and answers session 1 from the seeded rating model, following the next case
    Then each reader met session 1's cases and labels in the stored schedule's order
    And the plan modality's pages showed the report's slices and the plan's verdict, the other modality's pages the ct images, each edge labelled with the patient direction its plane runs to there, and no verdict, and none the patient line
    When each reader opens session 2 before its washout has ended
    Then the worklist and the reading page say when session 2 opens, and an answer posted to it is refused
    When the clock passes the washout and each reader answers session 2 in Chromium
    Then each reader met session 2's cases and labels in the stored schedule's order
    And the coordinator page shows every reader with 6 done and 0 left in both sessions and no answer
    And every page carried the Content-Security-Policy and the browser requested nothing from another origin
    When the study is locked, exported and analysed with corridor study
    Then readings.csv holds exactly the ratings the readers gave, and every reading time is positive
    And corridor validate study on the exported data gives the results corridor study analyse gives
    And the plan modality has the larger AUC, as the rating model was built to give
