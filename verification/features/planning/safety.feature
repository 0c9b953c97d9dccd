Feature: The planner refuses what it cannot plan safely
  Each scenario plants one fault; the plan must be refused, rejected or judged unsafe, and
  a refused run writes nothing.

  @SRS-PLN-001
  Scenario Outline: An invalid template is refused naming the field
    Given the analytic procedure with <change>
    When corridor plan-trajectory is run with it on the two-vessel phantom
    Then it exits with status 2, naming "<field>", and writes nothing

    Examples:
      | change                                | field                |
      | an unknown field "clearence_mm"       | clearence_mm         |
      | a negative corridor clearance         | corridor.clearance_mm |
      | a longest length below the shortest   | max_mm               |
      | a sided template with no laterality   | laterality_check     |

  @SRS-PLN-013 @RC-054
  Scenario Outline: An absurd or hostile template is refused in one line, before it costs memory or time
    Given a procedure template that is <hostile>
    When corridor plan-trajectory is run with it on the two-vessel phantom
    Then it exits with status 2, naming "<named>", and writes nothing
    And no traceback is printed

    Examples:
      | hostile                                     | named                         |
      | a length step of 1e-9 mm                    | step_mm                       |
      | a length step of 0.001 mm                   | step_mm                       |
      | a longest length of 1e12 mm                 | max_mm                        |
      | a tip-to-cortex distance of 1e9 mm          | tip_to_cortex_mm              |
      | the analytic one with 1000 risk structures  | risk_structures               |
      | the analytic one with 10000 risk structures | at most 262144 bytes          |
      | a flow sequence nested 100000 levels deep   | nested more than 16 deep      |
      | block sequences nested 300 levels deep      | nested more than 16 deep      |
      | a link to /dev/zero                         | not a regular file            |

  @SRS-PLN-002 @RC-033 @SRS-PLN-016 @RC-059
  Scenario Outline: A missing side or landmark is refused
    Given the "<kind>" phantom written with its ground truth
    When corridor plan-trajectory is run on its truth labels with "<options>"
    Then it exits with status 2, naming "<expected>", and writes nothing

    Examples:
      | kind   | options                                                                              | expected                       |
      | pelvis | --procedure acetabular-screw                                                         | left or right                  |
      | femur  | --procedure acetabular-screw --side left --landmark left-femoral-head=-29.5,24,-130,24 | right-femoral-head (not-found) |

  @SRS-PLN-009 @RC-033
  Scenario: Swapped hip landmarks are refused
    Given the "pelvis" phantom written with its ground truth
    And its left and right femoral-head landmarks are swapped
    When corridor plan-trajectory is run on its truth labels with "--procedure acetabular-screw --side left"
    Then it exits with status 2, naming "are the landmarks swapped", and writes nothing

  @SRS-PLN-009 @SRS-PLN-002 @RC-033
  Scenario: A right-side femoral-neck plan on a left femur finds no lateral cortex and is refused
    Given the "femur" phantom written with its ground truth
    And its femoral-head landmark is renamed for the right side
    When corridor plan-trajectory is run on its truth labels with "--procedure femoral-neck-screw --side right"
    Then it exits with status 2, naming "check the landmarks", and writes nothing

  @SRS-PLN-009 @RC-033 @SRS-PLN-007
  Scenario Outline: The medial-tip check on a tilted bone
    Given a bone cylinder tilted 10 degrees towards +x with a vessel far away, and the analytic procedure sided with the medial-tip check
    When the analytic procedure is planned on it for the <side> side
    Then the verdict is "<verdict>"<and>

    Examples:
      | side  | verdict            | and                                          |
      | left  | safe               |                                              |
      | right | no-safe-trajectory | , failing "laterality"                       |

  @SRS-PLN-010 @RC-031
  Scenario: A label map without vessels is refused
    Given the "pelvis" phantom written with its ground truth
    And its vessel voxels are relabelled soft tissue
    When corridor plan-trajectory is run on its truth labels with "--procedure acetabular-screw --side left"
    Then it exits with status 2, naming "iliac-vessels", and writes nothing

  @SRS-PLN-008 @RC-030
  Scenario: The re-check rejects a plan from a search blinded to a vessel
    Given a bone cylinder of radius 12 mm along z with a vessel of radius 3 mm along its axis, spacing 0.5 0.5 0.5 mm
    And a planted defect makes the search read every vessel distance as far away
    When the analytic procedure is planned on it
    Then the verdict is "rejected-by-recheck" and the re-check names "vessel"

  @SRS-PLN-011 @RC-035 @SRS-FND-001 @RC-047
  Scenario: A plan is stale after a re-segmentation
    Given the "femur" phantom written with its ground truth
    When corridor plan-trajectory is run on its truth labels with "--procedure femoral-neck-screw --side left"
    And corridor plan-check is run on the plan with the same label map and template
    Then it exits with status 0
    When one voxel of the label map is relabelled and saved again
    And corridor plan-check is run on the plan with the same label map and template
    Then it exits with status 4, naming "label map"
