Feature: The design-history report
  Checked on a copy of the minimal fixture project, where a gap or a change can be planted.

  @SRS-DOC-004 @RC-041
  Scenario: A gap planted in the records refuses the report, and a draft shows it watermarked
    Given a copy of the minimal project with a requirement that no scenario verifies
    When corridor docs dhf is run on it
    Then it exits with status 1 listing "REQ-NO-VERIFICATION" and writes nothing
    When corridor docs dhf is run on it with "--draft"
    Then the report is written, titled and bannered DRAFT, and shows the finding "REQ-NO-VERIFICATION"

  @SRS-DOC-004 @RC-041
  Scenario: A changed requirement shows its scenarios as suspect
    Given a copy of the minimal project whose first requirement's statement was changed after review
    When corridor docs dhf is run on it with "--draft"
    Then the report shows the finding "LINK-SUSPECT" for that requirement

  @SRS-DOC-004 @SRS-DOC-003 @RC-042
  Scenario: Every ID links to its definition, markup is text, and the bytes repeat
    Given a copy of the minimal project whose first requirement's title holds "<img src=x onerror=alert(1)>"
    When corridor docs dhf is run on it twice with "--draft"
    Then every in-report link has its target in the report
    And the title's markup is shown as text and makes no element
    And the two reports are byte for byte equal

  @SRS-DOC-005 @RC-042
  Scenario: The PDF carries the same content as the HTML
    Given a copy of the minimal project with a requirement that no scenario verifies
    When corridor docs dhf is run on it twice with "--draft"
    Then a PDF is written beside each report, byte for byte equal
    And the PDF's text holds every ID and section heading of the HTML and the word DRAFT

  @SRS-DOC-006 @RC-081 @PR-003
  Scenario: Known anomalies show every field of the problem reports as text, and each scenario that did not pass once
    Given a copy of the minimal project with a deferred problem report whose every field holds markup, and a closed one verified by the greeting scenario
    And the long-name scenario failing and tagged with both requirements, and a failing scenario tagged only with the risk control
    When its scenarios are run by pytest and corridor docs dhf is run on it with "--draft" and their results
    Then the known anomalies show the deferred report with every field as text and no element made of its markup
    And the known anomalies show the closed report with its resolution, its change and its scenario passed
    And the known anomalies list exactly the two failing scenarios, once each, with the IDs they verify
    And the SOUP table shows the date the SOUP's anomaly list was reviewed
