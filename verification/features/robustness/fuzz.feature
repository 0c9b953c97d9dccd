Feature: Damaged input, fed at random to the command that reads it, is refused cleanly or used whole
  Each input family starts from a valid file and is damaged the ways files are damaged: bytes
  flipped, cut short, spliced, repeated or overwritten; values replaced by other types, by huge,
  tiny or negative numbers, or nested. Whatever the damage, the command exits with a status it
  documents (never 70), prints no traceback, stays within 256 MiB of Python and NumPy
  allocation and 30 s a run, and writes nothing unless it exits with a status that writes its
  result. Every example is new on each run (hypothesis); a defect the sweep found is kept as
  a named example. The DICOM and validation-study families have feature files of their own
  (fuzz_dicom.feature, fuzz_validation.feature). The families of segmentations made elsewhere
  (a class map, a TotalSegmentator folder, a 3D Slicer segmentation, a DICOM SEG's segments)
  also require every refusal to be one line on standard error; exit status 5 (a risk structure
  not segmented) writes the plan, as 0, 3 and 4 do.

  @SRS-CLI-004 @SRS-INF-017 @RC-054
  Scenario: Damaged model manifests given to corridor model inspect
    Given valid model manifests and what corridor model inspect needs beside them
    Then each of 60 damaged model manifests exits with one of 0 2, prints no traceback, stays within the bounds and writes nothing unless it exits with one of 0

  @SRS-CLI-004 @SRS-INF-017 @RC-054
  Scenario: Damaged ONNX files given to corridor model inspect
    Given valid ONNX files and what corridor model inspect needs beside them
    Then each of 30 damaged ONNX files exits with one of 0 2, prints no traceback, stays within the bounds and writes nothing unless it exits with one of 0

  @SRS-CLI-004 @SRS-PLN-013 @RC-054
  Scenario: Damaged procedure templates given to corridor plan-trajectory
    Given valid procedure templates and what corridor plan-trajectory needs beside them
    Then each of 30 damaged procedure templates exits with one of 0 2 3 4, prints no traceback, stays within the bounds and writes nothing unless it exits with one of 0 3 4

  @SRS-CLI-004 @SRS-PLN-014 @RC-054
  Scenario: Damaged landmark files given to corridor plan-trajectory
    Given valid landmark files and what corridor plan-trajectory needs beside them
    Then each of 20 damaged landmark files exits with one of 0 2 3 4, prints no traceback, stays within the bounds and writes nothing unless it exits with one of 0 3 4

  @SRS-CLI-004 @SRS-IMG-001 @RC-054
  Scenario: Damaged NIfTI label maps given to corridor mesh
    Given valid NIfTI label maps and what corridor mesh needs beside them
    Then each of 60 damaged NIfTI label maps exits with one of 0 2 4, prints no traceback, stays within the bounds and writes nothing unless it exits with one of 0

  @SRS-CLI-004 @SRS-IMG-001 @RC-054
  Scenario: Damaged NRRD label maps given to corridor mesh
    Given valid NRRD label maps and what corridor mesh needs beside them
    Then each of 60 damaged NRRD label maps exits with one of 0 2 4, prints no traceback, stays within the bounds and writes nothing unless it exits with one of 0

  @SRS-CLI-004 @SRS-IMG-001 @RC-054
  Scenario: Damaged DICOM SEG label maps given to corridor mesh
    Given valid DICOM SEG label maps and what corridor mesh needs beside them
    Then each of 40 damaged DICOM SEG label maps exits with one of 0 2 4, prints no traceback, stays within the bounds and writes nothing unless it exits with one of 0

  @SRS-CLI-004 @SRS-JOB-004 @RC-054
  Scenario: Damaged batch CSVs given to corridor plan-batch
    Given valid batch CSVs and what corridor plan-batch needs beside them
    Then each of 60 damaged batch CSVs exits with one of 0 1 2 3, prints no traceback, stays within the bounds and writes nothing unless it exits with one of 0 1 3

  @SRS-CLI-004 @SRS-SEG-008 @RC-075
  Scenario: Damaged class maps given to corridor plan-trajectory beside a multi-label NIfTI
    Given valid class maps and what corridor plan-trajectory needs beside them
    Then each of 6 damaged class maps exits with one of 0 2 3 4 5, is refused in one line with no traceback, stays within the bounds and writes nothing unless it exits with one of 0 3 4 5

  @SRS-CLI-004 @SRS-SEG-008 @RC-075
  Scenario: TotalSegmentator folders with a damaged mask given to corridor plan-trajectory
    Given valid TotalSegmentator folders and what corridor plan-trajectory needs beside them
    Then each of 5 damaged TotalSegmentator folders exits with one of 0 2 3 4 5, is refused in one line with no traceback, stays within the bounds and writes nothing unless it exits with one of 0 3 4 5

  @SRS-CLI-004 @SRS-SEG-008 @RC-075
  Scenario: 3D Slicer segmentations with a damaged header given to corridor plan-trajectory
    Given valid Slicer segmentations and what corridor plan-trajectory needs beside them
    Then each of 5 damaged Slicer segmentations exits with one of 0 2 3 4 5, is refused in one line with no traceback, stays within the bounds and writes nothing unless it exits with one of 0 3 4 5

  @SRS-CLI-004 @SRS-SEG-008 @RC-075
  Scenario: DICOM SEGs with a damaged Segment Sequence given to corridor plan-trajectory
    Given valid DICOM SEG segment sequences and what corridor plan-trajectory needs beside them
    Then each of 4 damaged DICOM SEG segment sequences exits with one of 0 2 3 4 5, is refused in one line with no traceback, stays within the bounds and writes nothing unless it exits with one of 0 3 4 5
