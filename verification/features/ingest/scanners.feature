Feature: Real scanner series
  The phantoms stay the main oracle. A few public series from real scanners (GE and Philips CT,
  with scouts, a tilted gantry, a change of slice thickness and MR beside them), kept byte for
  byte as published and pinned by SHA-256 in verification/fixtures/scanners/MANIFEST.yaml,
  check that ingest places and scales real vendors' files exactly as an independent reader
  (dcm2niix) and the image plane attributes read here with pydicom do. The series shipped
  inside pydicom are always present; the bundle of series from other repositories is checked
  by plain tests beside these steps when the project has been handed it.

  @SRS-ING-026
  Scenario: The manifest names the source and licence of every series
    Given the scanner series manifest
    Then every series names its repository, commit, path in the repository, licence, modality and expected outcome
    And every file names its path, its path in the repository and a SHA-256
    And every licence named has its text listed beside the data

  @SRS-ING-026
  Scenario Outline: Every file is byte for byte the one its source published
    Given the scanner series manifest
    Then every file stored in "<location>" has the SHA-256 the manifest pins

    Examples:
      | location          |
      | pydicom           |
      | pydicom-dist-info |

  @SRS-ING-026 @SRS-ING-003 @SRS-ING-004 @SRS-ING-010
  Scenario Outline: A clean real CT series loads as dcm2niix and pydicom read it
    Given the real scanner series "<series>"
    When the series is ingested
    Then the volume's voxel centres lie within 0.001 mm of dcm2niix's
    And the volume's HU equal dcm2niix's on every voxel
    And the volume's first and last slices lie within 0.001 mm of where their images' position, orientation and pixel spacing put them

    Examples:
      | series                      |
      | pydicom-ge-lightspeed-ultra |

  @SRS-ING-026 @SRS-ING-019 @RC-053
  Scenario Outline: A real study folder loads its axial series without --series and sets its scout aside
    Given the real scanner series "<axial>" and "<scout>" in one folder
    When the series is ingested
    Then the volume holds every image of "<axial>" and none of "<scout>"
    And the warning "series-set-aside" names every file of "<scout>"

    Examples:
      | axial                       | scout                   |
      | pydicom-ge-lightspeed-ultra | pydicom-ge-scout        |

  @SRS-ING-026 @SRS-ING-019 @RC-053
  Scenario: A real folder holding only scouts is refused, naming them and what to export
    Given the real scanner series "pydicom-ge-scout"
    When the series is ingested
    Then ingest refuses saying "no volumetric CT series to load"
    And the refusal names every file of "pydicom-ge-scout"
    And the refusal says "Export the axial CT series itself"

  @SRS-ING-026 @SRS-ING-021 @RC-015
  Scenario: A real GE series with a 202.5 mm gap is refused for missing slices, naming the files around it
    Given the real scanner series "pydicom-ge-lightspeed-plus-gap"
    When the series is ingested
    Then ingest refuses with the check "missing-slice"
    And the refusal names the two files around the largest gap between slices, found here with pydicom
