Feature: Study folders and series as scanners, anonymisers and PACS send them
  A study folder holds more than the axial CT: scouts, dose reports, other modalities. A
  series may be tilted, unevenly spaced, or hold values that are not Hounsfield units. Each
  case is re-created here from a phantom, edited with pydicom as the scanner writes it; the
  oracle is what was planted (files, tags, positions), never the code's own output.

  Background:
    Given a "pelvis" phantom of shape 40 36 24 with spacing 1.0 1.1 2.0 in position "HFS" and orientation "axial"

  @SRS-ING-019 @RC-053
  Scenario: A study folder with one axial CT, a scout series and a dose report loads the CT without --series
    Given it is written as a DICOM series
    And the folder also holds a scout series and a dose report, as a study export does
    When the series is ingested
    Then the volume's corners lie within 0.001 mm of the ground truth
    And the volume's HU equal the ground truth on every voxel that is not padding
    And the warning "series-set-aside" names every scout and dose report file

  @SRS-ING-019 @RC-053
  Scenario: Two volumetric CT series are refused, each listed so that the user can choose
    Given it is written as a DICOM series with the faults "mixed-series"
    When the series is ingested
    Then ingest refuses listing 2 CT series
    And the refusal lists each series with its description, images, slice thickness and kernel
    And the refusal says "Choose the one to plan on with --series UID"

  @SRS-ING-019 @RC-053
  Scenario: A folder holding only a scout names the scout's files and says what to export
    Given it is written as a DICOM series
    And the folder holds only a scout series
    When the series is ingested
    Then ingest refuses saying "no volumetric CT series to load"
    And the refusal names every scout file and says "scout (localizer) images only"
    And the refusal says "Export the axial CT series itself"

  @SRS-ING-020 @RC-052
  Scenario Outline: Values that are not CT Hounsfield units load for inspection only, and inference refuses them
    Given it is written as a DICOM series
    And every image is rewritten as <what>
    When corridor ingest is run on the series naming it with --series
    Then it exits with status 0 and prints that the values are NOT Hounsfield units because "<named>"
    When corridor infer is run on the series naming it with --series
    Then it exits with status 2, writes no output folder, and standard error says "<named>"

    Examples:
      | what                                                          | named                             |
      | an MR series without rescale values                           | Modality (0008,0060) is 'MR'      |
      | a CT perfusion map with Rescale Type US and a PERFUSION type  | Rescale Type (0028,1054) is 'US'  |
      | a CT spectral iodine map with an IODINE type                  | marks a derived iodine map        |

  @SRS-ING-021 @RC-015
  Scenario: A tilted series whose slices grow thicker half-way is refused for the tilt first, naming the change of spacing, never a missing slice
    Given a "pelvis" phantom of shape 40 36 24 with spacing 1.0 1.1 2.0 acquired through a gantry tilted 18.5 degrees
    And it is written as a DICOM series
    And from the middle of the series on, the slices lie 1.75 times further apart and are 1.75 times thicker
    When the series is ingested
    Then ingest refuses with the check "gantry-tilt"
    And the refusal says "tilted by 18.5° (Gantry/Detector Tilt (0018,1120) is 18.5°)"
    And the refusal says "Also: The slices are not equally spaced"
    And the refusal names the two Slice Thickness values written
    And the refusal does not say "slice(s) are missing"
    And the refusal names the first and last files and the file where the spacing changes

  @SRS-ING-021 @RC-015
  Scenario: A tilt with no Gantry/Detector Tilt tag is reported as shown by the geometry, not as a tag of 0
    Given it is written as a DICOM series with the faults "gantry-tilt"
    And every image's Gantry/Detector Tilt is removed
    When the series is ingested
    Then ingest refuses with the check "gantry-tilt"
    And the refusal says "the Gantry/Detector Tilt (0018,1120) tag is absent; the slice positions show the tilt"
    And the refusal does not say "= 0"

  @SRS-ING-021 @RC-015
  Scenario: Slices that change spacing without a change of thickness are told apart from missing slices
    Given it is written as a DICOM series
    And from the middle of the series on, the slices lie 1.5 times further apart
    When the series is ingested
    Then ingest refuses with the check "variable-spacing"
    And the refusal says "Nothing is missing"

  @SRS-ING-022 @RC-015
  Scenario Outline: Each refusal says in plain words what is wrong, which files, and what to do
    Given it is written as a DICOM series with the faults "<fault>"
    When the series is ingested
    Then ingest refuses with the check "<check>"
    And the refusal names at least one file of the series
    And the refusal says "<what to do>"
    And the refusal holds no formula or internal term

    Examples:
      | fault         | check         | what to do                                           |
      | missing-slice | missing-slice | Export the full series again from the scanner or PACS |
      | gantry-tilt   | gantry-tilt   | Reconstruct the series without tilt at the scanner   |
      | gantry-tilt   | gantry-tilt   | or load it with --regularize                         |
