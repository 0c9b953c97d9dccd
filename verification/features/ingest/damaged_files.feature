Feature: A damaged DICOM file that may belong to the series refuses the load
  A DICOM file that cannot be read as a whole image (cut short, cut where an element ends,
  its start damaged) may be a lost slice: lost at either end of the series it leaves no gap
  for the missing-slice check to see.  It refuses the load, naming the file, what failed and
  what to do, unless what can be read of its header names another series.

  Background:
    Given a "pelvis" phantom of shape 24 20 12 with spacing 6.0 6.0 10.0 in position "HFS" and orientation "axial"

  @SRS-ING-027 @RC-057
  Scenario Outline: A slice file damaged in its header refuses the load, naming it
    Given it is written as a DICOM series
    And the <which> slice along the normal is <damage>
    When the series is ingested
    Then ingest refuses with the check "unreadable-file"
    And the refusal names the damaged file
    And the refusal says "<says>"
    And the refusal says "restore the file(s) from their source"

    Examples:
      | which | damage                            | says                                                   |
      | last  | cut to 400 bytes                  | no Series Instance UID (0020,000E) can be read from it |
      | first | cut to 400 bytes                  | no Series Instance UID (0020,000E) can be read from it |
      | last  | cut to 100 bytes                  | within the 128-byte preamble                           |
      | last  | cut to 0 bytes                    | the file ends at byte 0                                |
      | last  | cut after its Series Instance UID | its header names this series                           |
      | last  | cut before its Pixel Data element | no Pixel Data (7FE0,0010)                              |
      | first | written with 'DICM' overwritten   | no 'DICM' magic at byte 128                            |

  @SRS-ING-027 @RC-057
  Scenario: A damaged file whose header names another series is skipped with a warning
    Given it is written as a DICOM series
    And an image of another series is added, cut after its Series Instance UID
    When the series is ingested
    Then the volume's corners lie within 0.001 mm of the ground truth
    And the skipped files have the reasons "unreadable"
    And the volume carries the warning "files-skipped"

  @SRS-ING-027 @RC-057
  Scenario: The same file cut before its Series Instance UID refuses the load
    Given it is written as a DICOM series
    And an image of another series is added, cut before its Series Instance UID
    When the series is ingested
    Then ingest refuses with the check "unreadable-file"
    And the refusal names the damaged file

  @SRS-ING-027 @RC-057 @SRS-ING-002
  Scenario: With two series, the listing names the damaged file, and naming a series still refuses
    Given it is written as a DICOM series with the faults "mixed-series"
    And the last slice along the normal is cut to 400 bytes
    When the series is ingested
    Then ingest refuses listing 2 CT series
    And the refusal names the damaged file
    When the phantom's own series is ingested by its UID
    Then ingest refuses with the check "unreadable-file"

  @SRS-ING-027 @RC-057 @SRS-ING-001
  Scenario: A slice file cut inside its pixel data keeps its own refusal
    Given it is written as a DICOM series
    And the last slice along the normal is cut inside its pixel data
    When the series is ingested
    Then ingest refuses with the check "truncated-file"
    And the refusal names the damaged file
