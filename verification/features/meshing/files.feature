Feature: Surface files are printable, watertight as written, and say their frame
  Written files are read back with VTK's own readers, not Corridor's parser.

  @SRS-MSH-006 @RC-027
  Scenario Outline: Each format, read back by VTK, is closed and complete
    Given an analytic "sphere" label map of shape 48 48 48 with spacing 1.2 1.2 1.2 in orientation "oblique", saved as NIfTI
    When I run corridor mesh on it with "--format <format>"
    Then the command exits with status 0
    And the <format> file read back by VTK has no boundary or non-manifold edges and the triangle count of the record

    Examples:
      | format |
      | stl    |
      | ply    |
      | obj    |
      | vtp    |

  @SRS-MSH-005 @RC-026
  Scenario: The STL header states LPS and millimetres, and --ras negates x and y
    Given an analytic "ellipsoid" label map of shape 48 48 48 with spacing 1.2 1.2 1.2 in orientation "oblique", saved as NIfTI
    When I run corridor mesh on it with "--format stl"
    And I run corridor mesh on it again with "--format stl --ras"
    Then the LPS file's header says "SPACE=LPS UNITS=mm" and the RAS file's "SPACE=RAS UNITS=mm"
    And the RAS file's vertices are the LPS file's with x and y negated

  @SRS-MSH-001 @RC-026
  Scenario: NIfTI and NRRD inputs give the same surface
    Given an analytic "ellipsoid" label map of shape 48 48 48 with spacing 1.2 1.2 1.2 in orientation "oblique", saved as NIfTI and as NRRD
    When I run corridor mesh on each with "--format ply"
    Then the two surfaces' vertices agree within 1e-4 mm

  @SRS-MSH-001 @RC-026
  Scenario: A DICOM SEG from corridor infer is meshed in place
    Given a sphere CT series segmented by corridor infer with a per-voxel threshold model
    When I run corridor mesh on its DICOM SEG with "--format vtp"
    Then the command exits with status 0
    And the surface encloses the analytic sphere's volume within 2 % and is centred on it within 0.5 mm

  @SRS-MSH-001 @RC-026
  Scenario Outline: A file that is not a label map is refused, naming it
    Given a file "<name>" that holds <content>
    When I run corridor mesh on that file
    Then the command exits with status 2
    And it prints "<name>"

    Examples:
      | name          | content                  |
      | map.nii.gz    | non-integer values       |
      | map.txt       | text                     |

  @SRS-MSH-007 @RC-027
  Scenario: meshes.json names every file with its SHA-256, and a used folder is refused
    Given an analytic "sphere" label map of shape 48 48 48 with spacing 1.2 1.2 1.2 in orientation "oblique", saved as NIfTI
    When I run corridor mesh on it with "--format stl"
    Then every file in meshes.json has the SHA-256 of the file written
    When I run corridor mesh on it into the same folder
    Then the command exits with status 2
    And the folder still holds only the first run's files

  @SRS-MSH-007 @RC-027
  Scenario: Two runs write identical files
    Given an analytic "ellipsoid" label map of shape 48 48 48 with spacing 1.2 1.2 1.2 in orientation "oblique", saved as NIfTI
    When I run corridor mesh on it with "--format stl --decimate 0.3"
    And I run corridor mesh on it again with "--format stl --decimate 0.3"
    Then the two runs' surface files are identical
