Feature: Femoral heads found from the bone segmentation, or refused
  The acetabular screw needs both hips' femoral-head centres and radii. When the case does not
  give them they are found from the label map's bone: a convex sphere fitted robustly to the
  bone surface, with its fit quality, or a refusal naming the check, the value and the limit.
  The oracle is the phantoms' analytic anatomy (build_anatomy): every head is a sphere of
  radius 24 mm at a known centre; the other label maps are sampled from closed-form solids too.

  @SRS-PLN-015 @RC-058
  Scenario Outline: Every femoral head of a phantom's truth labels is found within 0.5 mm
    Given the "<kind>" phantom's truth labels on the <grid> grid
    When its femoral heads are searched for on both sides
    Then every femoral head of the anatomy is found on its side, centre and radius within 0.5 mm of the anatomy's
    And each found head reports its fit: RMS residual, inliers, sphere seen, axis ratio and a 95 % confidence radius of its centre of at most 0.5 mm

    Examples:
      | kind   | grid                                       |
      | pelvis | default                                    |
      | femur  | default                                    |
      | pelvis | anisotropic 0.9 x 0.9 x 3 mm               |
      | pelvis | oblique (20 degrees about a non-axis line) |
      | femur  | oblique, anisotropic 1 x 1.3 x 2.5 mm      |

  @SRS-PLN-015 @RC-058
  Scenario Outline: Found within 0.5 mm when the segmentation is noisy or the joint is closed
    Given the "<kind>" phantom's truth labels on the default grid
    And <damage>
    When its femoral heads are searched for on both sides
    Then every femoral head of the anatomy is found on its side, centre and radius within 0.5 mm of the anatomy's

    Examples:
      | kind   | damage                                                                                                      |
      | pelvis | 16 patches of 6 mm on each head's surface eroded or dilated by one voxel, and 12 holes of 2.5 mm in each head |
      | femur  | 16 patches of 6 mm on each head's surface eroded or dilated by one voxel, and 12 holes of 2.5 mm in each head |
      | pelvis | the joint space filled with bone on the socket side of each head                                              |

  @SRS-PLN-015 @RC-058
  Scenario: With each femur labelled apart, each head is found on its own femur's label
    Given the "pelvis" phantom's truth labels on the default grid
    And each femur's bone relabelled as its own label, femur_left and femur_right
    When its femoral heads are searched for on each femur's label
    Then every femoral head of the anatomy is found on its side, centre and radius within 0.5 mm of the anatomy's

  @SRS-PLN-015 @SRS-PLN-016 @RC-058 @RC-059
  Scenario Outline: Under heavier planted noise each head is found within 0.5 mm or refused, never further off
    Given the "pelvis" phantom's truth labels on the default grid
    And <patches> patches of 6 mm on each head's surface eroded or dilated by one voxel, and 12 holes of 2.5 mm in each head
    When its femoral heads are searched for on both sides
    Then each femoral head of the anatomy is either found on its side, centre and radius within 0.5 mm of the anatomy's, or refused naming the check

    Examples:
      | patches |
      | 32      |
      | 64      |
      | 96      |

  @SRS-PLN-015 @RC-058
  Scenario: Random femora at random poses, radii and grids are found within 0.5 mm
    Then a femur with a spherical head of random radius (20 to 28 mm) and centre, its neck leaving it laterally, sampled on a grid of random spacing (1 to 2 mm) and rotation, has its head found on its side within 0.5 mm

  @SRS-PLN-016 @RC-059
  Scenario: Heads cut by the field of view are refused as truncated
    Given the "pelvis" phantom's truth labels on the cutting both heads (150 x 60 x 80 voxels) grid
    When its femoral heads are searched for on both sides
    Then each side is refused as "truncated", naming the part of the sphere outside the imaged volume and the limit 0 %

  @SRS-PLN-016 @RC-059
  Scenario Outline: An ellipsoidal head is refused as not spherical; a spherical one built the same way is found
    Given a left femur whose head is an ellipsoid with axes <difference> % apart, with its neck and shaft, at 1 x 1 x 1.5 mm
    When its femoral heads are searched for on the left
    Then <outcome>

    Examples:
      | difference | outcome                                                                                 |
      | 15         | the left side is refused as "not-spherical", naming the axis ratio measured (1.15 within 0.02) and the limit 1.05 |
      | 0          | every femoral head of the anatomy is found on its side, centre and radius within 0.5 mm of the anatomy's |

  @SRS-PLN-016 @RC-059
  Scenario: Heads fused with the bone around them but for a small cap are refused as unstable
    Given two hips whose heads are buried in bone but for a 35 degree cap facing the midline, at 2 mm
    When its femoral heads are searched for on both sides
    Then each side is refused as "unstable", naming the 95 % confidence radius of the centre and the limit 0.5 mm

  @SRS-PLN-016 @RC-059
  Scenario: A pelvis without femurs is refused, and corridor plan-trajectory writes nothing
    Given the pelvis phantom's bones without its femurs
    When its femoral heads are searched for on both sides
    Then each side is refused as "not-found"
    When corridor plan-trajectory is run on it for a left acetabular screw with no landmarks
    Then it exits with status 2, naming "left-femoral-head (not-found)" and how to give it, and writes nothing

  @SRS-JOB-008 @RC-060 @SRS-PLN-015
  Scenario: A given landmark overrides the found one, and the plan's record says which is which
    Given the "pelvis" phantom's truth labels on the default grid
    When the landmarks of a left acetabular screw are completed with only "left-femoral-head=108.5,35,-225,24" given
    Then left-femoral-head is the one given, unchanged, and plan.json's inputs record it as given with no fit
    And right-femoral-head is found within 0.5 mm of the anatomy's, and plan.json's inputs record it as found with its RMS residual, inlier fraction and 95 % confidence region
    And the midline check lies half-way between the given left and the found right head
