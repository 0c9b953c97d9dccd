Feature: The label map is also a DICOM Segmentation on the CT's frames
  The SEG references the source images and puts each frame on its image's plane.

  @SRS-INF-010 @RC-024
  Scenario Outline: Every SEG frame lies on its source image with the label map's pixels
    Given a "sphere" phantom of shape 32 28 18 with spacing 1.2 1.0 2.0 in position "<position>" and orientation "<orientation>"
    And it is written as a DICOM series
    And a per-voxel threshold model at 500 HU with a 2.0 mm grid "lps"
    When I run corridor infer on the series with "--device cpu"
    Then every SEG frame's position and referenced image are its source image's
    And every SEG frame's pixels equal the label map's slice for its segment
    And the SEG names the model, its version and SHA-256

    Examples:
      | position | orientation |
      | HFS      | axial       |
      | FFP      | oblique     |
