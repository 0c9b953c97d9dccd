Feature: Every surface passes QA, or nothing is written
  QA is computed from vertices and triangles alone, independently of VTK.

  @SRS-MSH-003 @RC-027
  Scenario: A surface with a hole fails QA
    Given the meshed surface of an analytic sphere
    And one of its triangles is removed
    When its quality is checked
    Then QA reports 3 boundary edges and fails

  @SRS-MSH-003 @RC-027
  Scenario: A surface with a flipped triangle fails QA
    Given the meshed surface of an analytic sphere
    And one of its triangles is wound the other way
    When its quality is checked
    Then QA reports 3 inconsistent edges and fails

  @SRS-MSH-003 @RC-028 @SRS-FND-001 @RC-047
  Scenario: Over-smoothing a thin plate is refused and nothing is written
    Given a label map holding a plate 3 voxels thick, saved as NIfTI
    When I run corridor mesh on it with "--smoothing 1.0"
    Then the command exits with status 4
    And it prints "mesh QA"
    And no output folder exists

  @SRS-MSH-002 @RC-027
  Scenario: The default extractor gives closed surfaces where SurfaceNets leaves slits
    Given an analytic "cylinder" label map of shape 64 64 64 with spacing 1.0 1.0 1.0 in orientation "axial"
    When it is meshed with the extractor "surface-nets" and no smoothing
    Then the surface has boundary edges
    When it is meshed with the extractor "flying-edges" and no smoothing
    Then the surface is closed, manifold and consistently wound

  @SRS-MSH-002 @RC-027
  Scenario: A label touching the image border still gives a closed surface
    Given a label map whose label fills one whole face of the image
    When it is meshed with the default options
    Then the surface is closed, manifold and consistently wound

  @SRS-MSH-002 @RC-026
  Scenario: A mirroring geometry keeps the normals pointing out
    Given an analytic "ellipsoid" label map whose geometry mirrors the i axis
    When it is meshed with the default options
    Then the enclosed volume is positive and within 1 % of the analytic volume
