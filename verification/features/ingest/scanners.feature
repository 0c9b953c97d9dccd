Feature: Real scanner series
  The phantoms stay the main oracle. A few public series from real scanners (GE and Philips CT,
  with scouts, a tilted gantry, a change of slice thickness and MR beside them), kept byte for
  byte as published and pinned by SHA-256 in verification/fixtures/scanners/MANIFEST.yaml,
  check that ingest places and scales real vendors' files exactly as an independent reader
  (dcm2niix) and the image plane attributes read here with pydicom do.

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
      | bundle            |

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
      | philips-ingenuity           |
      | ge-lightspeed16             |
