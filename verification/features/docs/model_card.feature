Feature: Model cards generated from the repository
  The card is checked against its sources: the model package's manifest and ONNX bytes, the
  project's records, the validation results it is given.

  @SRS-DOC-001 @RC-041 @SRS-INF-022
  Scenario: The reference model's card names its sources and its gaps
    When corridor docs model-card is run on the reference model
    Then it exits with status 0 and writes the Markdown and the HTML card
    And the card's SHA-256 is the SHA-256 of the package's ONNX file
    And every section names its sources
    And the gaps name the missing validation results and the missing test results
    And the card says the reference model is a single model whose mutual information is not measured
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

  @SRS-INF-022 @RC-079
  Scenario: An ensemble's card says it is one, lists each member with its SHA-256 and how their disagreement is reported
    Given an ensemble package of two per-voxel threshold members
    When corridor docs model-card is run on that package
    Then it exits with status 0 and writes the Markdown and the HTML card of that package
    And the card says it is a deep ensemble of 2 members, lists each with the SHA-256 of its file and the ensemble's SHA-256 over them, and names the mutual information map
