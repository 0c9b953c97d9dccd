Feature: Uncertainty is reported, and a risk structure's entropy is noted without a review flag
  The entropy map, the TTA variance and per-label confidence tell the reviewer where not
  to trust the label map.

  @SRS-INF-009 @RC-023
  Scenario: The entropy map is the entropy of the model's probabilities
    Given a "sphere" phantom of shape 32 32 20 with spacing 1.5 1.5 1.5 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And a per-voxel model with gentle logits at 500 HU on a 1.5 mm grid
    When I run corridor infer on the series with "--device cpu"
    Then the entropy map equals -sum p log p of the softmax of the model's logits at every voxel within 1e-4

  @SRS-INF-009 @RC-023 @RC-070
  Scenario: A risk structure's mean entropy is an informational figure, not a review flag
    Given a "sphere" phantom of shape 32 32 20 with spacing 1.5 1.5 1.5 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And a per-voxel model with gentle logits at 500 HU on a 1.5 mm grid whose object is a risk structure
    When I run corridor infer on the series with "--device cpu"
    Then the command exits with status 0
    And the run record notes "risk-structure-entropy" for "object" with its mean entropy, and raises no review flag

  @SRS-INF-009 @RC-025
  Scenario: A structure the model expects but does not find is flagged
    Given a "sphere" phantom of shape 32 32 20 with spacing 1.5 1.5 1.5 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And a per-voxel threshold model at 5000 HU with a 2.0 mm grid "lps" expecting at least 1 ml of object
    When I run corridor infer on the series with "--device cpu"
    Then the command exits with status 0
    And the run record carries the flag "label-below-min-volume"

  @SRS-INF-009 @RC-023
  Scenario: TTA variance is zero for a mirror-invariant model and not for a shifted one
    Given a "sphere" phantom of shape 32 32 20 with spacing 1.5 1.5 1.5 in position "HFS" and orientation "axial"
    And it is written as a DICOM series
    And a per-voxel model with gentle logits at 500 HU on a 1.5 mm grid
    When I run corridor infer on the series with "--device cpu --tta"
    Then the TTA variance is 0 at every voxel within 1e-6
    Given a model that looks one voxel along k
    When I run corridor infer on the series again with "--device cpu --tta"
    Then the TTA variance is above 0.01 somewhere on the sphere's surface and below 0.01 deep inside it
