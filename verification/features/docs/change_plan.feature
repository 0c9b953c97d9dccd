Feature: The model's change control plan and subgroup performance in the model card and the design history
  The model card shows the predetermined change control plan of its model package instead of a
  gap, and the subgroup performance of the validation results when they hold it; the design
  history shows every plan in its model-card section.

  @SRS-DOC-013 @RC-086
  Scenario: The reference model's card shows its plan's monitoring, modifications and bounds
    When corridor docs model-card is run on the reference model in the repository
    Then the deployment section lists each performance bound of the reference model's plan with the requirement that measures it
    And it lists the plan's allowed modifications, the changes not allowed and what is monitored in use
    And the deployment section has no gap

  @SRS-DOC-013 @RC-086
  Scenario: A project without a plan names the missing plan as the card's gap
    When corridor docs model-card is run on the reference model in a copy of the minimal project
    Then the deployment section's gap names the missing change control plan

  @SRS-DOC-013 @RC-086
  Scenario: The design history shows the plan in section 9.1, every value as text
    Given a copy of the minimal project with a model package and its plan whose summary holds "<b>bold</b>"
    When corridor docs dhf is run on that project
    Then section 9.1 shows the plan's modification, its changes not allowed and its bound with the requirement measuring it
    And the summary's markup is shown as text

  @SRS-DOC-014 @RC-087
  Scenario: Subgroup results fill the card's subgroup performance and drop its gap
    Given a synthetic study with subgroups validating the reference model, analysed by corridor validate study
    When corridor docs model-card is run on the reference model with those results
    Then the performance section lists each subgroup level's AUC per modality and CI as in the results
    And the level with too few cases is listed with its reason and no estimate
    And the performance section has no gap
