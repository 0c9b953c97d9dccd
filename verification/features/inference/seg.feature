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

  @SRS-INF-010 @RC-024 @SRS-ING-025 @RC-051
  Scenario Outline: When the SEG's frames are not the source images one for one, each frame lies on the label map's slice
    Given a "sphere" phantom of shape 32 28 18 with spacing 1.2 1.0 2.0 in position "HFS" and orientation "axial"
    And it is written as <written>
    And a per-voxel threshold model at 500 HU with a 2.0 mm grid "lps"
    When I run corridor infer on the series with "--device cpu <options>"
    Then the command exits with status 0
    And the SEG references every source image file
    And every SEG frame lies on a plane of the label map's grid and holds that slice's pixels for its segment

    Examples:
      | written                                                             | options      |
      | one Enhanced CT file                                                |              |
      | a DICOM series with the faults "gantry-tilt, variable-spacing"      | --regularize |
