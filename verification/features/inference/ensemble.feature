Feature: A deep ensemble reports its members' disagreement as mutual information
  A model package may hold several ONNX members, each pinned by its SHA-256. Inference runs
  every member on every window, averages their calibrated probabilities, and writes the
  mutual information (the epistemic uncertainty) beside the entropy map; each member's label
  map is a plausible alternative that planning measures its trajectory on.

  @SRS-INF-020 @RC-078
  Scenario: Two members of one function measure no disagreement and segment as the single model does
    Given a "sphere" phantom of shape 32 32 20 with spacing 1.5 1.5 1.5 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And a package of the gentle per-voxel model at 500 HU and an ensemble of it with a copy differing only in its bytes
    When corridor infer runs the single model and the ensemble on the series
    Then the ensemble's mutual information is 0 at every voxel and its label map and entropy are the single model's
    And the ensemble's run.json names both members with their SHA-256 and the ensemble's SHA-256 over them
    And the single model's run.json records its mutual information as absent and writes no map of it

  @SRS-INF-020 @RC-078 @RC-079
  Scenario: Members that disagree on a planted block give the mutual information a direct computation gives
    Given a "sphere" phantom of shape 32 32 20 with spacing 1.5 1.5 1.5 in position "HFS" and orientation "axial"
    And a block of 500 HU planted inside the sphere at its surface
    And it is written as a DICOM series
    And an ensemble of per-voxel threshold members at 300 and 600 HU with temperature 1.5 on the CT's own grid
    When corridor infer runs the ensemble on the series
    Then its mutual information equals, at every voxel within 1e-4 nats, the one computed here from each member run by ONNX Runtime
    And it is above 0.4 nats on the planted block and below 0.01 nats everywhere else
    And its label map is the most probable class of the members' mean computed here
    And run.json summarises the mutual information per label, each member's label map is an alternative, and the summary prints it

  @SRS-INF-020 @RC-079
  Scenario: A verdict that differs between the members is flagged verdict-uncertain naming the member
    Given a CT of a bone cylinder with a vessel at 30 mm, and a ring of 700 HU planted in the bone about the planned implant, 4 mm from it
    And an ensemble of two per-voxel members that differ only in the highest vessel intensity, 750 and 600 HU
    When the ensemble segments the CT in process and the plan is made on its label map with its alternatives
    Then member-1 and member-2 are each member's own most probable class computed here
    And the plan is flagged "verdict-uncertain" for the vessel under member-1, and member-2 keeps the verdict

  @SRS-INF-020 @RC-078
  Scenario Outline: An ensemble whose member is missing, altered, duplicated or of another contract is refused, naming the member
    Given an ensemble package of two per-voxel threshold members
    And its second member <fault>
    When the package is loaded
    Then loading is refused naming "<named>"

    Examples:
      | fault                                         | named                      |
      | has one byte changed                          | member-2 sha256            |
      | is missing                                    | member-2 onnx_file         |
      | has 3 output labels                           | member-2 output labels     |
      | takes a fixed patch of 8                      | member-2 input size along k |
      | is listed again as a third member             | is member-2's              |
      | is the first member's file                    | is member-1's              |

  @SRS-INF-020 @RC-078
  Scenario: corridor model inspect verifies each member of an ensemble
    Given an ensemble package of two per-voxel threshold members
    When I run corridor model inspect on that package
    Then the command exits with status 0
    And it prints each member's file and SHA-256 and "verdict: VERIFIED"
