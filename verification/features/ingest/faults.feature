Feature: Faulty series are refused or loaded with a warning, as stated
  What would misplace a voxel is refused with the files and values named; what is
  tolerable is loaded, with a warning kept in the volume.

  Background:
    Given a "pelvis" phantom of shape 40 36 24 with spacing 1.0 1.1 2.0 in position "HFS" and orientation "axial"

  @SRS-ING-006 @RC-015
  Scenario: A missing slice is refused, naming the files around the gap
    Given it is written as a DICOM series with the faults "missing-slice"
    When the series is ingested
    Then ingest refuses with the check "missing-slice"
    And the refusal names the two files around the missing position

  @SRS-ING-007 @RC-015
  Scenario: A tilted gantry is refused with the tilt named
    Given it is written as a DICOM series with the faults "gantry-tilt"
    When the series is ingested
    Then ingest refuses with the check "gantry-tilt"
    And the refusal says "Gantry/Detector Tilt (0018,1120)"

  @SRS-ING-008 @RC-015
  Scenario: An identical duplicate slice is left out with a warning
    Given it is written as a DICOM series with the faults "duplicate-slice"
    When the series is ingested
    Then the volume carries the warning "duplicate-identical-slice-dropped"
    And the volume's corners lie within 0.001 mm of the ground truth
    And the volume's HU equal the ground truth on every voxel that is not padding

  @SRS-ING-008 @RC-015
  Scenario: A duplicate slice with different pixels is refused
    Given it is written as a DICOM series with the faults "duplicate-slice"
    And the duplicate's pixels are changed
    When the series is ingested
    Then ingest refuses with the check "duplicate-slice"

  @SRS-ING-005 @RC-015
  Scenario: An image with another orientation in the series is refused
    Given it is written as a DICOM series
    And one image's orientation is turned by 1 degree
    When the series is ingested
    Then ingest refuses with the check "orientation"

  @SRS-ING-005 @RC-015
  Scenario: An image without its position is refused, naming the attribute
    Given it is written as a DICOM series
    And one image loses its Image Position (Patient)
    When the series is ingested
    Then ingest refuses with the check "geometry-missing"
    And the refusal says "ImagePositionPatient (0020,0032)"

  @SRS-ING-005 @RC-015
  Scenario Outline: A position or spacing that is not a finite number is refused
    Given it is written as a DICOM series
    And one interior image's "<keyword>" is written as "<value>"
    When the series is ingested
    Then ingest refuses with the check "geometry-missing"
    And the refusal names the changed image

    Examples:
      | keyword              | value      |
      | ImagePositionPatient | 0\\nan\\0 |
      | PixelSpacing         | inf\\1     |

  @SRS-ING-010 @RC-016
  Scenario Outline: An unusable rescale value is refused, naming the file
    Given it is written as a DICOM series
    And one interior image's "<keyword>" is written as "<value>"
    When the series is ingested
    Then ingest refuses with the check "rescale"
    And the refusal names the changed image

    Examples:
      | keyword          | value |
      | RescaleSlope     | 0     |
      | RescaleSlope     | nan   |
      | RescaleSlope     | inf   |
      | RescaleIntercept | -inf  |
      | RescaleIntercept | NaN   |

  @SRS-ING-006 @RC-015
  Scenario Outline: Off-grid slices are tolerated, warned about or refused by distance
    Given it is written as a DICOM series
    And one interior image is moved <distance> along the slice normal
    When the series is ingested
    Then ingest <outcome>

    Examples:
      | distance            | outcome                                                           |
      | 0.005 mm            | loads with no warning                                             |
      | 0.8 % of the spacing | loads with the warning "spacing-irregular-within-tolerance"      |
      | 5 % of the spacing  | refuses with the check "slice-spacing"                            |

  @SRS-ING-009 @RC-014
  Scenario: A localizer in the series is left out with a warning
    Given it is written as a DICOM series with the faults "localizer"
    When the series is ingested
    Then the volume carries the warning "localizer-dropped"
    And the volume's corners lie within 0.001 mm of the ground truth

  @SRS-ING-002 @RC-014
  Scenario: Two CT series are refused until one is named
    Given it is written as a DICOM series with the faults "mixed-series"
    When the series is ingested
    Then ingest refuses listing 2 CT series
    When the phantom's own series is ingested by its UID
    Then the volume's corners lie within 0.001 mm of the ground truth

  @SRS-ING-002 @RC-014
  Scenario: A series UID that is not there is refused with the series found
    Given it is written as a DICOM series
    When the series "1.2.3.4" is ingested
    Then ingest refuses saying "found no series 1.2.3.4"

  @SRS-ING-001 @RC-014 @RC-016
  Scenario: Files that are not images are skipped with their reasons
    Given it is written as a DICOM series with the faults "non-ct-files"
    When the series is ingested
    Then the skipped files have the reasons "not-dicom, no-pixel-data"
    And the volume carries the warning "files-skipped"
    And the volume's HU equal the ground truth on every voxel that is not padding

  @SRS-ING-001 @RC-016
  Scenario: A truncated slice file refuses the series, naming it
    Given it is written as a DICOM series with the faults "truncated-file"
    When the series is ingested
    Then ingest refuses with the check "truncated-file"

  @SRS-ING-017 @RC-019
  Scenario Outline: The lean header reader reads what pydicom reads
    Given a "<kind>" phantom of shape 24 20 6 with spacing 6.0 6.0 10.0 in position "<position>" and orientation "<orientation>"
    And it is written as a DICOM series with the faults "<faults>"
    When the headers are read with and without the lean header reader
    Then both give the same headers and skipped files
    And the lean header reader answered for every image

    Examples:
      | kind   | position | orientation | faults                                                                                                                  |
      | pelvis | HFS      | axial       | shuffled-order                                                                                                          |
      | pelvis | FFP      | oblique     | missing-slice, duplicate-slice, gantry-tilt, mixed-series, localizer, non-ct-files, truncated-file                      |
      | femur  | HFP      | sagittal    | localizer                                                                                                               |
      | sphere | FFS      | coronal     | non-ct-files                                                                                                            |
