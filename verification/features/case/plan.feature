Feature: The planning job, one case, end to end

  @SRS-JOB-001 @SRS-JOB-002 @RC-043 @RC-044 @SRS-FND-002 @RC-048 @SRS-FND-003 @SRS-ING-019 @SRS-JOB-007 @RC-055 @SRS-JOB-008 @RC-060 @SRS-PLN-015 @RC-058 @SRS-PLN-020 @SRS-INF-021 @SRS-PLN-022 @SRS-PLN-023 @RC-076
  Scenario: corridor plan turns the pelvis phantom CT into a complete case folder with a safe plan
    Given the pelvis phantom written as DICOM with its landmarks
    And its folder also holds a scout series and a dose report, as a study export does
    And the process umask is 022
    When corridor plan is run on it for a left acetabular screw with no landmarks file
    Then it exits with status 0 and the case folder holds the segmentation, SEG, uncertainty map, meshes, plan, implant and risk map
    And plan.json records both femoral heads as found on the model's label map, within 0.5 mm of the phantom's (centre and radius), with their fit quality, and the summary lists them
    And report.html shows every landmark's source and fit quality, an axial and a coronal slice through each found head, and the found spheres in the 3-D view's scene
    And the audit record lists both femoral heads as found
    And case.json records the SHA-256 of every file of the case folder
    And the plan is safe and was made on the case's own label map
    And the audit log holds one intact record of the run with the model's SHA-256 and the outputs' hashes
    And case.json anchors that record, and with the record cut from the log corridor audit verify exits 1 naming the case folder
    And no patient name or ID of the CT appears in the audit log
    And report.html shows the verdict, the clearance table, three labelled slices and the review flags
    And plan.json measures the trajectory again on the alternatives p>=0.3 and p>=0.7, the summary prints the margins, the report tabulates them, and verdict-uncertain is raised exactly when a margin changes sign
    And on this clean phantom no margin changes sign under either alternative, verdict-uncertain is not raised, and plan.json and the summary say the trajectory was chosen robust
    And in headless Chromium the report's 3-D view draws the scene with no script error
    And the report's 3-D view tints bone and vessel by the model's entropy across their surfaces, as entropy.nii.gz read with nibabel gives it at every vertex, and its legend says so
    And run.json, meshes.json, plan.json, case.json and the audit record all name the software the build stamped
    And every file of the case folder is mode 0644 and every folder 0755

  @SRS-ING-025 @RC-051
  Scenario: corridor plan --regularize plans on a tilted series, and every record and the report flag the resampling
    Given the pelvis phantom acquired through a tilted gantry, written as DICOM with its landmarks
    Then without --regularize it is refused with exit 2 for the gantry tilt, naming the option
    When corridor plan --regularize is run on it for a left acetabular screw
    Then it exits with status 0 and the case folder holds the segmentation, SEG, uncertainty map, meshes, plan, implant and risk map
    And run.json, case.json and the audit record carry the regularisation with the tilt the phantom was written with
    And report.html shows the review flag regularized

  @SRS-JOB-001 @RC-043 @SRS-JOB-002
  Scenario: Bad input exits 2, writes no case folder, and is still audited
    Given a folder holding no DICOM image
    When corridor plan is run on it for a left acetabular screw
    Then it exits with status 2 and there is no case folder
    And the audit log's record of the run says "failed"

  @SRS-JOB-001 @RC-043 @SRS-FND-001 @RC-047 @SRS-JOB-004 @RC-046
  Scenario: A surface that fails mesh QA refuses the case: exit 4, no case folder, ledgered refused
    Given the pelvis phantom written as DICOM with its landmarks
    And mesh QA allows no difference between a surface's volume and its voxels' volume
    When corridor plan is run on it for a left acetabular screw
    Then it exits with status 4 and there is no case folder
    And standard error names "mesh QA"
    And the audit log's record of the run says "failed"
    And the same case run as a batch worker is recorded "refused" with exit code 4

  @SRS-JOB-001 @RC-043
  Scenario: A defect in a stage exits 70 and leaves no case folder
    Given the pelvis phantom written as DICOM with its landmarks
    And a planted defect makes the meshing stage raise an error
    When corridor plan is run on it for a left acetabular screw
    Then it exits with status 70 and there is no case folder
    And the audit log's record of the run says "failed"

  @SRS-JOB-002 @RC-044
  Scenario Outline: The audit log names an edited, removed or reordered record
    Given an audit log of three records
    When its records are <tampering>
    Then corridor audit verify <result>

    Examples:
      | tampering                       | result                             |
      | left alone                      | exits with status 0, chain intact  |
      | edited: the second one's user   | exits with status 1 naming line 2  |
      | removed: the second one         | exits with status 1 naming line 2  |
      | reordered: the last two swapped | exits with status 1 naming line 2  |

  @SRS-JOB-007 @RC-055
  Scenario: A head written down elsewhere is checked with --expect, which sees a cut no anchor covers
    Given an audit log of three records
    When its head, as corridor audit verify prints it, is written down and its last record is cut from the log
    Then corridor audit verify without the head still reads "chain intact", the limit the README states
    And corridor audit verify --expect with the head written down exits 1 naming record 3 missing, the log ending at record 2

  @SRS-JOB-003 @RC-045
  Scenario: Patient fields holding markup are shown as text in the case report
    Given the pelvis phantom written as DICOM with its landmarks
    And every file's Patient Name is "<script>alert(1)</script>^Doe" and Patient ID "<b>007</b>"
    When corridor plan is run on it for a left acetabular screw
    Then report.html shows both values as text and holds no element from them
    And in headless Chromium the report's 3-D view draws the scene with no script error

  @SRS-JOB-006 @SRS-INF-016 @RC-050
  Scenario: corridor plan finishes on the pelvis phantom stripped of every attribute it does not need
    Given the pelvis phantom written as DICOM with its landmarks
    And every attribute the files hold is removed from every file but those ingest needs for geometry and intensity and these:
      | attribute           |
      | StudyInstanceUID    |
      | SeriesInstanceUID   |
      | SOPClassUID         |
      | SOPInstanceUID      |
      | FrameOfReferenceUID |
      | PixelPaddingValue   |
    When corridor plan is run on it for a left acetabular screw
    Then it exits with status 0 and the case folder holds the segmentation, SEG, uncertainty map, meshes, plan, implant and risk map
    And run.json and case.json list every removed Type 2 patient or study attribute and Slice Thickness, as lacking from every image
    And the SEG holds every attribute the standard requires of it, its Patient ID and Name empty
    And report.html shows the patient fields as not stated and names each attribute the series lacks
