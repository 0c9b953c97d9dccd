Feature: Exact patient geometry
  Every voxel of the loaded volume lies where the phantom put it in the patient, whatever
  the patient position, orientation, pixel shape or file order.

  @SRS-ING-004 @SRS-ING-003 @RC-011 @RC-013
  Scenario Outline: A phantom loads in its true place in every patient position
    Given a "sphere" phantom of shape 36 28 20 with spacing 0.7 0.9 2.5 in position "<position>" and orientation "<orientation>"
    And it is written as a DICOM series
    When the series is ingested
    Then the volume's corners lie within 0.001 mm of the ground truth
    And the volume's HU equal the ground truth on every voxel that is not padding
    And the volume's k axis points along the cross product of its images' row and column cosines

    Examples:
      | position | orientation |
      | HFS      | axial       |
      | FFS      | axial       |
      | HFP      | axial       |
      | FFP      | axial       |
      | HFS      | oblique     |
      | FFS      | coronal     |
      | HFS      | sagittal    |

  @SRS-ING-003 @RC-013
  Scenario: Shuffled file names do not change the slice order
    Given a "pelvis" phantom of shape 48 40 24 with spacing 1.2 1.2 2.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series with the faults "shuffled-order"
    When the series is ingested
    Then the volume's corners lie within 0.001 mm of the ground truth
    And the volume's HU equal the ground truth on every voxel that is not padding

  @SRS-ING-011 @RC-016
  Scenario: An Enhanced CT file loads with per-frame positions
    Given a "femur" phantom of shape 40 36 20 with spacing 0.8 0.8 1.5 in position "FFS" and orientation "axial"
    And it is written as one Enhanced CT file
    When the series is ingested
    Then the volume's corners lie within 0.001 mm of the ground truth
    And the volume's HU equal the ground truth on every voxel that is not padding
