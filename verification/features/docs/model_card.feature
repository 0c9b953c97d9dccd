Feature: Model cards generated from the repository
  The card is checked against its sources: the model package's manifest and ONNX bytes, the
  project's records, the validation results it is given.

  @SRS-DOC-001 @RC-041
  Scenario: The reference model's card names its sources and its gaps
    When corridor docs model-card is run on the reference model
    Then it exits with status 0 and writes the Markdown and the HTML card
    And the card's SHA-256 is the SHA-256 of the package's ONNX file
    And every section names its sources
    And the gaps name the missing validation results and the missing test results
    When corridor docs model-card is run on the reference model with "--strict"
    Then it exits with status 1 and writes the Markdown and the HTML card

  @SRS-DOC-002 @RC-042
  Scenario: Validation results about another model are refused
    Given validation results naming the model SHA-256 "0000000000000000000000000000000000000000000000000000000000000000"
    When corridor docs model-card is run on the reference model with those results
    Then it exits with status 2 naming "another model" and writes nothing

  @SRS-DOC-002 @RC-042
  Scenario: Validation results of this model fill the performance section
    Given the example study validating the reference model, analysed by corridor validate study
    When corridor docs model-card is run on the reference model with those results
    Then the performance section lists each endpoint with the difference, CI and conclusion of the results
    And the gaps name the missing subgroup analysis but not the performance itself

  @SRS-DOC-003 @RC-042
  Scenario: Markup in a record is shown as text, and the same inputs give the same bytes
    Given a project whose intended-use record holds "<script>alert(1)</script>" and "</script><b>"
    When corridor docs model-card is run on the reference model in that project twice
    Then both cards show the markup as text and hold no element from it
    And the HTML card's embedded JSON parses back to the card's data
    And the two runs wrote identical files
