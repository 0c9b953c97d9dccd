Feature: The shipped procedures on the anatomical phantoms
  The phantoms' analytic anatomy (their manifests) is the oracle: bones, vessels and femoral
  heads are closed-form solids, so where an implant lies can be checked without the planner.

  @SRS-PLN-001 @SRS-PLN-002 @SRS-PLN-006 @SRS-PLN-008 @SRS-PLN-009 @RC-030 @RC-033 @RC-034
  Scenario Outline: A safe plan from the ground-truth labels, checked against the analytic anatomy
    Given the "<kind>" phantom written with its ground truth
    When corridor plan-trajectory is run on its truth labels with "--procedure <procedure> --side <side>"
    Then it exits with status 0 and the verdict is "safe"
    And the entry and the tip lie on the <side> side of the patient
    And the implant volume keeps each required clearance from the analytic vessels, less the voxel half-diagonal
    And the axis beyond the entry zone and up to the tip-to-cortex allowance lies inside the analytic bone
    And <target>
    And implant.stl is a closed surface enclosing the implant between the planned entry and tip
    And risk-map.png is a PNG image and plan.json records the label map's SHA-256, the template and the landmarks
    And the risk map places the planned direction at the polar angle and azimuth of the plan's direction

    Examples:
      | kind   | procedure          | side  | target                                                         |
      | pelvis | acetabular-screw   | left  | the implant keeps the required clearance from the femoral head |
      | pelvis | acetabular-screw   | right | the implant keeps the required clearance from the femoral head |
      | femur  | femoral-neck-screw | left  | the tip lies inside the femoral head                           |
      | pelvis | femoral-neck-screw | right | the tip lies inside the femoral head                           |

  @SRS-PLN-005 @SRS-PLN-008
  Scenario: Planned from the reference model's labels, compared with the plan from the ground truth
    Given the "pelvis" phantom written with its ground truth
    And it is segmented by the reference model
    When the acetabular screw is planned on the left from both the model's labels and the ground-truth labels
    Then both plans are safe and confirmed by the re-check
    And the model plan's implant keeps each required clearance from the analytic vessels and femoral head, less the voxel half-diagonal
    And the difference in each clearance between the two plans is reported

  @SRS-PLN-001
  Scenario: Both shipped templates load and name their risk structures
    When the shipped procedures are loaded
    Then "acetabular-screw" has the risk structures "iliac-vessels, hip-joint" and is sided
    And "femoral-neck-screw" has the risk structures "femoral-vessels" and is sided

  @SRS-PHA-004 @SRS-MSH-009
  Scenario Outline: The phantom truth carries a named label map and its landmarks
    Given the "<kind>" phantom written with its ground truth
    Then truth/labels.seg.nrrd reads back as labels.npy with the phantom's geometry and label names
    And truth/landmarks.json holds the anatomy's femoral head centres with radius 24 mm

    Examples:
      | kind   |
      | pelvis |
      | femur  |
