Feature: A series lacking attributes Corridor does not need is still segmented, with a valid SEG
  Anonymisers and exports drop Type 2 and Type 3 attributes (Patient's Birth Date, Accession
  Number, Study ID, ...).  Each attribute the phantom writer writes, but those ingest needs to
  place and scale the voxels, is removed from every file of the series in its turn; the series
  is then ingested, segmented by the reference model and written with its DICOM SEG.  Only an
  attribute truly needed is refused, as bad input that names it; the SEG holds every other one
  empty as the standard allows, and run.json says so.

  @SRS-INF-016 @RC-050
  Scenario: Each attribute not needed for geometry or intensity, removed alone, leaves a complete run or a refusal naming it
    Given a "femur" phantom of shape 24 20 12 with spacing 4.0 4.0 6.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    When each attribute the files hold but those ingest needs for geometry and intensity is removed alone from every file, and the series is ingested, segmented by the reference model and written with its SEG
    Then these removals are refused as bad input (exit status 2) naming the attribute, and every other removal finishes:
      | attribute           | named                              | needed by |
      | StudyInstanceUID    | Study Instance UID (0020,000D)     | SEG       |
      | SeriesInstanceUID   | Series Instance UID (0020,000E)    | SEG       |
      | SOPClassUID         | SOP Class UID (0008,0016)          | SEG       |
      | SOPInstanceUID      | SOP Instance UID (0008,0018)       | SEG       |
      | FrameOfReferenceUID | Frame of Reference UID (0020,0052) | SEG       |
      | PixelPaddingValue   | Pixel Padding Value (0028,0120)    | intensity |
    And each run refused for the SEG alone finishes without the SEG
    And each finished run's run.json lists the removed attribute exactly when it is one of these, with what the SEG holds instead:
      | attribute              | written                 |
      | PatientName            | written empty           |
      | PatientID              | written empty           |
      | PatientBirthDate       | written empty           |
      | PatientSex             | written empty           |
      | StudyDate              | written empty           |
      | StudyTime              | written empty           |
      | ReferringPhysicianName | written empty           |
      | StudyID                | written empty           |
      | AccessionNumber        | written empty           |
      | SliceThickness         | written as 6 mm         |
    And every SEG reads back with pydicom and highdicom, holds every attribute the standard requires of it, and references every source image
    And every SEG's patient and study attributes are the source's own values, or empty where the source has none
    And no file the runs read was changed

  @SRS-INF-016 @RC-050
  Scenario: corridor infer refuses a series without Study Instance UID in one line naming it
    Given a "femur" phantom of shape 24 20 12 with spacing 4.0 4.0 6.0 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And "StudyInstanceUID" is removed from every file
    When I run corridor infer with the reference model on the series with "--device cpu"
    Then the command exits with status 2
    And standard error names "Study Instance UID (0020,000D)" and holds no traceback
    And no output folder was written
