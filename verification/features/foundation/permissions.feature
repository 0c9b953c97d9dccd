Feature: Written outputs get the permissions any new file gets
  QA/RA staff and auditors open outputs on a shared drive: every file Corridor writes gets
  0666 less the umask, every folder 0777 less the umask.

  @SRS-FND-003
  Scenario: The traceability matrix and the design-history report are readable by the group and others
    Given the process umask is 022
    And a copy of the minimal project
    When the traceability matrix of the copy is written as HTML, CSV and JSON
    And the design-history report of the copy is written as a draft
    Then every file written is mode 0644 and every folder 0755
