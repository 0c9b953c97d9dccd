Feature: Subgroup analyses of a study
  A study definition may name subgroups: a column of its case attribute table
  (case_attributes, a CSV case,<attribute>,...). Each endpoint is analysed again on the cases of
  each level, and a level with fewer positive or negative cases than the stated minimum is
  reported as too few cases, never as a number. The study here is synthetic: the Van Dyke data
  have no case attributes, and none is invented for them.

  @SRS-VAL-021 @RC-087
  Scenario: Each level's AUC per modality is the readers' mean Mann-Whitney AUC on its cases
    Given a synthetic study whose cases are split by slice band into thin, thick and oblique
    When corridor validate study is run on it
    Then results.json gives each of thin and thick its counts of cases, positives and negatives
    And its AUC per modality is the mean over readers of the Mann-Whitney AUC on its cases, inside its 95 % CI
    And its difference is the aided AUC minus the unaided AUC
    And results.json records the SHA-256 of the case attribute table

  @SRS-VAL-022 @RC-087
  Scenario: A level below the minimum is reported as too few cases, not a number
    Given a synthetic study whose cases are split by slice band into thin, thick and oblique
    When corridor validate study is run on it
    Then results.json reports oblique, of 5 positive and 4 negative cases, as too few cases with no estimate
    And report.html and the command's output say oblique has too few cases

  @SRS-VAL-021
  Scenario: A case attribute table missing a case of the data is refused
    Given a synthetic study whose cases are split by slice band, without the row of case-007
    When corridor validate study is run on it
    Then it exits with status 2, naming "1 case(s) of the reader data without a row, e.g. 'case-007'"
