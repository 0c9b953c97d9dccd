Feature: The ingest command
  `corridor ingest` reports in JSON, exports for other tools, and never shows patient data.

  Background:
    Given a "femur" phantom of shape 40 32 16 with spacing 0.9 0.7 1.5 in position "HFP" and orientation "oblique"
    And it is written as a DICOM series

  @SRS-ING-014 @RC-012
  Scenario: The JSON report carries the series and the volume's geometry
    When I run corridor ingest on the series with "--json"
    Then the exit status is 0
    And the JSON lists 1 series with modality "CT"
    And the JSON volume's affine lies within 0.001 mm of the ground truth

  @SRS-ING-014 @RC-012
  Scenario Outline: Exports open in the right place in other tools
    When I run corridor ingest on the series with "--export out/volume.<suffix>"
    Then the exit status is 0
    And <reader> reads "out/volume.<suffix>" with the ground-truth voxels and <frame> affine

    Examples:
      | suffix  | reader  | frame |
      | nii     | nibabel | RAS   |
      | nii.gz  | nibabel | RAS   |
      | nrrd    | pynrrd  | LPS   |

  @SRS-ING-014
  Scenario: A refused series is one error line and exit status 2
    Given the series is written again with the faults "missing-slice"
    When I run corridor ingest on the series
    Then the exit status is 2
    And standard error is one line containing "refused (missing-slice)"

  @SRS-ING-015 @RC-017
  Scenario Outline: No patient data appears in any output
    Given the series is written again with the faults "<faults>"
    When I run corridor ingest on the series with "--json"
    Then no output contains the phantom's Patient's Name or Patient ID

    Examples:
      | faults                      |
      | shuffled-order              |
      | missing-slice               |
      | duplicate-slice, localizer  |
      | non-ct-files                |
      | mixed-series                |
      | truncated-file              |
