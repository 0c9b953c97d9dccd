Feature: The plan says when the segmentation's uncertainty could change its verdict
  The planned trajectory is measured again, unchanged, on the segmentation's plausible
  alternatives; verdict-uncertain is raised only when a clearance is met on one and not on
  the other. A flag that fired on every case would be ignored (HAZ-043).

  @SRS-PLN-020 @SRS-PLN-021 @RC-070 @RC-072
  Scenario: A vessel segment the segmentation is unsure of, within the clearance zone, raises verdict-uncertain
    Given a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm at 30 mm, spacing 1.0 1.0 1.0 mm
    And the analytic procedure with a vessel clearance of 6 mm
    When it is planned with alternatives that add a vessel segment 4 mm from the planned implant's surface, at mid-depth
    Then the verdict is "safe"
    And the uncertainty block reports the vessel's margin on each alternative, matching the voxel oracle
    And the plan is flagged "verdict-uncertain" for the vessel under the alternative holding the segment

  @SRS-PLN-020 @SRS-PLN-021 @RC-070
  Scenario: The same vessel segment far from the implant raises nothing
    Given a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm at 30 mm, spacing 1.0 1.0 1.0 mm
    And the analytic procedure with a vessel clearance of 6 mm
    When it is planned with alternatives that add a vessel segment 25 mm from the planned implant's surface, at mid-depth
    Then the verdict is "safe"
    And the uncertainty block reports the vessel's margin on each alternative, matching the voxel oracle
    And the plan is not flagged

  @SRS-PLN-020 @SRS-PLN-021 @RC-070
  Scenario: An alternative from which the risk structure vanishes cannot be judged and is flagged
    Given a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm at 30 mm, spacing 1.0 1.0 1.0 mm
    And the analytic procedure with a vessel clearance of 6 mm
    When it is planned with an alternative holding no vessel
    Then the plan is flagged "verdict-uncertain" naming the alternative as not judged

  @SRS-PLN-021 @RC-070
  Scenario: The flag is raised exactly when a margin's sign differs between the nominal segmentation and an alternative
    Given margins drawn at random for the nominal segmentation and two alternatives
    Then verdict-uncertain is raised if and only if some margin is met on one and not the other
