Feature: Reader data are checked before any number is reported

  @SRS-VAL-001 @SRS-VAL-008 @RC-040
  Scenario: Every problem in the reader data is listed with its row
    Given the Van Dyke reader data with a study definition for readers 1 to 5, modalities 1 and 2, ratings 1 to 5
    And five faults planted: a duplicate reading, a rating of 7, an unknown reader, a case whose truth changes, a rating "high"
    When corridor validate mrmc is run on it with its definition
    Then it exits with status 2 listing the five faults with their row numbers

  @SRS-VAL-018
  Scenario: Reader data saved by a spreadsheet, with a byte-order mark and CRLF line ends, are read as the plain file
    Given the Van Dyke reader data saved as a spreadsheet saves CSV, with a UTF-8 byte-order mark and CRLF line ends
    When corridor validate mrmc is run on it with "--json"
    Then it exits with status 0 and its analysis is the plain file's, number for number

  @SRS-VAL-001 @RC-040
  Scenario: A missing reading is refused as an incomplete design
    Given the Van Dyke reader data with one reading removed
    When corridor validate mrmc is run on it with "--json"
    Then it exits with status 2, naming "missing readings"

  @SRS-VAL-001
  Scenario: A study definition naming an unknown modality in an endpoint is refused
    Given a study definition whose endpoint names modality "ai"
    When the definition is loaded
    Then it is refused naming "unknown modality ai"

  @SRS-VAL-007 @RC-039
  Scenario Outline: Degenerate data are explained
    Given the Van Dyke reader data changed to <change>
    When corridor validate mrmc is run on it with "--json"
    Then it <outcome>

    Examples:
      | change                                          | outcome                                                        |
      | reader 3 rating every case 3 in modality 1      | exits with status 0 with a note naming reader 3                 |
      | only the negative cases                         | exits with status 2, naming "same truth"                        |
      | only reader 1                                   | exits with status 2, naming "at least two readers"              |
      | every reader rating every case 3                 | exits with status 0 with a note naming "the test is undefined"   |

  @SRS-VAL-016 @SRS-VAL-001
  Scenario: A split-plot file is analysed as one
    Given the Van Dyke reader data split into two reader groups, readers 1 and 2 reading the odd cases and readers 3 to 5 the even ones
    When corridor validate mrmc is run on it with "--json"
    Then the design is "split-plot" and a note gives the weight of reader pairs sharing cases, 0.4

  @SRS-VAL-017 @SRS-VAL-001 @RC-040
  Scenario: Missing readings are analysed only when a partially paired design is declared
    Given the Van Dyke reader data with 10 % of its readings removed at random
    When corridor validate mrmc is run on it with "--json"
    Then it exits with status 2, naming "declare a partially-paired design"
    When corridor validate mrmc is run on it with "--json --design partially-paired"
    Then the design is "partially-paired" and the DBM cross-check is said to be unavailable
