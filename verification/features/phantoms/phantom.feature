Feature: Synthetic CT phantoms
  The oracles every pipeline stage is verified against: real DICOM, exact ground truth,
  reproducible, with the faults real data shows.

  @SRS-PHA-001 @RC-018
  Scenario: The phantom command writes a real CT series and its ground truth, reproducibly
    When I run "corridor phantom sphere --out {tmp}/a --shape 24 20 10 --spacing 0.8 0.9 2.0 --seed 3"
    And I run "corridor phantom sphere --out {tmp}/b --shape 24 20 10 --spacing 0.8 0.9 2.0 --seed 3"
    Then every file under "a/dicom" is CT Image Storage with Rescale Slope, Rescale Intercept and Pixel Padding Value
    And "a/truth" holds hu.npy, labels.npy, padding.npy, geometry.json and manifest.json
    And the folders "a" and "b" hold identical bytes

  @SRS-PHA-001
  Scenario: A bad option value is one error line
    When I run "corridor phantom sphere --out {tmp}/c --patient-position SIDEWAYS"
    Then the exit status is 2
    And standard error ends with one line naming "SIDEWAYS"

  @SRS-PHA-002 @RC-018
  Scenario: A sphere's labelled volume matches its closed form
    When I run "corridor phantom sphere --out {tmp}/s --shape 64 64 48 --spacing 1.0 1.0 1.0"
    Then the labelled volume in "s" is within 2 % of 4/3·π·r³ for the radius in its manifest

  @SRS-PHA-002 @RC-018
  Scenario: The anatomy stays in the patient whatever the grid
    When I run "corridor phantom pelvis --out {tmp}/hfs --shape 48 48 24 --spacing 6 6 8 --patient-position HFS"
    And I run "corridor phantom pelvis --out {tmp}/ffs --shape 48 48 24 --spacing 6 6 8 --patient-position FFS"
    Then the labels of "hfs" and "ffs" agree at every voxel centre of "hfs" when looked up by LPS position in "ffs"

  @SRS-PHA-003 @RC-018
  Scenario Outline: Each fault is planted and recorded
    When I run "corridor phantom sphere --out {tmp}/f --shape 32 32 10 --fault <fault>"
    Then the manifest of "f" records the fault "<fault>"
    And the series in "f/dicom" shows the fault "<fault>"

    Examples:
      | fault          |
      | missing-slice  |
      | duplicate-slice |
      | variable-spacing |
      | localizer      |
      | non-ct-files   |

  @SRS-PHA-003
  Scenario Outline: Each transfer syntax is written as named, the lossy ones marked lossy
    When I run "corridor phantom sphere --out {tmp}/t --shape 32 32 4 --transfer-syntax <syntax>"
    Then every file under "t/dicom" is in the transfer syntax "<uid>" and <encoding>

    Examples:
      | syntax                 | uid                    | encoding             |
      | implicit-little-endian | 1.2.840.10008.1.2      | decodes to the truth |
      | explicit-big-endian    | 1.2.840.10008.1.2.2    | decodes to the truth |
      | deflated               | 1.2.840.10008.1.2.1.99 | decodes to the truth |
      | jpeg-lossless          | 1.2.840.10008.1.2.4.57 | decodes to the truth |
      | jpeg-lossless-sv1      | 1.2.840.10008.1.2.4.70 | decodes to the truth |
      | jpegls-near-lossless   | 1.2.840.10008.1.2.4.81 | is marked lossy      |
      | jpeg2000               | 1.2.840.10008.1.2.4.91 | is marked lossy      |
