Feature: Degenerate options and data are refused in one line, and an undefined test draws no conclusion
  A clumsy option (a threshold of nan, an alpha of 1.5, a modality given twice) or data that
  cannot be analysed as asked (one modality, no variance at all) made corridor validate stop with
  a traceback (exit 70), or print NaN or a p-value of 0 as a result. Each is refused where it
  enters, with exit status 2 and one line naming the option, field or file, the value found and
  what was expected (an option's line follows argparse's usage lines); a test whose variance is
  0 is reported as undefined, with no p-value and no conclusion.

  @SRS-VAL-019 @RC-056
  Scenario Outline: A degenerate option or data set is refused in one line
    Given <data>
    When corridor validate <analysis> is run on them with "<options>"
    Then it exits with status 2 and one line naming "<named>", without a traceback

    Examples:
      | data                                        | analysis         | options                                  | named                                                                      |
      | the Van Dyke reader data of modality 1 only | mrmc             |                                          | the data have 1 (1); expected at least two                                 |
      | the Van Dyke reader data                    | mrmc             | --modalities 1                           | the data have 1 (1); expected at least two                                 |
      | the Van Dyke reader data                    | mrmc             | --modalities 2 2                         | modality '2' given twice                                                   |
      | the Van Dyke reader data                    | mrmc             | --fom sensitivity --threshold nan        | argument --threshold: found 'nan', expected a finite number                |
      | the Van Dyke reader data                    | mrmc             | --fom sensitivity --threshold inf        | argument --threshold: found 'inf', expected a finite number                |
      | the Van Dyke reader data                    | mrmc             | --non-inferiority nan                    | argument --non-inferiority: found 'nan', expected a finite number >= 0     |
      | the Van Dyke reader data                    | mrmc             | --non-inferiority inf                    | argument --non-inferiority: found 'inf', expected a finite number >= 0     |
      | the Van Dyke reader data                    | mrmc             | --non-inferiority -0.05                  | argument --non-inferiority: found '-0.05', expected a finite number >= 0   |
      | the Van Dyke reader data                    | mrmc             | --cov bootstrap --resamples 1000000      | bootstrap covariance takes at most 100000 resamples (found 1000000)        |
      | the Van Dyke reader data of modality 1 only | size             | --readers 5 --cases 10                   | sizing compares modalities: the data have 1 (1)                            |
      | the Van Dyke reader data                    | size             | --readers 5 --cases 10 --modalities 1 1  | modality '1' given twice                                                   |
      | the Van Dyke reader data                    | size             | --readers 5 --cases 10 --alpha 1.5       | argument --alpha: found '1.5', expected a number strictly between 0 and 1  |
      | the Van Dyke reader data                    | size             | --readers 5 --cases 10 --alpha 0         | argument --alpha: found '0', expected a number strictly between 0 and 1    |
      | the Van Dyke reader data                    | size             | --readers 5 --power 1.5                  | argument --power: found '1.5', expected a number strictly between 0 and 1  |
      | the Van Dyke reader data                    | size             | --readers 5 --power 0                    | argument --power: found '0', expected a number strictly between 0 and 1    |
      | the Van Dyke reader data                    | size             | --readers 5 --cases 10 --effect nan      | argument --effect: found 'nan', expected a finite number                   |
      | the Van Dyke reader data                    | size             | --readers 100000 --cases 10              | sizing takes at most 10000 readers and 10000000 cases                      |
      | the Van Dyke reader data                    | model-vs-readers | --model-reader 1 --non-inferiority inf   | argument --non-inferiority: found 'inf', expected a finite number >= 0     |
      | continuous data whose every value is 2      | continuous       | --test x --reference y                   | every value of x and y is 2: the mixed model has no variance to estimate   |
      | continuous data                             | continuous       | --test x --reference y --margin nan      | argument --margin: found 'nan', expected a finite number >= 0              |
      | ratings whose every value is 4              | agreement        | --statistic icc                          | ICC is undefined: every value is 4                                         |
      | ratings of raters differing by a constant   | agreement        | --statistic icc                          | ICC is undefined: the residual mean square is 0                            |
      | ratings in 101 categories                   | agreement        | --statistic cohen-kappa                  | Cohen's kappa: 101 distinct categories; expected at most 100               |
      | ratings in 101 categories                   | agreement        | --statistic fleiss-kappa                 | Fleiss' kappa: 101 distinct categories; expected at most 100               |

  @SRS-VAL-019
  Scenario Outline: Options and data that were refused in one line stay refused
    Given <data>
    When corridor validate <analysis> is run on them with "<options>"
    Then it exits with status 2 and one line naming "<named>", without a traceback

    Examples:
      | data                     | analysis         | options                              | named                                                    |
      | the Van Dyke reader data | size             | --readers 0 --cases 10               | sizing needs at least two readers and two cases          |
      | the Van Dyke reader data | size             | --readers 5 --cases -3               | sizing needs at least two readers and two cases          |
      | the Van Dyke reader data | mrmc             | --cov bootstrap --resamples 0        | bootstrap covariance needs at least two resamples        |
      | the Van Dyke reader data | mrmc             | --modalities 1 9                     | modality '9' not in the data (1, 2)                      |
      | the Van Dyke reader data | model-vs-readers | --model-reader 9                     | model reader '9' not in the data (1, 2, 3, 4, 5)         |
      | continuous data          | continuous       | --test x --reference x               | test and reference must be two modalities of the data    |

  @SRS-VAL-019 @RC-056
  Scenario Outline: A study that cannot be analysed as defined is refused in one line, writing nothing
    Given the example study with <change>
    When corridor validate study is run on it into <out>
    Then it exits with status 2 and one line naming "<named>", without a traceback
    And nothing is written

    Examples:
      | change                                                      | out          | named                                                                    |
      | an endpoint whose test and reference modality are cine-mri | a new folder | test_modality and reference_modality are both 'cine-mri'                 |
      | the sensitivity threshold .nan                              | a new folder | endpoints.2.threshold: Input should be a finite number                   |
      | every rating 3                                              | a new folder | endpoint auc-non-inferiority: the test is undefined: the SE of cine-mri  |
      | nothing changed                                             | a file       | found a file, expected a folder                                          |
      | 17 modalities                                               | a new folder | modalities: Tuple should have at most 16 items after validation          |

  @SRS-VAL-019 @SRS-VAL-007 @RC-056
  Scenario: A test without variance gives no p-value and no conclusion
    Given the Van Dyke reader data with every rating 3
    When corridor validate mrmc is run on them with "--non-inferiority 0.05"
    Then it exits with status 0, printing each one-sided p-value as undefined, no non-inferiority, and the note "the test is undefined"
    When corridor validate mrmc is run on them with "--non-inferiority 0.05 --json"
    Then the JSON gives no one-sided p-value and no non-inferiority in either order
    When corridor validate model-vs-readers is run on them with "--model-reader 1 --non-inferiority 0.05"
    Then it exits with status 0, printing each one-sided p-value as undefined, no non-inferiority, and the note "the test is undefined"
