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

  @SRS-PHA-005
  Scenario: A faint vessel segment is planted in the truth and the series, as the manifest states
    When I run "corridor phantom femur --out {tmp}/clean --shape 40 40 30 --spacing 3 3 3"
    And I run "corridor phantom femur --out {tmp}/faint --shape 40 40 30 --spacing 3 3 3 --fault faint-vessel --faint-vessel 40 20 -175 40 40 -175 4 --faint-contrast 0.4 --faint-blur 1.5"
    Then the exit status is 0
    And the labels of "faint" are those of "clean" with vessel at the soft-tissue voxel centres within 4 mm of the segment from 40 20 -175 to 40 40 -175
    And the HU pydicom decodes from "faint/dicom" are those of "clean" raised on its soft tissue by 0.4 of the vessel's contrast times the edge blurred by 1.5 mm, every other voxel unchanged
    And the manifest of "faint" records the fault "faint-vessel" with its segment and the voxels it labelled and changed

  @SRS-PHA-005
  Scenario Outline: A faint vessel that cannot be planted is refused, naming what is wrong
    When I run "<command>"
    Then the exit status is 2
    And standard error ends with one line naming "<named>"

    Examples:
      | command                                                                                                                  | named                 |
      | corridor phantom sphere --out {tmp}/s --shape 16 16 8 --fault faint-vessel                                              | faint-vessel          |
      | corridor phantom femur --out {tmp}/f --shape 24 20 12 --spacing 6 6 8 --fault faint-vessel --faint-vessel 900 0 0 910 0 0 2 | faint_vessel          |
      | corridor phantom femur --out {tmp}/g --shape 24 20 12 --spacing 6 6 8 --fault faint-vessel --faint-vessel 40 20 -175 40 40 -175 4 --faint-contrast 1.5 | faint_vessel.contrast |
      | corridor phantom femur --out {tmp}/h --shape 24 20 12 --spacing 6 6 8 --faint-vessel 40 20 -175 40 40 -175 4            | faint_vessel          |
