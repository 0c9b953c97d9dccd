Feature: The MRMC analyses reproduce the reference tools' published results
  The Van Dyke data (5 readers, 2 modalities, 114 cases) and the published results are in
  verification/fixtures/mrmc/, pinned by SHA-256.  Sources, as recorded in
  published_results.json: the University of Iowa OR-DBM MRMC 2.51 output stored in RJafroc
  (inst/Iowa/VanDyke.txt, commit 44b0e39e), the MRMCaov README and user guide (commits b1a2c876,
  78a8a710), JAFROC 4.2.1 output (RJafroc inst/JAFROC/VanDykeROC.txt).  Tolerance: half a unit
  in the last printed digit.

  @SRS-VAL-002 @SRS-VAL-003 @SRS-VAL-008 @RC-037
  Scenario: Obuchowski-Rockette, random readers and cases, jackknife: Van Dyke
    Given the Van Dyke reader data
    When corridor validate mrmc is run on it with "--json"
    Then each reader's AUC in each modality equals the published value
    And the reader-averaged AUCs, their difference, F, df, p-value and 95 % CI equal the published random-reader random-case results
    And the variance components equal MRMCaov's published values
    And each modality's SE, df and 95 % CI equal the published single-treatment results

  @SRS-VAL-003 @RC-037
  Scenario: Fixed readers and fixed cases: Van Dyke
    Given the Van Dyke reader data
    When corridor validate mrmc is run on it with "--json"
    Then the fixed-reader chi-square, p-value, SE and CI equal the published values
    And each reader's fixed-reader difference, SE and p-value equal the published values
    And the fixed-case F, p-value, SE and CI equal the published values

  @SRS-VAL-005 @RC-037
  Scenario: The DBM pseudovalue analysis: Van Dyke
    Given the Van Dyke reader data
    When corridor validate mrmc is run on it with "--json"
    Then the DBM mean squares equal JAFROC's within 5e-6 relative, JAFROC computing in single precision
    And the DBM variance components equal Iowa's
    And the DBM F equals the OR F

  @SRS-VAL-004 @RC-037
  Scenario: DeLong covariance reproduces MRMCaov, and agrees with the jackknife as expected
    Given the Van Dyke reader data
    When corridor validate mrmc is run on it with "--json --cov delong"
    Then the variance components, F, df, p-value and CI equal MRMCaov's published DeLong results
    And var_error and Cov2 lie within 2 % of the jackknife's

  @SRS-VAL-004
  Scenario: The stratified bootstrap agrees with the jackknife within its Monte Carlo error
    Given the Van Dyke reader data
    When corridor validate mrmc is run on it with "--json --cov bootstrap --resamples 2000 --seed 7"
    Then var_error, Cov2 and F lie within 5 % of the jackknife's
    And the same seed gives the same result

  @SRS-VAL-002 @SRS-VAL-003 @RC-037
  Scenario: Binary sensitivity jackknifed over the positive cases only: Van Dyke
    Given the Van Dyke reader data
    When corridor validate mrmc is run on it with "--json --fom sensitivity --threshold 3"
    Then the mean sensitivities, F, df, p-value and CI equal MRMCaov's published results

  @SRS-VAL-006 @RC-039
  Scenario: Non-inferiority by a margin, with a one-sided p-value
    Given the Van Dyke reader data
    When corridor validate mrmc is run on it with "--json --non-inferiority 0.05"
    Then the one-sided p-value of modality 2 against 1 equals the t tail probability of (difference + 0.05) / SE with the published SE and df
    And modality 2 is non-inferior to 1 and modality 1 is not non-inferior to 2

  @SRS-VAL-011 @RC-038
  Scenario Outline: Sizing from the Van Dyke pilot reproduces RJafroc's power
    Given the Van Dyke reader data
    When corridor validate size is run on it with "--readers 10 --cases <cases> --analysis <analysis> --json"
    Then the power, noncentrality and denominator df equal RJafroc's published "<key>" values

    Examples:
      | analysis | cases | key           |
      | rrrc     | 165   | rrrc_J10_K165 |
      | frrc     | 131   | frrc_J10_K131 |
      | rrfc     | 53    | rrfc_J10_K53  |

  @SRS-VAL-012 @SRS-VAL-006
  Scenario: The model against the readers from the command line
    Given the Van Dyke reader data with reader 4's spin-echo ratings added as reader "model" in modality 1
    When corridor validate model-vs-readers is run on it with "--model-reader model --modality 1 --non-inferiority 0.05 --json"
    Then the model's AUC is reader 4's spin-echo AUC and the readers' mean is the published CINE mean
    And the one-sided non-inferiority p-value equals the t tail probability of (difference + 0.05) / SE
