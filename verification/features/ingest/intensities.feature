Feature: Hounsfield units, padding and compressed pixel data
  Intensities are exactly those the phantom encoded, whatever the transfer syntax.

  @SRS-ING-010 @RC-016
  Scenario: HU are exact and padding is masked
    Given a "pelvis" phantom of shape 44 40 16 with spacing 1.0 1.0 2.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    When the series is ingested
    Then the volume's HU equal the ground truth on every voxel that is not padding
    And the padding mask covers exactly the voxels outside the reconstruction field of view
    And the volume's HU are stored as "int16"

  @SRS-ING-012 @RC-016
  Scenario Outline: Lossless compressed series decode to exactly the same HU
    Given a "pelvis" phantom of shape 44 40 12 with spacing 1.0 1.0 2.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series in the transfer syntax "<syntax>"
    When the series is ingested
    Then the volume's HU equal the ground truth on every voxel that is not padding

    Examples:
      | syntax            |
      | rle               |
      | jpeg2000-lossless |
      | jpegls-lossless   |

  @SRS-ING-013 @RC-014
  Scenario: Provenance names every file with its SHA-256, in slice order
    Given a "sphere" phantom of shape 32 32 10 with spacing 1.0 1.0 1.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series with the faults "shuffled-order"
    When the series is ingested
    Then the provenance lists the phantom's SOP Instance UIDs in slice order
    And each file's SHA-256 equals a hash of its bytes
