Feature: Surfaces match analytic shapes and land on the right side
  Analytic values come from the phantom's manifest (centre, radii, axes), never from the mesh.

  @SRS-MSH-004 @RC-026
  Scenario Outline: Volume, area, Hausdorff distance and centroid against the analytic shape
    Given an analytic "<shape>" label map of shape <grid> with spacing <spacing> in orientation "<orientation>"
    When it is meshed with the default options
    Then the enclosed volume is within 1 % of the analytic volume
    And the area is within 3 % of the analytic area
    And the symmetric Hausdorff distance to the analytic surface is below one voxel diagonal
    And the centroid is within half a voxel diagonal of the analytic centre

    Examples:
      | shape     | grid     | spacing       | orientation |
      | sphere    | 64 64 64 | 1.0 1.0 1.0   | axial       |
      | sphere    | 70 60 28 | 0.9 1.1 2.5   | axial       |
      | sphere    | 60 60 44 | 1.1 1.1 1.5   | oblique     |
      | ellipsoid | 64 64 64 | 1.0 1.0 1.0   | axial       |
      | ellipsoid | 70 60 28 | 0.9 1.1 2.5   | coronal     |
      | ellipsoid | 60 60 44 | 1.1 1.1 1.5   | oblique     |
      | cylinder  | 64 64 64 | 1.0 1.0 1.0   | axial       |
      | cylinder  | 70 60 28 | 0.9 1.1 2.5   | sagittal    |
      | cylinder  | 60 60 44 | 1.1 1.1 1.5   | oblique     |

  @SRS-MSH-005 @SRS-MSH-002 @RC-026
  Scenario Outline: The left femur's lateral and medial extremes land at their LPS x
    Given the femur phantom's bone as a label map in position "<position>"
    When it is meshed with the default options
    Then the surface's largest LPS x is the greater trochanter's, 42.5 mm, within one voxel
    And the surface's smallest LPS x is the femoral head's, -53.5 mm, within one voxel

    Examples:
      | position |
      | HFS      |
      | FFS      |
      | HFP      |
