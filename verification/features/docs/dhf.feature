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

  @SRS-DOC-011 @RC-084
  Scenario: The plans are rendered from their Markdown, their HTML shown as text
    Given a copy of the minimal project as a git repository, with plans holding a heading, a table, a list, a link and raw HTML
    When corridor docs dhf is run on it with "--draft"
    Then the plan shows its table with a header row, its list and its link as elements, and its heading below the report's sections
    And the plan's raw HTML is shown as text and makes no element, and the IDs in its text and table link to their definitions
    And no line of the PDF's text is a Markdown table row

  @SRS-DOC-012 @RC-085
  Scenario: The PDF opens with a title page and page-numbered contents, and every page names its document, version and commit
    Given a copy of the minimal project as a git repository, with plans holding a heading, a table, a list, a link and raw HTML
    When corridor docs dhf is run on it with "--draft"
    Then each page number in the PDF's contents is the page whose text begins a line with that heading
    And page 1 holds the product, version, commit and DRAFT, and every page's footer holds the document ID, version, commit and "page N of M"
    And every trace ID the HTML defines is found unbroken in the PDF's text
    And the title page rendered as an image is not blank, and the digests of the source artefacts are in appendix A, not on pages 1 to 3
