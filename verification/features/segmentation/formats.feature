Feature: Plans from a segmentation made elsewhere
  A segmentation from TotalSegmentator (its folder, its multi-label NIfTI, its DICOM SEG) or 3D
  Slicer is planned on by its labels' names, never their numbers, through the shipped role table.
  The fixtures are the pelvis phantom's truth labels written in each format by the project's own
  writers, split per bone by the analytic anatomy; every format carries the same voxels, so the
  plans must be the same plan (entry and tip within 0.01 mm, the rounding of plan.json; same
  verdict) as the plan on the phantom's own labels named as Corridor's model names them.

  @SRS-SEG-001 @SRS-SEG-002 @SRS-SEG-003 @RC-061 @RC-062
  Scenario Outline: The same phantom through each format gives the same plan
    Given the pelvis phantom's truth labels written as "<format>"
    When corridor plan-trajectory plans the acetabular screw on the left on it
    Then it exits with status 0 and its plan is the plan on Corridor's own labels, entry and tip within 0.01 mm
    And plan.json records the role table's version and SHA-256, and each label's role by "<matched>"

    Examples:
      | format            | matched |
      | ts-folder         | name    |
      | ts-multilabel     | name    |
      | ts-dicom-seg      | code    |
      | slicer-seg-nrrd   | name    |

  @SRS-SEG-003 @RC-062
  Scenario: With no landmarks file, the femoral heads are found on a TotalSegmentator folder's own femur labels and the plan is the plan with the true landmarks
    Given the pelvis phantom's truth labels written as "ts-folder"
    When corridor plan-trajectory plans the acetabular screw on the left on it with no landmarks file
    Then it exits with status 0 and plan.json records both femoral heads as found, each within 0.5 mm of the phantom's (centre and radius)
    And its plan and the plan with the phantom's landmarks given agree: entry and tip within 2.0 mm, direction within 5.0 degrees
    And each of the two trajectories, measured with the other plan's landmarks, meets every clearance

  @SRS-SEG-002 @RC-062
  Scenario: Classes renumbered by another version are found by their names
    Given the pelvis phantom's truth labels written as a multi-label NIfTI numbered as no version numbers them, with its label table
    Then the voxels given the role "bone" are the phantom's bone voxels and those given "iliac-vessel" its vessel voxels

  @SRS-SEG-001 @SRS-SEG-002 @RC-061 @RC-062
  Scenario Outline: A segmentation whose names Corridor cannot use is refused
    Given the pelvis phantom's truth labels written as a multi-label NIfTI with <names>
    When corridor plan-trajectory plans the acetabular screw on the left on it
    Then it exits with status 2 and the message names "<named>"

    Examples:
      | names                                           | named                |
      | no label table and no class map                 | label names          |
      | TotalSegmentator's placeholder names L1, L2 ... | corridor: roles      |
      | a class map that disagrees with its label table | class map            |

  @SRS-SEG-005 @RC-064
  Scenario Outline: A segmentation not on this CT's grid is refused, naming both geometries
    Given a 24 x 20 x 12 label map on the CT's grid, and the CT
    When the segmentation is <changed> and fitted to the CT
    Then it is refused naming "<reason>" and both geometries

    Examples:
      | changed                                      | reason                     |
      | shifted by 0.6 mm along x                    | shifted 0.60 mm            |
      | flipped along its first axis                 | another axis direction     |
      | given another frame of reference             | another frame of reference |
      | cropped and shifted by 40 mm, beyond the CT's field | outside the CT's field |

  @SRS-SEG-005 @RC-065
  Scenario: A segmentation on another grid of the same scan is resampled by nearest neighbour and recorded
    Given a 24 x 20 x 12 label map on the CT's grid, and the CT
    When the segmentation is on a grid of twice the spacing of the same scan and fitted to the CT
    Then each CT voxel has the label of the coarse voxel holding its centre
    And the resampling is recorded as "nearest neighbour" for review

  @SRS-SEG-004 @RC-066 @RC-067
  Scenario: The femoral-neck screw on a TotalSegmentator segmentation reports the femoral vessels not segmented
    Given the pelvis phantom's truth labels written as "ts-folder"
    When corridor plan-trajectory plans the femoral-neck screw on the right on it
    Then it exits with status 5 and the verdict is "not-fully-checked"
    And plan.json lists "femoral-vessels" as "not segmented: not checked", and so does the summary
    And the independent re-check checked no structure the search did not, and neither "femoral-vessels"
    And no implant surface is written

  @SRS-SEG-004 @SRS-SEG-005 @RC-065 @RC-066 @RC-067
  Scenario: corridor plan on a TotalSegmentator folder made on a coarser grid of the same scan
    Given the pelvis phantom's truth labels written as a TotalSegmentator folder on a grid of twice the CT's spacing
    When corridor plan is run on the phantom's CT with that segmentation for the femoral-neck screw on the right
    Then it exits with status 5 and case.json, plan.json and the audit record record the nearest-neighbour resampling
    And the case is flagged "segmentation-resampled" for review
    And report.html lists "femoral-vessels" as "not segmented: not checked"

  @SRS-SEG-005 @RC-064
  Scenario: corridor plan refuses a TotalSegmentator folder shifted by 0.6 mm, naming both geometries
    Given the pelvis phantom's truth labels written as a TotalSegmentator folder shifted by 0.6 mm along x
    When corridor plan is run on the phantom's CT with that segmentation for the acetabular screw on the left
    Then it exits with status 2 naming "shifted 0.60 mm" and both geometries, and writes no case folder

  @SRS-PLN-011 @RC-035
  Scenario Outline: corridor plan-check on a TotalSegmentator folder tells a changed mask from an unrelated one
    Given the pelvis phantom's truth labels written as "ts-folder"
    When corridor plan-trajectory plans the acetabular screw on the left on it
    And a copy of the folder is changed: <change>
    And corridor plan-check is run on the plan with the copy as its label map
    Then plan-check finds the plan <outcome>

    Examples:
      | change                                                  | outcome                                     |
      | nothing                                                 | current (exit 0)                            |
      | a mask of a class the role table does not know is added | current (exit 0)                            |
      | one voxel of the left iliac artery's mask is set        | stale (exit 4), naming the label map's hash |
      | an empty mask of the left iliac vein is added           | stale (exit 4), naming the label map's hash |
