Feature: The reading page shows the case report's 3-D view where the design shows the plan
  A reading page of a modality that shows the plan draws the case report's 3-D view with the
  report's own viewer, served as a file under the Content-Security-Policy (no inline script);
  the scene it draws is the report's, stripped to geometry and colours, and only the reader
  whose item it is gets it. A CT-only modality shows no 3-D view: its surfaces are the AI's.

  @SRS-STU-021 @RC-102 @RC-096
  Scenario: The scene is served only for the reader's own plan item, holding only what the viewer draws
    Given a study of 3 readers whose case reports embed a planted scene, reader-1 past session 2's washout, served over HTTP
    When reader-1 requests the scene of each of their items, of each of reader-2's items and of a made-up key
    Then each of reader-1's plan items' scene is the planted scene's colours, positions and triangles, with no name, patient mark or case ID
    And every CT-only item's scene, every one of reader-2's and the made-up key's get the same 404
    And the scene and the viewer script carry the Content-Security-Policy, and the viewer script is the case report's viewer.js

  @SRS-STU-020 @SRS-STU-016 @RC-102 @RC-097
  Scenario: In Chromium a plan reading page draws the 3-D view with no error and no policy violation
    Given a study of 3 readers whose case reports embed a planted scene, reader-1 past session 2's washout, served over HTTP
    When reader-1 opens their first plan item's and their first CT-only item's reading pages in Chromium
    Then the plan page's 3-D view is drawn: the canvas shows the background and the scene's colours, with no console error and no Content-Security-Policy violation
    And the CT-only page has no 3-D view and loads no script, and no page holds an inline script
