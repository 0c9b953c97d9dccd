Feature: Inference places labels exactly on the CT, on the device it reports
  The runner resamples to the model grid and back, slides windows over the volume,
  reports where it ran, and writes its outputs all or nothing with a run record.

  @SRS-INF-004 @RC-021
  Scenario Outline: An analytic sphere is segmented in place at any orientation
    Given a "sphere" phantom of shape <shape> with spacing <spacing> in position "<position>" and orientation "<orientation>"
    And it is written as a DICOM series
    And a per-voxel threshold model at 500 HU with a 2.0 mm grid "<grid>"
    When I run corridor infer on the series with "--device cpu"
    Then the command exits with status 0
    And the label map has the CT's geometry
    And the label map's Dice against the ground truth is at least 0.97

    Examples:
      | shape    | spacing       | position | orientation | grid   |
      | 48 40 30 | 1.0 1.2 1.5   | HFS      | oblique     | lps    |
      | 40 44 24 | 1.1 0.9 2.0   | FFP      | sagittal    | lps    |
      | 36 36 36 | 1.5 1.5 1.5   | HFP      | coronal     | native |

  @SRS-INF-005 @RC-021
  Scenario Outline: Windows blended over the volume equal a whole-volume pass
    Given a per-voxel model and a random image of shape <shape>
    When it is run in windows of <patch> with overlap <overlap> and in one whole-volume pass
    Then the two results agree within 1e-5 at every voxel

    Examples:
      | shape    | patch    | overlap |
      | 37 29 41 | 16 16 16 | 0.5     |
      | 16 16 16 | 16 16 16 | 0.5     |
      | 9 23 5   | 16 16 16 | 0.25    |
      | 40 40 40 | 8 12 16  | 0.0     |

  @SRS-INF-005 @RC-021
  Scenario: A neighbourhood model's windows are blended with Gaussian weights
    Given a 3x3x3 box-filter model and a random image of shape 33 30 27
    When it is run in windows of 16 16 16 with overlap 0.5 and by the test's own window loop
    Then the two results agree within 1e-5 at every voxel

  @SRS-INF-006 @RC-022
  Scenario: A GPU request on a machine without a usable GPU is refused
    Given a "sphere" phantom of shape 24 24 16 with spacing 2.0 2.0 2.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And a per-voxel threshold model at 500 HU with a 2.0 mm grid "lps"
    When I run corridor infer on the series with "--device cuda"
    Then without a usable GPU the command exits with status 2 naming the providers, and with one it records the GPU provider

  @SRS-INF-006 @SRS-INF-007 @RC-022
  Scenario: The run record names the provider, the model and every input and output
    Given a "sphere" phantom of shape 24 24 16 with spacing 2.0 2.0 2.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And a per-voxel threshold model at 500 HU with a 2.0 mm grid "lps"
    When I run corridor infer on the series with "--device auto"
    Then the command exits with status 0
    And the run record names the provider that ran and why any GPU provider did not
    And the run record's model digest is the ONNX file's SHA-256
    And the run record lists every source file with its SHA-256 and no file path
    And every output file's SHA-256 in the run record matches the file

  @SRS-INF-008 @RC-022
  Scenario: Two CPU runs give identical bytes
    Given a "sphere" phantom of shape 24 24 16 with spacing 2.0 2.0 2.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And a 3x3x3 box-filter model with a 2.0 mm grid
    When I run corridor infer on the series twice with "--device cpu --tta"
    Then the label, entropy and TTA variance files of the two runs are identical

  @SRS-INF-011 @RC-025
  Scenario: A series not in HU is refused
    Given a "sphere" phantom of shape 24 24 16 with spacing 2.0 2.0 2.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series with its Rescale Slope set to 10
    And a per-voxel threshold model at 500 HU with a 2.0 mm grid "lps"
    When I run corridor infer on the series with "--device cpu"
    Then the command exits with status 2
    And it prints "input-range"
    And no output folder exists

  @SRS-INF-012 @RC-024
  Scenario: A non-empty output folder is refused before anything runs
    Given a "sphere" phantom of shape 24 24 16 with spacing 2.0 2.0 2.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And a per-voxel threshold model at 500 HU with a 2.0 mm grid "lps"
    And the output folder already holds a file
    When I run corridor infer on the series with "--device cpu"
    Then the command exits with status 2
    And the output folder holds only that file

  @SRS-INF-012 @RC-024
  Scenario: A failure while writing leaves no output folder
    Given a "sphere" phantom of shape 24 24 16 with spacing 2.0 2.0 2.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And a per-voxel threshold model at 500 HU with a 2.0 mm grid "lps"
    And the source images are removed after ingest, so the DICOM SEG cannot be written
    When I run corridor infer on the series with "--device cpu"
    Then the command exits with status 2
    And no output folder exists
    And no temporary folder is left beside it
