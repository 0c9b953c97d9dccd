Feature: Many planning cases from one CSV, on this machine or a Dask cluster

  The pool scenario also plans the pelvis phantom's CT a second time, on the TotalSegmentator
  folder written from its truth labels (the segmentation column), so that the plan on the
  reference model's segmentation and the plan on a segmentation made elsewhere come from one
  run of the model (SRS-SEG-006 states the tolerances and where they come from).

  @SRS-JOB-004 @RC-046 @SRS-JOB-002 @SRS-SEG-006 @RC-073 @SRS-SEG-007 @RC-074
  Scenario: A process pool runs every case of the CSV and keeps a failed case's result beside the others
    Given a CSV of two cases: "P1-left", the pelvis phantom for a left acetabular screw, and "E1", a folder holding no DICOM image
    And a case "P1-left-ts" added: the same CT and landmarks, with the TotalSegmentator folder of the phantom's truth labels in its segmentation column, relative to the CSV
    When corridor plan-batch is run on it with "--workers 2"
    Then it exits with status 1
    And the ledger lists three cases: "P1-left" and "P1-left-ts" safe with exit code 0, "E1" input-error with exit code 2
    And the case folder of "P1-left" is complete, its plan made on its own label map, and the ledger holds its case.json's SHA-256
    And the case folder of "P1-left-ts" is complete and records the TotalSegmentator folder it was planned on, with no model run
    And the reference model's bone and vessel boundaries in "P1-left" lie within 1.5 mm of the phantom's truth near both trajectories (95th percentile)
    And the plans of "P1-left" and "P1-left-ts" agree: entry and tip within 3.0 mm, direction within 7.0 degrees
    And the trajectories of "P1-left" and "P1-left-ts", each measured on the other's segmentation, meet every clearance
    And there is no case folder of "E1"
    And the audit log is intact with one record per case and one for the batch, whose counts match the ledger
    When corridor plan-batch is run on it again with "--resume"
    Then the ledger lists three cases: "P1-left" and "P1-left-ts" safe with exit code 0, "E1" input-error with exit code 2
    And "P1-left" was not run again and "E1" was run again
    And the audit log is intact with one record per case and one for the batch, whose counts match the ledger

  @SRS-JOB-007 @RC-055 @SRS-JOB-002
  Scenario Outline: Records cut from the audit log's tail are reported against the batch ledger that anchors them
    Given a CSV of cases "E1", "E2" and "E3", each a folder holding no DICOM image
    When corridor plan-batch is run on it with "--workers 2"
    Then corridor audit verify exits 0 with 4 records and 1 anchor, batch.json's, naming record 4
    When the last <cut> of the audit log are cut
    Then corridor audit verify exits 1 naming the batch folder's batch.json, its record 4 missing and the log ending at record <left>

    Examples:
      | cut           | left |
      | record        | 3    |
      | three records | 1    |

  @SRS-JOB-005 @RC-046
  Scenario: With --scheduler the cases run on a Dask cluster that the scenario starts
    Given a CSV of two cases: "P1-left", the pelvis phantom for a left acetabular screw, and "E1", a folder holding no DICOM image
    And a local Dask cluster of two worker processes
    When corridor plan-batch is run on it with the cluster's scheduler address
    Then it exits with status 1
    And the ledger lists "P1-left" as "safe" with exit code 0 and "E1" as "input-error" with exit code 2
    And the ledger names for every case a worker process of the cluster
    And the case folder of "P1-left" is complete, its plan made on its own label map, and the ledger holds its case.json's SHA-256
    And the audit log is intact with one record per case and one for the batch, whose counts match the ledger

  @SRS-JOB-005 @RC-046
  Scenario: No scheduler at the address is refused with a clear error and no case runs
    Given a CSV of one case "E1", a folder holding no DICOM image
    When corridor plan-batch is run on it with "--scheduler tcp://127.0.0.1:9"
    Then it exits with status 2 naming "no Dask scheduler answered"
    And the ledger lists every case as "not-run"

  @SRS-JOB-004 @RC-046
  Scenario Outline: A worker process that dies loses no case: the pool re-runs the cases it took down, alone
    Given a CSV of cases "E1", "crash-1" and "E2", each a folder holding no DICOM image
    And a planted fault makes the worker process of any case named "crash-..." die at once
    When the cases run <where> with the planted fault
    Then the ledger lists "crash-1" as "worker-lost" and "E1" and "E2" as "input-error"
    And no case is "not-run"

    Examples:
      | where                                   |
      | in a local pool of two processes        |
      | on a local Dask cluster of two workers  |

  @SRS-JOB-004 @RC-046 @RC-043
  Scenario: An interrupted batch exits 130, leaves no half-written case folder, and its ledger shows what did not finish
    Given a CSV of one case "P1-left", the pelvis phantom for a left acetabular screw
    When corridor plan-batch is started on it in its own process group and interrupted once the case has started
    Then it exits with status 130
    And the ledger lists "P1-left" as "not-run" and says the batch finished
    And the batch folder holds no case folder and no temporary folder
    And the audit log is intact and its last record says the batch was "interrupted"

  @SRS-VAL-018 @SRS-JOB-004
  Scenario: A CSV saved by a spreadsheet, with a byte-order mark and CRLF line ends, is read as the plain one
    Given a CSV of cases "S1", "S2" and "S3", each a folder holding no DICOM image
    When its cases are read as written and again as a spreadsheet saves it, with a UTF-8 byte-order mark and CRLF line ends
    Then both readings give the same three cases with the same requests

  @SRS-JOB-004 @RC-046 @SRS-SEG-007 @RC-074
  Scenario Outline: A bad CSV is refused naming the row and column, and nothing runs
    Given a CSV of one case "E1", a folder holding no DICOM image
    And the CSV is changed: <change>
    When corridor plan-batch is run on it with "--workers 1"
    Then it exits with status 2 naming "<expected>"
    And there is no batch folder

    Examples:
      | change                                     | expected                  |
      | the procedure column removed               | missing procedure         |
      | a second row with the same case_id         | repeats row 2             |
      | the case_id set to ../E1                    | column case_id            |
      | the procedure set to hip-screw             | column procedure          |
      | the dicom path set to a missing folder     | column dicom              |
      | the side set to up                         | column side               |
      | the landmarks path set to a missing file   | column landmarks          |
      | a column named patient_name added          | unknown patient_name      |
      | the regularize column set to maybe         | column regularize         |
      | the segmentation path set to a missing folder | column segmentation    |
      | a class_map given without a segmentation   | column class_map          |
      | a class_map holding a list beside a segmentation | column class_map    |
      | a model given beside a segmentation        | column model              |
