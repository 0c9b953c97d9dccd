Feature: CT studies found in a real PACS (Orthanc) are planned and the results stored back into the same study

  The scenarios start Debian's Orthanc with its DICOMweb plugin on loopback, with a generated
  configuration (random credentials, free ports) in a temporary folder, send phantom CT studies
  with DCMTK's storescu, and run corridor serve as a subprocess against the DICOMweb root.

  @SRS-PAC-001 @SRS-PAC-002 @SRS-PAC-005 @SRS-PAC-006 @SRS-PAC-007 @SRS-PAC-008 @SRS-PAC-009 @SRS-PAC-013 @RC-103 @RC-104 @RC-107 @RC-108
  Scenario: A femur CT sent with storescu is planned and its SEG, SR, PDF and STL appear in the same study
    Given a running Orthanc
    And a femur phantom CT study sent to Orthanc with storescu
    When corridor serve runs once with the routing rule "femoral-neck-screw on the left"
    Then the job is done with the verdict safe
    And the study holds, beside its CT, one SEG, one Comprehensive 3D SR, one encapsulated PDF and one encapsulated STL, found over DICOMweb
    And each object retrieved from Orthanc passes dciodvfy with no error and carries the CT's patient, study and frame of reference
    And the SR's entry and tip equal plan.json's in the CT's frame of reference, and its clearances equal plan.json's
    And the PDF shows the verdict, the procedure and every clearance, and not the patient's name or ID
    And the STL object holds the case's implant.stl
    And the audit trail links the study UID to each object's SOP Instance UID and SHA-256, and holds no patient name, patient ID or PACS password

  @SRS-PAC-004 @SRS-PAC-002 @RC-105 @RC-111
  Scenario: The same study sent again creates nothing new, and a study without CT fails with its reason and nothing stored
    Given a running Orthanc
    And a femur phantom CT study sent to Orthanc with storescu and planned by corridor serve
    When the same study is sent again, a smaller CT series is added to it, a study holding only a secondary capture is sent, and corridor serve runs once more
    Then the planned study holds the same instances as before, besides the smaller series
    And the job of the added series is done as a duplicate of the first job, with nothing stored
    And the job of the study without CT is failed, not retryable, with the reason that it has no CT series, and nothing was stored in that study
    And corridor serve run once with a fresh state folder plans the study again and stores nothing, its objects being the ones in the study

  @SRS-PAC-003 @RC-106
  Scenario: The service killed during a job resumes it after a restart and stores each object once
    Given a running Orthanc
    And a femur phantom CT study sent to Orthanc with storescu
    When corridor serve is killed with SIGKILL while it plans the study, and run once again
    Then the queue held the job running when the service was killed
    And the restarted service resumed the job, which is done, and the study holds each of the four objects once

  @SRS-PAC-010 @RC-112
  Scenario: Orthanc stopped during a job gives a clear retryable failure and no partial object; the job completes once Orthanc is back
    Given a running Orthanc
    And a femur phantom CT study sent to Orthanc with storescu
    When Orthanc is stopped while corridor serve plans the study, and the service is stopped after its failure
    Then the job waits to be retried, marked retryable, with a reason naming the PACS as unreachable, and the audit trail records the failed attempt
    And with Orthanc started again the study holds no object of the service's
    And corridor serve run once completes the job and the study holds each of the four objects once

  @SRS-PAC-014 @SRS-PAC-001
  Scenario: Ten studies sent at once are all planned
    Given a running Orthanc
    And 10 femur phantom CT studies sent to Orthanc at once with storescu
    When corridor serve runs once with the routing rule "femoral-neck-screw on the left"
    Then all 10 jobs are done and each study holds its four objects once

  @SRS-PAC-011 @SRS-PAC-012 @RC-109 @RC-110
  Scenario Outline: Unsafe PACS credentials are refused before any request, naming the setting and never the password
    When corridor serve is started against a PACS at <url> with <credentials>
    Then it exits with status 2 naming <setting>, and its output holds no password

    Examples:
      | url                                | credentials                                        | setting         |
      | https://pacs.example.org/dicom-web | a password written in the configuration file       | password        |
      | https://pacs.example.org/dicom-web | a password file that other users can read          | password_file   |
      | https://pacs.example.org/dicom-web | Orthanc's default credentials orthanc and orthanc  | default         |
      | https://pacs.example.org/dicom-web | an empty password                                  | empty           |
      | http://pacs.example.org/dicom-web  | a good password over plain HTTP                    | http            |

  @SRS-PAC-011 @RC-109
  Scenario: A wrong password is refused by Orthanc, and neither it nor the right one appears anywhere
    Given a running Orthanc
    When corridor serve runs once against it with a wrong password
    Then it exits with status 2 saying the PACS refused the credentials, and its output, queue and audit trail hold neither password
