Feature: A CT-only reading shows the case's own CT, plan A and plan B each show their own plan, and a session is closed to edits once a later one is answered

  @SRS-STU-017 @RC-100
  Scenario: The CT-only slices created are the CT's own planes through its centre, in the report's window, without any plan colour or text
    Given a study of 2 readers, 2 cases, 0 training case and 2 modalities
    When corridor study create is run on it
    Then each case's CT-only images are the axial, coronal and sagittal planes through the centre of the CT series, as pydicom decodes it, in the report's window
    And the CT-only images are 8-bit grey PNG files with no text chunk

  @SRS-STU-017 @RC-100
  Scenario: A CT that is not the series the case was planned on is refused, naming both
    Given a study of 2 readers, 2 cases, 0 training case and 2 modalities
    And case-01 names the CT of another phantom
    When corridor study create is run on it
    Then the creation is refused with exit status 2, naming the other CT's folder and case-01's case record, and no study folder is written

  @SRS-STU-018 @RC-100
  Scenario: Plan A and plan B, each modality showing its own case folder's plan, never naming a folder
    Given a served study of 2 readers and 2 cases whose two modalities show plans from a folder per modality
    When reader-1 opens each of their items
    Then each reading page shows the verdict of its modality's own plan, and no page names a case folder or a modality ID

  @SRS-STU-019 @RC-101
  Scenario: An answer of session 1 cannot be edited once a session 2 item is answered, in the store and on the page
    Given a served study of 2 readers and 2 cases whose two modalities show plans from a folder per modality
    And reader-1 has answered session 1, waited the washout and answered their first session 2 item
    When reader-1 edits their first session 1 answer, in the store and over HTTP
    Then both edits are refused as session-closed, saying that session 1 is closed to edits, and nothing is recorded
    And the reading page of that session 1 item shows no answer form and says it is closed to edits
