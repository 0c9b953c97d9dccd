Feature: Predetermined change control plans
  Every model package of the device has a predetermined change control plan (FDA PCCP guidance,
  December 2024): what is monitored in use, the modifications allowed and not allowed, the
  protocol, and the performance bounds a modified model must meet, each measured by a
  requirement that a scenario verifies. The plan is a checked record.

  Background:
    Given a copy of the minimal consistent project
    And the file "software/corridor/inference/models/demo-model/manifest.json" contains:
      """
      {"name": "demo-model", "version": "1.0.0", "labels": [{"index": 0, "name": "background"}, {"index": 1, "name": "greeting"}]}
      """
    And the file "requirements_spec/change_control_plans/demo-model.yaml" contains:
      """
      model: demo-model
      model_version: 1.0.0
      summary: Retraining on more greetings is released only within the bounds below.
      monitoring:
        watched: [the rate of refused names per release]
        review_cadence: Before every release.
        triggers: [a rate of refused names above the one of the test names]
      modifications:
        - {id: MOD-001, description: Retrain on more greetings., bounds: Same labels and architecture.}
      not_allowed: [other labels]
      protocol:
        data_management: Training greetings are listed; test greetings never are.
        retraining: python train.py --seed 0
        verification: [verification/features/demo.feature]
        performance_bounds:
          - {metric: dice, label: greeting, bound: at-least, limit: 0.9, measured_by: SRS-DEM-001, measured_on: the test greetings}
      update_procedure:
        release: In a new release, approved.
        labelling: The release notes name the modification.
        users_told: Through the release notes.
      impact_assessment: The greeting changes; RC-001 still holds.
      requirements: [SRS-DEM-001]
      risk_controls: [RC-001]
      """

  @SRS-TRC-020 @RC-086
  Scenario: A model package with a consistent plan checks clean
    When the trace check runs
    Then the check passes

  @SRS-TRC-020 @RC-086
  Scenario: A bound naming an unknown metric is an invalid record, naming the metrics expected
    Given in "requirements_spec/change_control_plans/demo-model.yaml" the text "metric: dice" is replaced by "metric: happiness"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule           | item       |
      | RECORD-INVALID | demo-model |
      | PCCP-MISSING   | demo-model |
    And the finding "RECORD-INVALID" for "demo-model" says "field 'protocol.performance_bounds.0.metric': found 'happiness', expected 'dice', 'hd95-mm', 'assd-mm', 'ece', 'auc', 'sensitivity' or 'specificity'"
    And the finding "RECORD-INVALID" for "demo-model" is at "requirements_spec/change_control_plans/demo-model.yaml:16"

  @SRS-TRC-020 @RC-086
  Scenario Outline: A bound that nothing measures is reported
    Given in "requirements_spec/change_control_plans/demo-model.yaml" the text "<old>" is replaced by "<new>"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule   | item       |
      | <rule> | demo-model |
    And the finding "<rule>" for "demo-model" says "<says>"

    Examples:
      | old                       | new                       | rule                  | says                                                                              |
      | label: greeting           | label: farewell           | PCCP-BOUND-UNMEASURED | label 'farewell' is not an output of demo-model (expected one of background, greeting) |
      | measured_by: SRS-DEM-001, | measured_by: SRS-DEM-009, | LINK-ORPHANED         | measured_by SRS-DEM-009 does not exist                                            |

  @SRS-TRC-020 @RC-086
  Scenario: A bound measured by a requirement no scenario verifies is reported
    Given in "verification/features/demo.feature" the text "@SRS-DEM-001" is replaced by "@SRS-DEM-002"
    When the trace check runs
    Then the findings are exactly:
      | rule                  | item        |
      | PCCP-BOUND-UNMEASURED | demo-model  |
      | REQ-NO-VERIFICATION   | SRS-DEM-001 |
      | LINK-UNREVIEWED       | verification/features/demo.feature::Greeting |
      | LINK-REVIEW-STALE     | SRS-DEM-001 |
    And the finding "PCCP-BOUND-UNMEASURED" for "demo-model" says "bound 'dice of greeting at least 0.9': no scenario verifies SRS-DEM-001, so nothing measures the bound"

  @SRS-TRC-020 @RC-086
  Scenario: A model package without a plan, and a plan for no model package, are reported
    Given the file "requirements_spec/change_control_plans/demo-model.yaml" is moved to "requirements_spec/change_control_plans/demo-model-2.yaml"
    And in "requirements_spec/change_control_plans/demo-model-2.yaml" the text "model: demo-model" is replaced by "model: demo-model-2"
    When the trace check runs
    Then the check fails with exactly these findings:
      | rule          | item         |
      | PCCP-MISSING  | demo-model   |
      | LINK-ORPHANED | demo-model-2 |
    And the finding "PCCP-MISSING" for "demo-model" is at "software/corridor/inference/models/demo-model/manifest.json"
    And the finding "LINK-ORPHANED" for "demo-model-2" says "model package 'demo-model-2' does not exist"
