Feature: The plan says when the segmentation's uncertainty could change its verdict
  The planned trajectory is measured again, unchanged, on the segmentation's plausible
  alternatives; verdict-uncertain is raised only when a clearance is met on one and not on
  the other. A flag that fired on every case would be ignored (HAZ-043). Among the lines safe
  on the nominal segmentation, the planner prefers one that stays safe under every
  alternative, and keeps the nominal best, flagged, only when there is none (HAZ-045).

  @SRS-PLN-020 @SRS-PLN-021 @SRS-PLN-022 @SRS-PLN-023 @RC-070 @RC-076 @RC-077
  Scenario: A vessel segment the segmentation is unsure of, within the clearance zone, moves the plan away, and the plan says so
    Given a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm at 30 mm, spacing 1.0 1.0 1.0 mm
    And the analytic procedure with a vessel clearance of 6 mm
    When it is planned with alternatives that add a vessel segment 4 mm from the planned implant's surface, at mid-depth
    Then the verdict is "safe"
    And the trajectory chosen is robust, not the nominal best, and plan.json records the nominal best with its margins and how far the plan moved
    And the chosen implant keeps the vessel clearance from the planted segment by the voxel oracle
    And the uncertainty block reports the vessel's margin on each alternative, matching the voxel oracle
    And the plan is not flagged

  @SRS-PLN-020 @SRS-PLN-021 @SRS-PLN-022 @SRS-PLN-023 @RC-070 @RC-072 @RC-077
  Scenario: A vessel segment the segmentation is unsure of, across the bone at mid-depth, which no trajectory avoids, raises verdict-uncertain
    Given a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm at 30 mm, spacing 1.0 1.0 1.0 mm
    And the analytic procedure with a vessel clearance of 6 mm
    When it is planned with alternatives that add a vessel segment across the bone, through the planned implant's axis at mid-depth
    Then the verdict is "safe"
    And the trajectory is the nominal best, and plan.json says that no robust trajectory was found
    And the vessel's margin under the alternative holding the segment is negative, the implant passing through the segment by the voxel oracle
    And the plan is flagged "verdict-uncertain" for the vessel under the alternative holding the segment

  @SRS-PLN-020 @SRS-PLN-021 @SRS-PLN-022 @RC-070 @RC-076
  Scenario: The same vessel segment far from the implant raises nothing and moves nothing
    Given a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm at 30 mm, spacing 1.0 1.0 1.0 mm
    And the analytic procedure with a vessel clearance of 6 mm
    When it is planned with alternatives that add a vessel segment 25 mm from the planned implant's surface, at mid-depth
    Then the verdict is "safe"
    And the trajectory is the nominal best, robust under every alternative, without a second search
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

  @SRS-PLN-022 @RC-076 @RC-077
  Scenario: The robust ranking never prefers a line that fails on the nominal segmentation
    Given lines with geometric checks and margins drawn at random, on the nominal fields and on the conservative ones
    Then each line's chosen length is safe whenever the line has a safe length, robust (the longest) whenever it has a robust one, and robust lines rank above lines only safe, above unsafe ones
