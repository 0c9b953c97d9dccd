Feature: A study definition analysed into results and a report

  @SRS-VAL-015 @SRS-VAL-006 @RC-039
  Scenario: The example study's endpoints reproduce the published Van Dyke results
    Given the example study in validation_study/vandyke-example
    When corridor validate study is run on it
    Then results.json gives auc-non-inferiority the published difference and CI, its one-sided p-value from the published SE and df, and "not supported"
    And results.json gives sensitivity-superiority MRMCaov's published binary-sensitivity difference and CI, and "supported"
    And results.json records the SHA-256 of the definition, the protocol and the data
    And report.html shows the endpoint table, the forest plot and the ROC curves

  @SRS-VAL-015
  Scenario: Everything the report shows is escaped
    Given the example study with its title and a modality description holding HTML markup
    When corridor validate study is run on it
    Then report.html shows the markup as text and holds no element from it

  @SRS-VAL-015
  Scenario: The same inputs give the same bytes
    Given the example study in validation_study/vandyke-example
    When corridor validate study is run on it twice into two folders
    Then the two results.json and the two report.html are byte for byte equal

  @SRS-VAL-015
  Scenario: A definition that names no data is refused
    Given the example study without its data field
    When corridor validate study is run on it
    Then it exits with status 2, naming "names no reader data"
