Feature: Agreement statistics reproduce their published examples
  The data and the values their sources print are in verification/fixtures/agreement/
  (manifest.json names each source and pins each file by SHA-256).

  @SRS-VAL-013
  Scenario: The six Shrout-Fleiss ICCs of their Table 2
    Given the agreement example "shrout_fleiss_1979.csv"
    When corridor validate agreement is run on it with "--statistic icc --json"
    Then each ICC equals the published value to its printed digits and names its form

  @SRS-VAL-013
  Scenario: Bland-Altman on the peak-flow meters of the 1986 Lancet paper
    Given the agreement example "bland_altman_1986_pefr.csv"
    When corridor validate agreement is run on it with "--statistic bland-altman --json"
    Then the bias and SD equal the published values to their printed digits
    And the limits of agreement are the bias plus and minus 1.96 SD, inside their 95 % CIs

  @SRS-VAL-013
  Scenario Outline: Cohen's and Fleiss' kappa of the standard examples
    Given the agreement example "<file>"
    When corridor validate agreement is run on it with "--statistic <statistic> --json"
    Then kappa and the observed and chance agreement equal the published values to their printed digits

    Examples:
      | file                 | statistic    |
      | cohen_wikipedia.csv  | cohen-kappa  |
      | fleiss_wikipedia.csv | fleiss-kappa |

  @SRS-VAL-013
  Scenario: A duplicate rating is refused with its row
    Given the agreement example "shrout_fleiss_1979.csv" with its first row repeated at the end
    When corridor validate agreement is run on it with "--statistic icc"
    Then it exits with status 2, naming "row 25: duplicate rating"
